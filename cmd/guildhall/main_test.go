package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/pgtest"
)

// TestMain moves every listener of the binary off its fixed default port,
// so no test binds one by accident (9464 busy must not fail a test).
func TestMain(m *testing.M) {
	for _, name := range []string{"GUILDHALL_HTTP_ADDR", "GUILDHALL_GRPC_ADDR", "GUILDHALL_METRICS_ADDR",
		"GUILDHALL_MEMBERSHIP_ADDR", "GUILDHALL_ROADMAP_ADDR", "GUILDHALL_FINANCE_ADDR"} {
		if _, set := os.LookupEnv(name); !set {
			os.Setenv(name, "127.0.0.1:0")
		}
	}
	os.Exit(m.Run())
}

func runOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(ctx, args, &out)
	return out.String(), err
}

func TestVersion(t *testing.T) {
	out, err := runOut(t, "version")
	if err != nil || out != version+"\n" {
		t.Fatalf("version: %q, %v; want %q", out, err, version+"\n")
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"-h"}, {"--help"}} {
		out, err := runOut(t, args...)
		if err != nil || !strings.HasPrefix(out, "Usage: guildhall") {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "  "+c.name+" ") {
				t.Errorf("%v: usage does not list %s", args, c.name)
			}
		}
	}
}

func TestCommands(t *testing.T) {
	out, err := runOut(t, "commands")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, want := range []string{"dev", "serve membership", "serve roadmap", "serve finance", "serve gateway", "migrate", "env", "version", "commands"} {
		if !slices.Contains(lines, want) {
			t.Errorf("commands output lacks %q:\n%s", want, out)
		}
	}
	if slices.Contains(lines, "serve") {
		t.Errorf("commands lists bare serve, which is not runnable:\n%s", out)
	}
	// Every command is listed, alone or with its arguments, and every line
	// starts with a command that exists.
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
		if !slices.ContainsFunc(lines, func(l string) bool { return l == c.name || strings.HasPrefix(l, c.name+" ") }) {
			t.Errorf("command %s is not listed", c.name)
		}
	}
	for _, l := range lines {
		if first, _, _ := strings.Cut(l, " "); !slices.Contains(names, first) {
			t.Errorf("listed %q, but there is no command %s", l, first)
		}
	}
	if len(slices.Compact(slices.Clone(lines))) != len(lines) {
		t.Errorf("duplicate lines:\n%s", out)
	}
}

func TestEnv(t *testing.T) {
	out, err := runOut(t, "env", "--names")
	if err != nil {
		t.Fatal(err)
	}
	vars := strings.Fields(out)
	if !slices.IsSorted(vars) {
		t.Errorf("env output is not sorted:\n%s", out)
	}
	for _, v := range vars {
		if !strings.HasPrefix(v, "GUILDHALL_") {
			t.Errorf("env lists %q, which is not a GUILDHALL_ variable", v)
		}
	}
	for _, want := range []string{"GUILDHALL_DATABASE_URL", "GUILDHALL_HTTP_ADDR", "GUILDHALL_GRPC_ADDR", "GUILDHALL_METRICS_ADDR",
		"GUILDHALL_SHUTDOWN_GRACE", "GUILDHALL_CORS_ORIGINS", "GUILDHALL_LOG_FORMAT",
		"GUILDHALL_MEMBERSHIP_DATABASE_URL", "GUILDHALL_ROADMAP_ADDR", "GUILDHALL_FINANCE_TARGET"} {
		if !slices.Contains(vars, want) {
			t.Errorf("env lacks %s", want)
		}
	}

	// The table: each variable's default and its value here, secrets redacted.
	t.Setenv("GUILDHALL_METRICS_ADDR", "")
	t.Setenv("GUILDHALL_HTTP_ADDR", "127.0.0.1:7070")
	t.Setenv("GUILDHALL_BOOTSTRAP_ADMIN_TOKEN", "sup3r-secret-token")
	t.Setenv("GUILDHALL_DATABASE_URL", "postgres://app:hunter2@db.example:5432/guildhall")
	t.Setenv("GUILDHALL_DRIFT_WINDOW", "")
	os.Unsetenv("GUILDHALL_DRIFT_WINDOW")
	out, err = runOut(t, "env")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 4 {
			rows[f[0]] = f[1:]
		}
	}
	for name, want := range map[string][]string{
		"GUILDHALL_METRICS_ADDR":          {":9464", "(none)", "environment"},
		"GUILDHALL_HTTP_ADDR":             {":8080", "127.0.0.1:7070", "environment"},
		"GUILDHALL_DRIFT_WINDOW":          {"90d", "90d", "default"},
		"GUILDHALL_BOOTSTRAP_ADMIN_TOKEN": {"(none)", "[redacted]", "environment"},
		"GUILDHALL_DATABASE_URL":          {"postgres://localhost:5432/guildhall?sslmode=disable", "postgres://app:redacted@db.example:5432/guildhall", "environment"},
		"GUILDHALL_FINANCE_DATABASE_URL":  {"(none)", "postgres://app:redacted@db.example:5432/guildhall", "default"},
	} {
		if !slices.Equal(rows[name], want) {
			t.Errorf("%s: %q, want %q", name, rows[name], want)
		}
	}
	if strings.Contains(out, "sup3r") || strings.Contains(out, "hunter2") {
		t.Errorf("env shows a secret:\n%s", out)
	}
}

