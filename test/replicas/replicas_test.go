// Package replicas_test runs Guildhall as it runs when it outgrows one
// machine: real `guildhall serve` processes, two of each part (gateway,
// membership, roadmap, finance, events), all against the same databases, with gRPC
// calls balanced round-robin over the replicas. It checks that replicas have
// no double effects: an idempotency storm over both gateways makes one
// donation; the outbox and every background job do their work once even when
// a replica is killed (SIGKILL) mid-batch; and a rolling restart, one process
// at a time, fails no request.
package replicas_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/pgtest"
)

// bin is the guildhall binary, built once for every test here.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "guildhall-replicas-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "guildhall")
	build := exec.Command("go", "build", "-o", bin, "github.com/guildhall/guildhall/cmd/guildhall")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	code := 1
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build guildhall:", err)
	} else {
		code = m.Run()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one guildhall process, restartable on the same addresses.
type proc struct {
	name string
	args []string
	env  []string
	// addr is where it listens: gRPC for services, HTTP for gateways.
	addr string
	// metrics is where it serves /metrics.
	metrics string

	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *apptest.Buffer
	done chan struct{}
	logs []*apptest.Buffer
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(bin, p.args...)
	cmd.Env = p.env
	out := &apptest.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	p.cmd, p.out, p.done = cmd, out, done
	p.logs = append(p.logs, out)
}

// signal sends sig and waits for the process to exit.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("%s did not stop within 30s of %v", p.name, sig)
	}
	if sig == syscall.SIGTERM && cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("%s exited %d after SIGTERM", p.name, cmd.ProcessState.ExitCode())
	}
}

// output is the last lines each run of p wrote, without stack traces.
func (p *proc) output() string {
	var b strings.Builder
	for i, l := range p.logs {
		lines := strings.Split(strings.TrimSpace(l.String()), "\n")
		lines = lines[max(0, len(lines)-15):]
		fmt.Fprintf(&b, "--- %s, run %d ---\n", p.name, i+1)
		for _, line := range lines {
			if j := strings.Index(line, `,"stacktrace"`); j > 0 {
				line = line[:j] + "}"
			}
			fmt.Fprintln(&b, line)
		}
	}
	return b.String()
}

// cluster is two of each part.
type cluster struct {
	dbURL    string
	gateways []*proc
	services map[string][]*proc
	all      []*proc
	// rotation is the gateways the client sends requests to (a load
	// balancer's view: a gateway leaves it before it is stopped).
	rotation atomic.Pointer[[]string]
	client   *http.Client
}

const adminToken = "gh_replicas-admin-token"

// minReady is how long a restarted replica serves before the next one stops.
const minReady = 1500 * time.Millisecond

// deregister is how long a gateway out of rotation waits before it stops.
const deregister = 500 * time.Millisecond

func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

func secret(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "gh_" + hex.EncodeToString(b)
}

func startCluster(t *testing.T, extraEnv ...string) *cluster {
	t.Helper()
	c := &cluster{dbURL: pgtest.New(t, apptest.Schemas()), services: map[string][]*proc{},
		client: &http.Client{Timeout: 30 * time.Second}}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"GUILDHALL_DATABASE_URL=" + c.dbURL,
		"GUILDHALL_INTERNAL_TOKEN=" + secret(t),
		"GUILDHALL_BOOTSTRAP_ADMIN_TOKEN=" + adminToken,
		"GUILDHALL_LOG_FORMAT=json",
		"GUILDHALL_LOG_LEVEL=warn",
		"GUILDHALL_SHUTDOWN_GRACE=10s",
		"GUILDHALL_DB_MAX_CONNS=4",
	}
	env = append(env, extraEnv...)
	addrs := map[string][]string{}
	for _, s := range config.Services {
		addrs[s] = []string{freeAddr(t), freeAddr(t)}
		env = append(env, "GUILDHALL_"+strings.ToUpper(s)+"_TARGET="+strings.Join(addrs[s], ","))
	}
	for _, s := range config.Services {
		for i, a := range addrs[s] {
			m := freeAddr(t)
			p := &proc{name: fmt.Sprintf("%s-%d", s, i+1), args: []string{"serve", s}, addr: a, metrics: m,
				env: append(append([]string{}, env...), "GUILDHALL_"+strings.ToUpper(s)+"_ADDR="+a, "GUILDHALL_METRICS_ADDR="+m)}
			c.services[s] = append(c.services[s], p)
			c.all = append(c.all, p)
		}
	}
	for i := range 2 {
		a := freeAddr(t)
		m := freeAddr(t)
		p := &proc{name: fmt.Sprintf("gateway-%d", i+1), args: []string{"serve", "gateway"}, addr: a, metrics: m,
			env: append(append([]string{}, env...), "GUILDHALL_HTTP_ADDR="+a, "GUILDHALL_METRICS_ADDR="+m)}
		c.gateways = append(c.gateways, p)
		c.all = append(c.all, p)
	}
	t.Cleanup(func() {
		for _, p := range c.all {
			p.signal(t, syscall.SIGKILL)
		}
		if t.Failed() {
			for _, p := range c.all {
				t.Log(p.output())
			}
		}
	})
	// Membership first: the bootstrap admin token is made by it.
	for _, p := range c.services[config.Membership] {
		p.start(t)
	}
	for _, p := range c.services[config.Membership] {
		c.waitReady(t, p)
	}
	for _, p := range c.all[2:] {
		p.start(t)
	}
	for _, p := range c.all[2:] {
		c.waitReady(t, p)
	}
	c.rotation.Store(&[]string{c.gateways[0].addr, c.gateways[1].addr})
	return c
}

