package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guildhall/guildhall/app/apptest"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/gen/openapi"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/pgtest"
)

// TestDatabaseOutage puts a TCP proxy between the services and PostgreSQL,
// then kills the services' backends (SQLSTATE 57P01), cuts the proxy (every
// connection dropped, new ones refused) and restores it. No request may get
// a 500: during the outage every REST GET answers 503 with Retry-After and
// gRPC answers UNAVAILABLE, and afterwards the same process serves again.
func TestDatabaseOutage(t *testing.T) {
	var proxy *pgtest.Proxy
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) {
		proxy = pgtest.NewProxy(t, c.DatabaseURL)
		// The transparency report is reused for its TTL by design, so within
		// it an outage would still see the last report: assemble it every
		// time, so it too must answer 503 while no service can.
		c.TransparencyCacheTTL = 0
		for _, s := range config.Services {
			c.Service[s].DatabaseURL = proxy.URL(c.Service[s].DatabaseURL)
		}
	})
	admin := env.WithToken(apptest.AdminToken)
	paths := listPaths(t)
	counts := map[string]map[int]int{}
	last := map[string]int{}
	sweep := func(phase string) map[int]int {
		t.Helper()
		if counts[phase] == nil {
			counts[phase] = map[int]int{}
		}
		got := map[int]int{}
		for _, p := range paths {
			for who, e := range map[string]*apptest.Env{"anonymous": env, "admin": admin} {
				res := e.Do(t, http.MethodGet, p, "")
				if phase == "outage" && last[who+p] == http.StatusOK && p != "/v1/caller" && res.Status != http.StatusServiceUnavailable {
					t.Errorf("GET %s as %s during the outage: %d %s, want 503", p, who, res.Status, res.Body)
				}
				if phase == "before" {
					last[who+p] = res.Status
				}
				counts[phase][res.Status]++
				got[res.Status]++
				if res.Status == http.StatusInternalServerError {
					t.Errorf("%s: GET %s as %s: 500 %s", phase, p, who, res.Body)
				}
				if res.Status == http.StatusServiceUnavailable {
					if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 {
						t.Errorf("%s: GET %s: 503 without a Retry-After in seconds: %q", phase, p, res.Header.Get("Retry-After"))
					}
				}
			}
		}
		return got
	}

	if got := sweep("before"); got[http.StatusOK] < len(paths) || got[http.StatusServiceUnavailable] > 0 {
		t.Fatalf("before the outage: %v", got)
	}

	// Load throughout: readers and writers, whose every answer is counted.
	var loadMu sync.Mutex
	load := map[string]int{}
	stopLoad := make(chan struct{})
	var loadWG sync.WaitGroup
	for w := range 4 {
		loadWG.Go(func() {
			client := &http.Client{Timeout: 20 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				method, path, body := http.MethodGet, paths[(w+i)%len(paths)], ""
				if i%3 == 0 {
					method, path, body = http.MethodPost, fmt.Sprintf("/v1/teams?teamId=load-%d-%d", w, i), `{"displayName":"Load"}`
				}
				req, _ := http.NewRequest(method, env.BaseURL+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
				resp, err := client.Do(req)
				key := "transport error"
				if err == nil {
					key = fmt.Sprintf("%s %d", method, resp.StatusCode)
					if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
						key += " without Retry-After"
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				loadMu.Lock()
				load[key]++
				loadMu.Unlock()
			}
		})
	}

	// 1. The server ends every backend of this database, as a restart or
	// an administrator does: open pool connections die with 57P01.
	terminate(t, env.DatabaseURL)
	sweep("after pg_terminate_backend")

	// 2. The database is gone: every GET is a 503, every gRPC call UNAVAILABLE.
	proxy.Cut()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && !t.Failed() {
		sweep("outage")
	}
	for _, call := range []func(context.Context) error{
		func(ctx context.Context) error {
			_, err := membershipv1.NewMembershipServiceClient(env.Conn).ListTeams(ctx, &membershipv1.ListTeamsRequest{})
			return err
		},
		func(ctx context.Context) error {
			_, err := membershipv1.NewMembershipServiceClient(env.Conn).CreateTeam(ctx, &membershipv1.CreateTeamRequest{
				TeamId: "outage", Team: &membershipv1.Team{DisplayName: "Outage"}})
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := call(ctx)
		cancel()
		if c := status.Code(err); c != codes.Unavailable && c != codes.Unauthenticated {
			t.Errorf("gRPC during the outage: %v, want UNAVAILABLE", err)
		}
	}
	res := admin.Do(t, http.MethodPost, "/v1/teams?teamId=outage", `{"displayName":"Outage"}`)
	counts["outage"][res.Status]++
	if res.Status != http.StatusServiceUnavailable {
		t.Errorf("POST during the outage: %d %s, want 503", res.Status, res.Body)
	}

	// 3. The database is back: the same process serves again.
	proxy.Restore()
	deadline = time.Now().Add(15 * time.Second)
	for {
		got := sweep("recovery")
		if got[http.StatusServiceUnavailable] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still unavailable 15s after the database came back: %v", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if res := admin.Do(t, http.MethodPost, "/v1/teams?teamId=outage", `{"displayName":"Outage"}`); res.Status != http.StatusOK {
		t.Errorf("POST after the outage: %d %s", res.Status, res.Body)
	}
	close(stopLoad)
	loadWG.Wait()
	t.Logf("status codes by phase: %s", formatCounts(counts))
	t.Logf("background load (4 clients, reads and writes) over the whole test: %v", load)
	for key, n := range load {
		if strings.Contains(key, " 500") || strings.Contains(key, "without") || key == "transport error" {
			t.Errorf("background load: %d × %s", n, key)
		}
	}
}

// listPaths is every GET route of the API without path parameters.
func listPaths(t *testing.T) []string {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for p, ops := range doc.Paths {
		if _, ok := ops["get"]; ok && !strings.Contains(p, "{") {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// terminate ends every other backend connected to the database of url.
func terminate(t *testing.T, url string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no backends of the services to terminate")
	}
}

func formatCounts(c map[string]map[int]int) string {
	var b strings.Builder
	for _, phase := range []string{"before", "after pg_terminate_backend", "outage", "recovery"} {
		codes := make([]int, 0, len(c[phase]))
		for code := range c[phase] {
			codes = append(codes, code)
		}
		sort.Ints(codes)
		fmt.Fprintf(&b, "\n  %-27s", phase)
		for _, code := range codes {
			fmt.Fprintf(&b, " %d×%d", c[phase][code], code)
		}
	}
	return b.String()
}