// TestSubcommandHelp: -h succeeds and shows only the subcommand's own
// flags, each with its value's type.
func TestSubcommandHelp(t *testing.T) {
	for _, c := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"dev", "-h"}, []string{"--grpc-addr string", "--seed data set", "--drift-window duration", "--cors-origins list"}, []string{"--finance-addr"}},
		{[]string{"migrate", "-h"}, []string{"--database-url string", "--finance-database-url string", "(default json)", "(default postgres://localhost:5432/guildhall?sslmode=disable)"}, []string{"--http-addr", "--grpc-addr", "--finance-addr", "--seed"}},
		{[]string{"serve", "finance", "--help"}, []string{"--finance-addr string", "--membership-target string", "--trusted-proxies list", "--dual-approval-above int", "(default json)"}, []string{"--http-addr", "--cors-origins"}},
		{[]string{"serve", "membership", "-h"}, []string{"--membership-addr string", "--drift-window duration", "--database-url string"},
			[]string{"--finance-addr", "--roadmap-addr", "--finance-database-url", "--dual-approval-above", "--stale-after"}},
		{[]string{"serve", "gateway", "-h"}, []string{"--http-addr string", "--finance-target string", "--read-timeout duration"}, []string{"--database-url", "--finance-addr"}},
		{[]string{"seed", "sme", "-h"}, []string{"--token token", "--grpc-addr string", "(default json)"}, []string{"--database-url", "--http-addr"}},
		{[]string{"token", "create", "-h"}, []string{"--admin", "--person id", "--database-url string", "(default json)"}, []string{"--http-addr", "--grpc-addr"}},
		{[]string{"healthcheck", "-h"}, []string{"  --grpc address", "  --http URL", "/readyz"}, nil},
		{[]string{"env", "-h"}, []string{"--names"}, nil},
		{[]string{"serve", "-h"}, []string{"serve <part> -h"}, nil},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, err := runOut(t, c.args...)
			if err != nil {
				t.Fatalf("-h failed: %v", err)
			}
			if !strings.HasPrefix(out, "Usage: guildhall") {
				t.Errorf("no usage line:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
			for _, n := range c.not {
				if strings.Contains(out, n+" ") {
					t.Errorf("help shows %q, not a flag of this command:\n%s", n, out)
				}
			}
		})
	}
}

// TestDevLogsMadeUpInternalToken: dev makes an internal token up before it
// logs its configuration, so the log says the token is set (redacted), not
// empty.
func TestDevLogsMadeUpInternalToken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	t.Setenv("GUILDHALL_GRPC_ADDR", busy.Addr().String()) // dev stops right after logging
	t.Setenv("GUILDHALL_DATABASE_URL", "postgres://127.0.0.1:1/none?connect_timeout=1")
	t.Setenv("GUILDHALL_LOG_FORMAT", "json")
	t.Setenv("GUILDHALL_INTERNAL_TOKEN", "")
	os.Unsetenv("GUILDHALL_INTERNAL_TOKEN")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	_, _ = runOut(t, "dev")
	os.Stderr = stderr
	w.Close()
	logged, _ := io.ReadAll(r)
	if !bytes.Contains(logged, []byte(`"GUILDHALL_INTERNAL_TOKEN":"[redacted]"`)) {
		t.Errorf("dev's configuration log does not show its internal token as set:\n%s", logged)
	}
}