// waitReady waits until p answers its health check (gRPC) or /readyz.
func (c *cluster) waitReady(t *testing.T, p *proc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("%s exited while starting:\n%s", p.name, p.output())
		default:
		}
		if p.args[1] == "gateway" {
			if res, err := c.client.Get("http://" + p.addr + "/readyz"); err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					return
				}
			}
		} else if healthy(p.addr) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready within 60s:\n%s", p.name, p.output())
}

func healthy(addr string) bool {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return false
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING
}

var turn atomic.Uint64

// do sends an admin request to the next gateway in rotation.
func (c *cluster) do(method, path, body string) (int, []byte, error) {
	rot := *c.rotation.Load()
	gw := rot[turn.Add(1)%uint64(len(rot))]
	req, err := http.NewRequest(method, "http://"+gw+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s via %s: %w", method, path, gw, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func (c *cluster) must(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	code, b, err := c.do(method, path, body)
	if err != nil || code != http.StatusOK {
		t.Fatalf("%s %s: %d %v\n%s", method, path, code, err, b)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (c *cluster) db(t *testing.T, schema string) *pgxpool.Pool {
	t.Helper()
	db, err := database.Open(context.Background(), c.dbURL, schema, database.MaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

func count(t *testing.T, db *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ten processes")
	}
	began := time.Now()
	// Drift stages an hour apart and jobs every few hundred milliseconds, so
	// the background work happens within the test.
	c := startCluster(t, append([]string{
		"GUILDHALL_DRIFT_WINDOW=1h", "GUILDHALL_DRIFT_NUDGE_GRACE=1h", "GUILDHALL_DRIFT_EMERITUS_AFTER=1h"},
		append(eventsEnv, "GUILDHALL_JOB_INTERVALS=membership.drift=200ms,membership.idempotency-purge=300ms,roadmap.idempotency-purge=300ms,finance.idempotency-purge=300ms,roadmap.outbox=100ms,finance.outbox=100ms,"+eventsJobs)...)...,
	)
	t.Logf("ten processes ready in %v", time.Since(began).Round(time.Millisecond))
	for _, a := range []struct{ id, typ string }{{"bank", "TYPE_ASSET"}, {"paypal", "TYPE_ASSET"}, {"cash", "TYPE_ASSET"}, {"donations", "TYPE_INCOME"}} {
		c.must(t, "POST", "/v1/accounts?accountId="+a.id, fmt.Sprintf(`{"displayName":%q,"type":%q,"currencyCode":"USD"}`, a.id, a.typ))
	}

	t.Run("idempotency storm over both gateways", func(t *testing.T) { stormMakesOneDonation(t, c) })
	t.Run("background work once with a replica killed", func(t *testing.T) { jobsOnceDespiteKill(t, c) })
	t.Run("events and webhooks through a kill and an outage", func(t *testing.T) { eventsThroughKill(t, c) })
	t.Run("rolling restart fails no request", func(t *testing.T) { rollingRestart(t, c) })
	t.Logf("whole test %v", time.Since(began).Round(time.Millisecond))
}

// 1,000 creates with one request id, spread over both gateways and through
// them over both finance replicas, make one donation and one reply.
func stormMakesOneDonation(t *testing.T, c *cluster) {
	id := uuid.NewString()
	body := `{"amount":{"currencyCode":"USD","minorUnits":"2500"},"donorName":"Storm","channel":"CHANNEL_PAYPAL"}`
	const workers, each = 40, 25
	var wg sync.WaitGroup
	replies := make([]string, workers*each)
	var failed atomic.Int32
	began := time.Now()
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				code, b, err := c.do("POST", "/v1/donations?requestId="+id, body)
				if err != nil || code != http.StatusOK {
					if failed.Add(1) <= 3 {
						t.Errorf("HTTP %d %v %s", code, err, b)
					}
					continue
				}
				replies[w*each+i] = string(b)
			}
		})
	}
	wg.Wait()
	t.Logf("1,000 duplicate creates in %v, %d failed", time.Since(began).Round(time.Millisecond), failed.Load())
	for i, r := range replies {
		if r != replies[0] {
			t.Fatalf("reply %d differs:\n%s\n%s", i, r, replies[0])
		}
	}
	// Both finance replicas served the storm: the calls were balanced.
	for _, p := range c.services[config.Finance] {
		if n := c.handled(t, p, "CreateDonation"); n < 100 {
			t.Errorf("%s handled %v of the 1,000 creates; want them spread over both replicas", p.name, n)
		} else {
			t.Logf("%s handled %v of the 1,000 creates", p.name, n)
		}
	}
	db := c.db(t, config.Finance)
	if n := count(t, db, `SELECT count(*) FROM donations WHERE donor_name = 'Storm'`); n != 1 {
		t.Errorf("%d donations, want 1", n)
	}
	if n := count(t, db, `SELECT count(*) FROM transactions WHERE source = 'donation'`); n != 1 {
		t.Errorf("%d ledger entries, want 1", n)
	}
}

