package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/pgtest"
)

// example is one command from the README, with the comment above it.
type example struct {
	comment, command string
}

// readmeExamples returns the curl and grpcurl commands of the README's
// "Using the API" section, continuation lines joined.
func readmeExamples(t *testing.T) []example {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []example
	inSection, inBlock := false, false
	comment, pending := "", ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			inSection = line == "## Using the API"
		case inSection && strings.HasPrefix(line, "```"):
			inBlock = !inBlock && strings.HasPrefix(line, "```sh")
		case inSection && inBlock:
			if pending != "" {
				line = pending + " " + strings.TrimSpace(line)
				pending = ""
			}
			if strings.HasSuffix(line, `\`) {
				pending = strings.TrimSuffix(line, `\`)
				continue
			}
			trimmed := strings.TrimSpace(line)
			switch {
			case strings.HasPrefix(trimmed, "#"):
				comment = trimmed
			case strings.HasPrefix(trimmed, "curl ") || strings.HasPrefix(trimmed, "grpcurl ") || strings.HasPrefix(trimmed, "TOKEN="):
				out = append(out, example{comment: comment, command: trimmed})
			case trimmed == "":
				comment = ""
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReadmeExamples runs the README's API examples, as written, against
// `guildhall dev` (as `make run` starts it) and checks each answers as the
// README says: successes succeed, the bad-input example gets its 400.
func TestReadmeExamples(t *testing.T) {
	examples := readmeExamples(t)
	if len(examples) < 8 {
		t.Fatalf("found %d examples in the README; the parser or the README changed", len(examples))
	}
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	t.Setenv("GUILDHALL_DATABASE_URL", pgtest.New(t, apptest.Schemas()))
	t.Setenv("GUILDHALL_HTTP_ADDR", httpAddr)
	t.Setenv("GUILDHALL_GRPC_ADDR", grpcAddr)
	t.Setenv("GUILDHALL_METRICS_ADDR", "")
	t.Setenv("GUILDHALL_LOG_LEVEL", "error")
	t.Setenv("GUILDHALL_BOOTSTRAP_ADMIN_TOKEN", "dev-admin-token") // what `make run` sets
	startDev(t, httpAddr)

	// The README's grpcurl is the one pinned in tools/go.mod. `go tool -n`
	// names its built binary, which every example then runs directly:
	// starting the go command for each took half a second.
	path, err := exec.Command("go", "tool", "-modfile="+readmeAbs(t, "../../tools/go.mod"), "-n", "grpcurl").Output()
	if err != nil {
		t.Fatalf("go tool -n grpcurl: %v", err)
	}
	grpcurl := strings.TrimSpace(string(path))
	shell := []string{}
	for _, ex := range examples {
		cmd := strings.ReplaceAll(ex.command, "localhost:8080", httpAddr)
		cmd = strings.ReplaceAll(cmd, "localhost:9090", grpcAddr)
		if strings.HasPrefix(cmd, "TOKEN=") {
			shell = append(shell, cmd)
			continue
		}
		t.Run(ex.command, func(t *testing.T) {
			script := strings.Join(shell, "\n") + "\n"
			if strings.HasPrefix(cmd, "curl ") {
				script += cmd + ` -w '\n%{http_code}'`
			} else {
				script += strings.Replace(cmd, "grpcurl", grpcurl, 1)
			}
			out, err := exec.Command("bash", "-c", script).CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if strings.HasPrefix(cmd, "grpcurl ") {
				want := []string{"{"}
				if strings.HasSuffix(cmd, " list") {
					want = []string{"guildhall.membership.v1.MembershipService", "guildhall.roadmap.v1.RoadmapService",
						"guildhall.finance.v1.FinanceService", "grpc.health.v1.Health"}
				}
				for _, w := range want {
					if !strings.Contains(string(out), w) {
						t.Fatalf("output lacks %q:\n%s", w, out)
					}
				}
				return
			}
			body, code, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			if i := strings.LastIndex(string(out), "\n"); i >= 0 {
				body, code = strings.TrimSpace(string(out[:i])), strings.TrimSpace(string(out[i+1:]))
			}
			status, _ := strconv.Atoi(code)
			want := http.StatusOK
			if strings.Contains(strings.ToLower(ex.comment), "bad input") {
				want = http.StatusBadRequest
			}
			if status != want {
				t.Fatalf("HTTP %d, want %d:\n%s", status, want, body)
			}
			if !json.Valid([]byte(body)) {
				t.Fatalf("not JSON:\n%s", body)
			}
		})
	}
	// Then `make run SEED=sme` (here `guildhall seed sme` against the same
	// system) still loads the whole seed.
	if err := run(context.Background(), []string{"seed", "sme"}, &strings.Builder{}); err != nil {
		t.Fatalf("seeding after the README's examples: %v", err)
	}
	checkSeedLoaded(t, "http://"+httpAddr, "dev-admin-token")
}

// TestDevStopsWhenSeedCannotLoad: `dev --seed sme` over a database whose
// accounts/bank is in EUR cannot keep the SME books; it stops with an error
// naming the account, instead of running on with half a data set.
func TestDevStopsWhenSeedCannotLoad(t *testing.T) {
	vars, a := devEnv(t)
	vars["GUILDHALL_LOG_LEVEL"] = "error"
	for k, v := range vars {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		done <- run(ctx, []string{"dev"}, &strings.Builder{})
		close(stopped)
	}()
	waitReady(t, "http://"+a.http, stopped)
	req, _ := http.NewRequest("POST", "http://"+a.http+"/v1/accounts?accountId=bank",
		strings.NewReader(`{"displayName":"Bank","type":"TYPE_ASSET","currencyCode":"EUR"}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("EUR bank: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("dev: %v", err)
	}

	seeded := make(chan error, 1)
	go func() { seeded <- run(context.Background(), []string{"dev", "--seed", "sme"}, &strings.Builder{}) }()
	select {
	case err := <-seeded:
		if err == nil || !strings.Contains(err.Error(), "accounts/bank exists as a EUR") {
			t.Fatalf("dev --seed over a EUR bank: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("dev --seed kept running after its seed failed")
	}
}

func readmeAbs(t *testing.T, p string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd + "/" + p
}

// startDev runs `guildhall dev` in-process, as configured by the environment,
// until the test ends, and waits until its gateway at httpAddr is ready.
func startDev(t *testing.T, httpAddr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		done <- run(ctx, []string{"dev"}, &strings.Builder{})
		close(stopped)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev: %v", err)
		}
	})
	waitReady(t, "http://"+httpAddr, stopped)
}