// TestBindError: a listener that cannot bind says which one, and how to move it.
func TestBindError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	t.Setenv("GUILDHALL_GRPC_ADDR", busy.Addr().String())
	t.Setenv("GUILDHALL_DATABASE_URL", "postgres://127.0.0.1:1/none?connect_timeout=1")
	_, err = runOut(t, "dev")
	if err == nil || !strings.Contains(err.Error(), "gRPC listener") || !strings.Contains(err.Error(), "GUILDHALL_GRPC_ADDR") {
		t.Fatalf("got %v, want an error naming the gRPC listener and its variable", err)
	}
}

func TestBadCommands(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve"}, "name a part"},
		{[]string{"serve", "--http-addr=:1"}, "name a part"},
		{[]string{"serve", "bogus"}, `unknown part "bogus"`},
		{[]string{"healthcheck"}, "--grpc"},
		{[]string{"dev", "--no-such-flag"}, "no-such-flag"},
		{[]string{"migrate", "--log-format=xml"}, "GUILDHALL_LOG_FORMAT"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			// Point everything at a closed port, so nothing can start by accident.
			t.Setenv("GUILDHALL_DATABASE_URL", "postgres://127.0.0.1:1/none?connect_timeout=1")
			t.Setenv("GUILDHALL_HTTP_ADDR", "127.0.0.1:1")
			_, err := runOut(t, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error mentioning %s", err, c.want)
			}
		})
	}
}

// freeAddr returns a 127.0.0.1 address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

type addrs struct{ http, grpc, metrics string }

const adminToken = "gh_main-test-admin-token"

// devEnv is the environment of a `guildhall dev` on free ports over a fresh database.
func devEnv(t *testing.T) (map[string]string, addrs) {
	a := addrs{freeAddr(t), freeAddr(t), freeAddr(t)}
	return map[string]string{
		"GUILDHALL_DATABASE_URL":   pgtest.New(t, apptest.Schemas()),
		"GUILDHALL_HTTP_ADDR":      a.http,
		"GUILDHALL_GRPC_ADDR":      a.grpc,
		"GUILDHALL_METRICS_ADDR":   a.metrics,
		"GUILDHALL_SHUTDOWN_GRACE": "15s",
		// Creates need a lead or an admin; dev makes this token an admin's.
		"GUILDHALL_BOOTSTRAP_ADMIN_TOKEN": adminToken,
	}, a
}

// waitReady polls /readyz until it answers 200, failing if stopped says the process ended.
func waitReady(t *testing.T, base string, stopped <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-stopped:
			t.Fatal("guildhall ended before it was ready")
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("guildhall was not ready within 90s")
}

func assertClosed(t *testing.T, a addrs) {
	t.Helper()
	for _, addr := range []string{a.http, a.grpc, a.metrics} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after shutdown", addr)
		}
	}
}

// result is one request of the load.
type result struct {
	post        bool
	id          string
	start, end  time.Time
	status      int
	err         error
	requestBody string
}

// benignAfterShutdown tells whether err is what a client sees from a server
// that has closed its listener or an idle keep-alive connection: the request
// was never accepted, so it is safe to retry elsewhere.
func benignAfterShutdown(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "server closed idle connection")
}