// The outbox, drift and the purge each do their work exactly once while
// replicas run them side by side and one replica of each service is killed
// (SIGKILL) in the middle.
func jobsOnceDespiteKill(t *testing.T, c *cluster) {
	ctx := context.Background()
	members, roadmapDB, financeDB := c.db(t, config.Membership), c.db(t, config.Roadmap), c.db(t, config.Finance)
	now := time.Now().UTC()

	// People for the activity, and people who drifted 10 hours ago (past
	// all three stages), each holding a role in a team.
	const people, drifters = 50, 120
	if _, err := members.Exec(ctx, `INSERT INTO teams (id, display_name, permissions) VALUES ('crew', 'Crew', '{}')`); err != nil {
		t.Fatal(err)
	}
	if _, err := members.Exec(ctx, `INSERT INTO people (id, display_name, email, last_active_time)
		SELECT 'active-' || i, 'Active ' || i, 'active-' || i || '@example.org', $1 FROM generate_series(1, $2) i`, now, people); err != nil {
		t.Fatal(err)
	}
	if _, err := members.Exec(ctx, `INSERT INTO people (id, display_name, email, last_active_time)
		SELECT 'drifter-' || i, 'Drifter ' || i, 'drifter-' || i || '@example.org', $1 FROM generate_series(1, $2) i`, now.Add(-10*time.Hour), drifters); err != nil {
		t.Fatal(err)
	}
	if _, err := members.Exec(ctx, `INSERT INTO team_members (team_id, person_id, role, since)
		SELECT 'crew', 'drifter-' || i, 'member', $1 FROM generate_series(1, $2) i`, now.Add(-10*time.Hour), drifters); err != nil {
		t.Fatal(err)
	}

	// Activity queued in both outboxes, as the services queue it.
	const perOutbox = 2500
	queue := func(db *pgxpool.Pool, kind string) {
		var topics []string
		var payloads [][]byte
		for i := range perOutbox {
			m, err := activity.Message(fmt.Sprintf("people/active-%d", i%people+1), kind, now)
			if err != nil {
				t.Fatal(err)
			}
			topics, payloads = append(topics, m.Topic), append(payloads, m.Payload)
		}
		if _, err := db.Exec(ctx, `INSERT INTO outbox (topic, payload) SELECT * FROM unnest($1::text[], $2::bytea[])`, topics, payloads); err != nil {
			t.Fatal(err)
		}
	}
	// Request ids past the retention (7 days) in every schema, and fresh ones.
	const oldKeys, newKeys = 3000, 10
	for _, db := range []*pgxpool.Pool{members, roadmapDB, financeDB} {
		if _, err := db.Exec(ctx, `INSERT INTO idempotency_keys (request_id, method, request_hash, create_time)
			SELECT gen_random_uuid(), 'Old', '\x00', $1 FROM generate_series(1, $2)`, now.Add(-8*24*time.Hour), oldKeys); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO idempotency_keys (request_id, method, request_hash, create_time)
			SELECT gen_random_uuid(), 'New', '\x00', $1 FROM generate_series(1, $2)`, now, newKeys); err != nil {
			t.Fatal(err)
		}
	}
	queue(roadmapDB, "replica.roadmap")
	queue(financeDB, "replica.finance")

	// Kill one replica of each service while the work is under way.
	began := time.Now()
	waitFor(t, 20*time.Second, "delivery and drift begin", func() bool {
		return count(t, members, `SELECT count(*) FROM activity_events WHERE kind LIKE 'replica.%'`) > 0 &&
			count(t, members, `SELECT count(*) FROM drift_events`) > 0
	})
	delivered := count(t, members, `SELECT count(*) FROM activity_events WHERE kind LIKE 'replica.%'`)
	drifted := count(t, members, `SELECT count(DISTINCT person_id) FROM drift_events WHERE stage = 'emeritus'`)
	for _, s := range config.Services {
		c.services[s][0].signal(t, syscall.SIGKILL)
	}
	t.Logf("killed a replica of each service after %v, with %d of %d activity reports delivered and %d of %d drifters done",
		time.Since(began).Round(time.Millisecond), delivered, 2*perOutbox, drifted, drifters)
	if delivered == 2*perOutbox || drifted == drifters {
		t.Log("the work was already done when the replicas were killed; the kill tested nothing")
	}

	waitFor(t, 60*time.Second, "every outbox drained", func() bool {
		return count(t, roadmapDB, `SELECT count(*) FROM outbox`)+count(t, financeDB, `SELECT count(*) FROM outbox`) == 0
	})
	waitFor(t, 60*time.Second, "every drifter emeritus", func() bool {
		return count(t, members, `SELECT count(*) FROM people WHERE id LIKE 'drifter-%' AND state = 'emeritus'`) == drifters
	})
	waitFor(t, 30*time.Second, "old request ids purged", func() bool {
		return count(t, members, `SELECT count(*) FROM idempotency_keys WHERE method = 'Old'`)+
			count(t, roadmapDB, `SELECT count(*) FROM idempotency_keys WHERE method = 'Old'`)+
			count(t, financeDB, `SELECT count(*) FROM idempotency_keys WHERE method = 'Old'`) == 0
	})
	t.Logf("all background work done %v after the kill", time.Since(began).Round(time.Millisecond))

	// Each queued report took effect once.
	for _, kind := range []string{"replica.roadmap", "replica.finance"} {
		if n := count(t, members, `SELECT count(*) FROM activity_events WHERE kind = $1`, kind); n != perOutbox {
			t.Errorf("%s: %d activity events recorded, want %d", kind, n, perOutbox)
		}
	}
	// Each drifter reached each stage once, and each role became one open position.
	if n := count(t, members, `SELECT count(*) FROM (SELECT person_id, stage FROM drift_events WHERE person_id LIKE 'drifter-%'
		GROUP BY 1, 2 HAVING count(*) <> 1) x`); n != 0 {
		t.Errorf("%d (person, stage) pairs recorded other than once", n)
	}
	for _, stage := range []string{"nudged", "inactive", "emeritus"} {
		if n := count(t, members, `SELECT count(*) FROM drift_events WHERE person_id LIKE 'drifter-%' AND stage = $1`, stage); n != drifters {
			t.Errorf("%d drift events of stage %s, want %d, one per drifter", n, stage, drifters)
		}
	}
	// The team the drifters left is flagged once per stage.
	if n := count(t, members, `SELECT count(*) FROM (SELECT stage FROM drift_events WHERE team_id = 'crew'
		GROUP BY 1 HAVING count(*) <> 1) x`); n != 0 {
		t.Errorf("%d team stages of crew recorded other than once", n)
	}
	if n := count(t, members, `SELECT count(*) FROM positions WHERE team_id = 'crew'`); n != drifters {
		t.Errorf("%d positions opened for vacated roles, want %d", n, drifters)
	}
	if n := count(t, members, `SELECT count(*) FROM drift_events WHERE person_id LIKE 'active-%'`); n != 0 {
		t.Errorf("%d drift events for active people", n)
	}
	// The purge kept what is within the retention.
	for name, db := range map[string]*pgxpool.Pool{"membership": members, "roadmap": roadmapDB, "finance": financeDB} {
		if n := count(t, db, `SELECT count(*) FROM idempotency_keys WHERE method = 'New'`); n != newKeys {
			t.Errorf("%s: %d recent request ids left, want %d", name, n, newKeys)
		}
	}

	// The killed replicas come back.
	for _, s := range config.Services {
		p := c.services[s][0]
		p.start(t)
		c.waitReady(t, p)
	}
}

// Requests keep flowing while every process is restarted in turn; none fails.
func rollingRestart(t *testing.T, c *cluster) {
	stop := make(chan struct{})
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var code int
				var body []byte
				var err error
				switch (w + i) % 3 {
				case 0:
					code, body, err = c.do("GET", "/v1/people?pageSize=5", "")
				case 1:
					code, body, err = c.do("POST", "/v1/donations?requestId="+uuid.NewString(),
						`{"amount":{"currencyCode":"USD","minorUnits":"100"},"donorName":"Rolling","channel":"CHANNEL_CASH"}`)
				case 2:
					code, body, err = c.do("POST", "/v1/items?requestId="+uuid.NewString(), `{"title":"Rolling"}`)
				}
				if err != nil || code != http.StatusOK {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("HTTP %d %v %s", code, err, body))
					continue
				}
				ok.Add(1)
			}
		})
	}
	began := time.Now()
	for _, s := range config.Services {
		for _, p := range c.services[s] {
			p.signal(t, syscall.SIGTERM)
			p.start(t)
			c.waitReady(t, p)
			// As a Deployment's minReadySeconds: the clients reconnect
			// (within a second, see app.Dial) before the next replica stops.
			time.Sleep(minReady)
		}
	}
	for i, gw := range c.gateways {
		// A load balancer takes the gateway out of rotation first, and the
		// gateway stops once requests already routed to it have arrived
		// (a deregistration delay, or a preStop sleep in Kubernetes).
		other := c.gateways[1-i].addr
		c.rotation.Store(&[]string{other})
		time.Sleep(deregister)
		gw.signal(t, syscall.SIGTERM)
		gw.start(t)
		c.waitReady(t, gw)
		c.rotation.Store(&[]string{c.gateways[0].addr, c.gateways[1].addr})
	}
	close(stop)
	wg.Wait()
	t.Logf("rolling restart of 8 processes in %v: %d requests succeeded, %d failed", time.Since(began).Round(time.Millisecond), ok.Load(), failed.Load())
	if failed.Load() > 0 {
		t.Errorf("%d requests failed during the rolling restart; first: %v", failed.Load(), firstErr.Load())
	}
	if ok.Load() < 100 {
		t.Errorf("only %d requests ran during the restart", ok.Load())
	}
	if n := count(t, c.db(t, config.Finance), `SELECT count(*) FROM donations WHERE donor_name = 'Rolling'`); n == 0 {
		t.Error("no donation was made during the restart")
	}
	if n := count(t, c.db(t, config.Roadmap), `SELECT count(*) FROM items WHERE title = 'Rolling'`); n == 0 {
		t.Error("no item was made during the restart")
	}
}

// handled is how many calls of method p has answered, from its
// grpc_server_handled_total counters.
func (c *cluster) handled(t *testing.T, p *proc, method string) float64 {
	t.Helper()
	res, err := c.client.Get("http://" + p.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "grpc_server_handled_total{") && strings.Contains(line, `grpc_method="`+method+`"`) {
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v); err == nil {
				total += v
			}
		}
	}
	return total
}