// TestGracefulShutdown runs `guildhall dev` in process, puts it under load,
// and cancels its context mid-load, as SIGTERM does through signal.NotifyContext.
// Requests in flight must finish; requests arriving after must be refused,
// never answered with a 5xx; and every answered create must be stored.
func TestGracefulShutdown(t *testing.T) {
	vars, a := devEnv(t)
	for k, v := range vars {
		t.Setenv(k, v)
	}
	t.Setenv("GUILDHALL_LOG_LEVEL", "warn") // the access log of every request would drown the output

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout bytes.Buffer
	done := make(chan error, 1)
	stopped := make(chan struct{})
	var returned time.Time
	go func() {
		err := run(ctx, []string{"dev"}, &stdout)
		returned = time.Now()
		done <- err
		close(stopped)
	}()
	base := "http://" + a.http
	waitReady(t, base, stopped)
	pool, err := database.Open(context.Background(), vars["GUILDHALL_DATABASE_URL"], config.Membership)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	people := func() []string {
		t.Helper()
		rows, err := pool.Query(context.Background(), "SELECT id FROM people ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	preexisting := people() // the bootstrap admin

	// The healthcheck subcommand agrees, over both protocols.
	for _, args := range [][]string{{"healthcheck", "--grpc", a.grpc}, {"healthcheck", "--http", base + "/readyz"}, {"healthcheck", "--http", base}} {
		if out, err := runOut(t, args...); err != nil || out != "SERVING\n" {
			t.Errorf("%v: %q, %v", args, out, err)
		}
	}
	if resp, err := http.Get("http://" + a.metrics + "/metrics"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("metrics: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	t.Cleanup(client.CloseIdleConnections)

	// A deliberately slow request: its body arrives in two parts, the second
	// only after shutdown has begun, so the server must wait for it.
	bodyR, bodyW := io.Pipe()
	slowReq, _ := http.NewRequest(http.MethodPost, base+"/v1/people?personId=slow&requestId="+uuid.NewString(), bodyR)
	slowReq.Header.Set("Content-Type", "application/json")
	slowReq.Header.Set("Authorization", "Bearer "+adminToken)
	wroteHeaders := make(chan struct{})
	slowReq = slowReq.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteHeaders: func() { close(wroteHeaders) },
	}))
	slowDone := make(chan result, 1)
	go func() {
		r := result{post: true, id: "slow", start: time.Now()}
		// A fresh connection of its own, so it is not an idle keep-alive one.
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(slowReq)
		r.end, r.err = time.Now(), err
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r.status, r.requestBody = resp.StatusCode, string(b)
		}
		slowDone <- r
	}()
	if _, err := io.WriteString(bodyW, `{"displayName":`); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wroteHeaders:
	case <-time.After(10 * time.Second):
		t.Fatal("slow request not sent")
	}

	stopLoad := make(chan struct{})
	var mu sync.Mutex
	var results []result
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				r := result{post: n%2 == 1, start: time.Now()}
				var req *http.Request
				if r.post {
					r.id = fmt.Sprintf("w%d-%d", w, n)
					req, _ = http.NewRequest(http.MethodPost, base+"/v1/people?personId="+r.id+"&requestId="+uuid.NewString(),
						strings.NewReader(`{"displayName":"Worker `+r.id+`"}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+adminToken)
				} else {
					req, _ = http.NewRequest(http.MethodGet, base+"/v1/people?pageSize=5", nil)
				}
				resp, err := client.Do(req)
				r.end, r.err = time.Now(), err
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					r.status, r.requestBody = resp.StatusCode, string(b)
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if err != nil {
					time.Sleep(10 * time.Millisecond) // refused: don't spin
				}
			}
		})
	}

	// Shut down once the load is under way: after 20 answers, not after a fixed
	// time, which a loaded machine may spend before the first answer.
	const wantBefore = 20
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		ok := 0
		for _, r := range results {
			if r.err == nil && r.status == http.StatusOK {
				ok++
			}
		}
		mu.Unlock()
		if ok >= wantBefore {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests answered in 30s before shutdown; the load did not run", ok)
		}
	}
	cancelled := time.Now()
	cancel()
	// Finish the slow request's body well after shutdown began.
	time.Sleep(500 * time.Millisecond)
	if _, err := io.WriteString(bodyW, `"Slow Poke"}`); err != nil {
		t.Errorf("finishing the slow body: %v", err)
	}
	bodyW.Close()

	grace := 15 * time.Second
	var runErr error
	select {
	case runErr = <-done:
	case <-time.After(grace + 5*time.Second):
		t.Fatalf("run did not return within the grace period (%v) after cancel", grace)
	}
	// Let the workers see the closed ports for a moment.
	time.Sleep(200 * time.Millisecond)
	close(stopLoad)
	wg.Wait()

	if runErr != nil {
		t.Fatalf("run returned %v, want nil after a graceful stop", runErr)
	}
	assertBanner(t, stdout.String())
	assertClosed(t, a)

	slow := <-slowDone
	if slow.err != nil || slow.status != http.StatusOK {
		t.Errorf("the request in flight at shutdown: %d %v %s", slow.status, slow.err, slow.requestBody)
	}
	if !returned.After(slow.end) {
		t.Errorf("run returned at %v, before the in-flight request finished at %v", returned, slow.end)
	}
	results = append(results, slow)

	var okBefore, okAfter, refused int
	created := map[string]bool{}
	for _, r := range results {
		switch {
		case r.err == nil && r.status == http.StatusOK:
			if r.end.Before(cancelled) {
				okBefore++
			} else {
				okAfter++
			}
			if r.post {
				created[r.id] = true
			}
		case r.err == nil:
			t.Errorf("%v→%v: answered %d %s", r.start.Sub(cancelled), r.end.Sub(cancelled), r.status, r.requestBody)
		case r.end.Before(cancelled):
			t.Errorf("request failed before shutdown began: %v", r.err)
		case !benignAfterShutdown(r.err):
			t.Errorf("request failed during shutdown with an unexpected error: %v", r.err)
		default:
			refused++
		}
	}
	t.Logf("%d requests answered before cancel, %d answered during drain, %d refused after", okBefore, okAfter, refused)
	if okBefore < wantBefore {
		t.Errorf("only %d requests succeeded before cancel; the load did not run", okBefore)
	}
	if refused == 0 {
		t.Errorf("no request was refused after shutdown; did the load reach the end?")
	}

	// Every answered create is stored, and nothing else is.
	for _, id := range people() {
		if slices.Contains(preexisting, id) {
			continue
		}
		if !created[id] {
			t.Errorf("people/%s is stored, but its create got no answer", id)
		}
		delete(created, id)
	}
	for id := range created {
		t.Errorf("people/%s was answered 200 but is not stored", id)
	}
}

// TestSIGTERM runs the real binary and stops it with a real signal.
// assertBanner checks that dev printed its banner with the board's URL first,
// the page a person opens.
func assertBanner(t *testing.T, stdout string) {
	t.Helper()
	_, after, ok := strings.Cut(stdout, "Guildhall is running.\n")
	first, _, _ := strings.Cut(after, "\n")
	if !ok || !strings.HasPrefix(first, "  Board ") || !strings.HasSuffix(first, "/board/") {
		t.Errorf("the banner does not name the board first:\n%s", stdout)
	}
}

func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "guildhall")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	vars, a := devEnv(t)
	cmd := exec.Command(bin, "dev")
	cmd.Env = os.Environ()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr apptest.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	stopped := make(chan struct{})
	go func() { exited <- cmd.Wait(); close(stopped) }()
	t.Cleanup(func() {
		select {
		case <-stopped:
		default:
			_ = cmd.Process.Kill()
			<-stopped
		}
	})

	waitReady(t, "http://"+a.http, stopped)
	req, _ := http.NewRequest(http.MethodPost, "http://"+a.http+"/v1/people?personId=sig&requestId="+uuid.NewString(),
		strings.NewReader(`{"displayName":"Sig Term"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("create: %d", res.StatusCode)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit within 30s of SIGTERM\nstderr:\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	log := stderr.String()
	for _, want := range []string{"shutting down", "stopped cleanly"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if !strings.Contains(stdout.String(), "Guildhall is running") {
		t.Errorf("stdout lacks the banner:\n%s", stdout.String())
	}
	assertClosed(t, a)
}

func TestMigrate(t *testing.T) {
	// A database that does not exist yet, on the test server: migrate creates it.
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		raw = pgtest.DefaultURL
	}
	base, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	name := "guildhall_migrate_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	admin := *base
	target := *base
	target.Path = "/" + name
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), admin.String())
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	t.Setenv("GUILDHALL_DATABASE_URL", target.String())

	type state struct {
		schemas    []string
		migrations int
	}
	inspect := func() state {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), target.String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		rows, _ := conn.Query(context.Background(),
			"SELECT schema_name FROM information_schema.schemata WHERE schema_name = ANY($1) ORDER BY 1", config.Services)
		schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		var s state
		s.schemas = schemas
		for _, svc := range schemas {
			var n int
			if err := conn.QueryRow(context.Background(),
				"SELECT count(*) FROM "+pgx.Identifier{svc, "goose_db_version"}.Sanitize()+" WHERE is_applied AND version_id > 0").Scan(&n); err != nil {
				t.Fatal(err)
			}
			s.migrations += n
		}
		return s
	}

	if _, err := runOut(t, "migrate"); err != nil {
		t.Fatalf("first migrate: %v", err)
	}
	first := inspect()
	want := slices.Sorted(slices.Values(config.Services))
	if !slices.Equal(first.schemas, want) || first.migrations < len(want) {
		t.Fatalf("after migrate: schemas %v with %d migrations, want %v with at least one each", first.schemas, first.migrations, want)
	}
	if _, err := runOut(t, "migrate"); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if second := inspect(); !slices.Equal(second.schemas, first.schemas) || second.migrations != first.migrations {
		t.Fatalf("second migrate changed the database: %+v, then %+v", first, second)
	}

	// The tables are there and usable.
	pool, err := database.Open(context.Background(), target.String(), config.Roadmap)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM releases").Scan(&n); err != nil || n != 0 {
		t.Fatalf("releases: %d rows, %v", n, err)
	}

	if _, err := runOut(t, "migrate", "nonsense"); err == nil || !strings.Contains(err.Error(), "nonsense") {
		t.Fatalf("migrate nonsense: %v, want an error naming it", err)
	}
}
