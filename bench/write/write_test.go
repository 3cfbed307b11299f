// Package write_test is the write-path bench `make bench` runs: Guildhall
// as its own process (`guildhall dev`), so that its CPU is separable from
// the load generator's, measured side by side with pgbench's single-row
// insert on the same server and, when BENCH_BASE names a commit, with the
// binary built from that commit, in one run:
//
//	GUILDHALL_BENCH=1 BENCH_BASE=HEAD~1 go test -count=1 -v -run TestWrite -timeout 40m ./bench/write/
//
// Paths: REST and gRPC donations, manual entries, reversals, expense,
// subscription and sponsorship payments. Knobs: BENCH_SECONDS (default 8) per run,
// BENCH_CLIENTS (32).
// TestInstructions counts instructions per request under valgrind's
// callgrind (for where `perf stat -e instructions` is not supported).
package write_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/guildhall/guildhall/bench/benchenv"
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/pgtest"
)

const adminToken = "bench-admin-token"

// path is one write path under load.
type path struct {
	name string
	// call makes one request against s and reports success.
	call func(s *server, i int64) bool
}

var paths = []path{
	{"REST POST /v1/donations", func(s *server, i int64) bool {
		return s.post("/v1/donations?requestId="+uuid.NewString(),
			`{"amount":{"currencyCode":"USD","minorUnits":"100"},"donorName":"Load","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL"}`)
	}},
	{"gRPC CreateDonation", func(s *server, i int64) bool {
		ctx, cancel := context.WithTimeout(s.grpcCtx, 30*time.Second)
		defer cancel()
		_, err := s.finance.CreateDonation(ctx, &financev1.CreateDonationRequest{RequestId: uuid.NewString(), Donation: &financev1.Donation{
			Amount: &typev1.Money{CurrencyCode: "USD", MinorUnits: 100}, DonorName: "Load",
			Visibility: financev1.Donation_VISIBILITY_PUBLIC, Channel: financev1.Donation_CHANNEL_PAYPAL}})
		return err == nil
	}},
	{"REST POST /v1/transactions", func(s *server, i int64) bool {
		return s.post("/v1/transactions?requestId="+uuid.NewString(),
			`{"description":"load","postings":[{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"100"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-100"}}]}`)
	}},
	// The other money-moving writes, each on its own resources: an entry
	// is reversed once, so every reversal takes the next of the entries
	// written ahead; payments go round the subscriptions and sponsorships
	// made ahead.
	{"REST :reverse (reversal)", func(s *server, i int64) bool {
		n := s.reversed.Add(1) - 1
		if n >= int64(len(s.toReverse)) {
			return false
		}
		return s.post("/v1/transactions/"+s.toReverse[n]+":reverse", `{"requestId":"`+uuid.NewString()+`"}`)
	}},
	{"REST expense :pay", func(s *server, i int64) bool {
		n := s.paid.Add(1) - 1
		if n >= int64(len(s.toPay)) {
			return false
		}
		return s.post("/v1/expenses/"+s.toPay[n]+":pay", `{"requestId":"`+uuid.NewString()+`"}`)
	}},
	{"REST subscription :recordPayment", func(s *server, i int64) bool {
		return s.post("/v1/"+s.subscriptions[i%int64(len(s.subscriptions))]+":recordPayment", `{"requestId":"`+uuid.NewString()+`"}`)
	}},
	{"REST sponsorship :recordPayment", func(s *server, i int64) bool {
		return s.post("/v1/"+s.sponsorships[i%int64(len(s.sponsorships))]+":recordPayment", `{"requestId":"`+uuid.NewString()+`"}`)
	}},
}

// aheadOfLoad is how many subscriptions and sponsorships the payment paths
// go round, so that concurrent payments seldom wait on one row.
const aheadOfLoad = 256

// entriesToReverse writes $1 manual entries of 100 minor units (bank,
// equity) straight into the ledger, in one statement, and returns their
// ids: what the reversal paths reverse, one each. The ledger's triggers
// name finance's tables unqualified: run it with search_path finance.
const entriesToReverse = `
		WITH t AS (
			INSERT INTO finance.transactions (id, description, effective_time, source, creator)
			SELECT gen_random_uuid(), 'bench: to reverse', now(), 'manual', '' FROM generate_series(1, $1)
			RETURNING id),
		p AS (
			INSERT INTO finance.postings (transaction_id, seq, account_id, currency_code, amount)
			SELECT t.id, s, CASE s WHEN 1 THEN 'bank' ELSE 'equity' END, 'USD', CASE s WHEN 1 THEN 100 ELSE -100 END
			FROM t, generate_series(1, 2) AS s)
		SELECT id::text FROM t`

// figures are one path's measurements on one build.
type figures struct {
	maxRate      float64 // req/s at BENCH_CLIENTS connections, closed loop
	maxFailed    int64
	fixedRate    float64 // the target of the fixed-rate run (half of maxRate)
	achieved     float64
	p50, p99     time.Duration
	goCPU, pgCPU time.Duration            // per request, during the fixed-rate run
	pgBy         map[string]time.Duration // pgCPU by the backends' application_name (guildhall-<service>)
	fixedFailed  int64
}

func TestWrite(t *testing.T) {
	benchenv.Require(t, "the write-path bench")
	seconds := benchenv.Int("BENCH_SECONDS", 8)
	clients := benchenv.Int("BENCH_CLIENTS", 32)
	dir := t.TempDir()

	builds := buildAll(t, dir)
	servers := make([]*server, len(builds))
	for i, b := range builds {
		servers[i] = start(t, b.name, b.bin)
	}
	// What start wrote ahead would otherwise be vacuumed and analysed by
	// autovacuum during the first runs, on one build and not the other.
	for _, s := range servers {
		s.settle(t)
	}

	// pgbench on a database of its own, before and after the Guildhall runs.
	pgURL := pgtest.New(t, nil)
	pgb := func() float64 { r, _ := pgbenchInsert(t, pgURL, clients, seconds, 0); return r }
	pg := []float64{pgb()}

	res := make([][]figures, len(servers)) // [server][path]
	for i := range servers {
		res[i] = make([]figures, len(paths))
	}
	// Each step runs on every build in turn (order alternating), so both
	// see the same machine.
	order := func(step int) []int {
		o := make([]int, len(servers))
		for i := range o {
			o[i] = i
		}
		if step%2 == 1 {
			sort.Sort(sort.Reverse(sort.IntSlice(o)))
		}
		return o
	}
	step := 0
	for pi, p := range paths {
		for _, si := range order(step) {
			s := servers[si]
			r := closedLoop(s, p, clients, time.Duration(seconds)*time.Second)
			s.drained(t)
			s.settle(t)
			res[si][pi].maxRate, res[si][pi].maxFailed = r.rate, r.failed
		}
		step++
	}
	pg = append(pg, pgb())
	for pi, p := range paths {
		for _, si := range order(step) {
			s := servers[si]
			f := &res[si][pi]
			f.fixedRate = f.maxRate / 2
			g0, pg0 := s.cpu(), s.pgCPU(t)
			r := openLoop(s, p, f.fixedRate, time.Duration(seconds)*time.Second)
			// Until the events and activity of the run are delivered: their
			// cost is the requests', not the next run's.
			s.drained(t)
			g1, pg1 := s.cpu(), s.pgCPU(t)
			n := float64(r.ok)
			f.achieved, f.fixedFailed = r.rate, r.failed
			f.p50, f.p99 = r.pct(50), r.pct(99)
			f.goCPU = time.Duration(float64(g1-g0) / n)
			f.pgCPU = time.Duration(float64(pg1.total()-pg0.total()) / n)
			f.pgBy = map[string]time.Duration{}
			for app, d := range pg1 {
				f.pgBy[app] = time.Duration(float64(d-pg0[app]) / n)
			}
			s.settle(t)
		}
		step++
	}

	pgRate := (pg[0] + pg[1]) / 2
	// PostgreSQL's CPU per pgbench insert at half that rate, measured as
	// the paths' is: what a write costs the database here, next to which
	// the paths' PG CPU/req reads apart from the machine's speed.
	pgHalf, pgInsertCPU := pgbenchInsert(t, pgURL, clients, seconds, pgRate/2)
	var out strings.Builder
	fmt.Fprintf(&out, "\nwrite-path bench: %d connections, %ds runs, Guildhall as its own process (`guildhall dev`), %d CPUs, load average %s\n",
		clients, seconds, nprocs(), loadavg())
	fmt.Fprintf(&out, "pgbench single-row insert, %d clients: %.0f tps (%.0f before, %.0f after the max-rate runs); at %.0f/s (%.0f/s achieved), PostgreSQL CPU %s per insert\n\n",
		clients, pgRate, pg[0], pg[1], pgRate/2, pgHalf, ms(pgInsertCPU))
	fmt.Fprintf(&out, "| build | path | req/s at %d conns | vs pgbench | Go CPU/req | PG CPU/req | fixed rate (achieved) | p50 / p99 |\n", clients)
	fmt.Fprintf(&out, "|---|---|---|---|---|---|---|---|\n")
	for pi, p := range paths {
		for si, b := range builds {
			f := res[si][pi]
			fail := ""
			if f.maxFailed+f.fixedFailed > 0 {
				fail = fmt.Sprintf(" (%d failed)", f.maxFailed+f.fixedFailed)
			}
			fmt.Fprintf(&out, "| %s | %s | %.0f%s | %.1f%% | %s | %s | %.0f/s (%.0f/s) | %s / %s |\n", b.name, p.name,
				f.maxRate, fail, 100*f.maxRate/pgRate, ms(f.goCPU), ms(f.pgCPU), f.fixedRate, f.achieved, msr(f.p50), msr(f.p99))
		}
	}
	fmt.Fprintf(&out, "\nPG CPU/req in pgbench inserts (%s each, at half its rate as the paths are measured):\n", ms(pgInsertCPU))
	for pi, p := range paths {
		for si, b := range builds {
			fmt.Fprintf(&out, "  %-10s %-28s %.1f inserts\n", b.name, p.name, ratio(res[si][pi].pgCPU, pgInsertCPU))
		}
	}
	fmt.Fprintf(&out, "\nPG CPU/req by the connection's service (application_name), at the fixed rate:\n")
	for pi, p := range paths {
		for si, b := range builds {
			fmt.Fprintf(&out, "  %-10s %-28s %s\n", b.name, p.name, byApp(res[si][pi].pgBy))
		}
	}
	fmt.Fprintf(&out, "\n")
	for si, b := range builds {
		s := servers[si]
		var vs []string
		for pi := 2; pi < len(paths); pi++ {
			vs = append(vs, fmt.Sprintf("%s %.0f%%", paths[pi].name, 100*res[si][pi].maxRate/res[si][0].maxRate))
		}
		fmt.Fprintf(&out, "%s: RSS now %.1f MB (anonymous %.1f MB, the binary and other files %.1f MB), peak %.1f MB\n  rate vs REST donations: %s\n  entries per commit by source: %s\n", b.name,
			s.rss("VmRSS"), s.rss("RssAnon"), s.rss("RssFile"), s.rss("VmHWM"), strings.Join(vs, ", "), s.perCommit(t))
	}
	if len(builds) == 2 {
		fmt.Fprintf(&out, "\nratios this tree / base:\n")
		for pi, p := range paths {
			a, b := res[0][pi], res[1][pi]
			fmt.Fprintf(&out, "  %-28s req/s %.2f×, Go CPU/req %.2f×, PG CPU/req %.2f×, p99 %.2f×\n", p.name,
				a.maxRate/b.maxRate, ratio(a.goCPU, b.goCPU), ratio(a.pgCPU, b.pgCPU), ratio(a.p99, b.p99))
		}
	}
	fmt.Print(out.String())
	for si := range servers {
		for pi, p := range paths {
			if f := res[si][pi]; f.maxFailed+f.fixedFailed > 0 {
				t.Errorf("%s %s: %d requests failed", builds[si].name, p.name, f.maxFailed+f.fixedFailed)
			}
		}
	}
}

type build struct{ name, bin string }

// buildAll builds this tree and, if BENCH_BASE names a commit, that commit.
func buildAll(t *testing.T, dir string) []build {
	builds := []build{{"this tree", buildBinary(t, dir, "this", "")}}
	if base := os.Getenv("BENCH_BASE"); base != "" {
		rev := strings.TrimSpace(run(t, "git", "rev-parse", "--short", base))
		builds = append(builds, build{"base " + rev, buildBinary(t, dir, "base", rev)})
	}
	return builds
}

// TestInstructions counts the instructions Guildhall executes per request
// of each write path under valgrind's callgrind (perf stat's instruction
// counter is not available on every virtual machine); steadier than CPU
// time on a shared machine. It needs valgrind.
func TestInstructions(t *testing.T) {
	benchenv.Require(t, "the write-path bench")
	if _, err := exec.LookPath("valgrind"); err != nil {
		t.Skip("valgrind not found (apt-get install valgrind): no instruction counts")
	}
	dir := t.TempDir()
	builds := buildAll(t, dir)
	var out strings.Builder
	fmt.Fprintf(&out, "\ninstructions per request (callgrind, %d sequential requests after a warm-up):\n\n| path |", callgrindRequests)
	for _, b := range builds {
		fmt.Fprintf(&out, " %s |", b.name)
	}
	fmt.Fprintf(&out, "\n|---|%s\n", strings.Repeat("---|", len(builds)))
	counts := make([][]float64, len(builds))
	for bi, b := range builds {
		counts[bi] = callgrind(t, dir, b.bin)
	}
	for pi, p := range paths {
		fmt.Fprintf(&out, "| %s |", p.name)
		for bi := range builds {
			fmt.Fprintf(&out, " %.2fM |", counts[bi][pi]/1e6)
		}
		fmt.Fprintln(&out)
	}
	fmt.Print(out.String())
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/1e6) }

func msr(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f ms", float64(d)/1e6)
}

func nprocs() int {
	out, _ := exec.Command("nproc").Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// buildBinary builds guildhall from this tree, or from rev in a temporary
// worktree of the repository.
func buildBinary(t *testing.T, dir, name, rev string) string {
	t.Helper()
	bin := filepath.Join(dir, name+"-guildhall")
	src := strings.TrimSpace(run(t, "git", "rev-parse", "--show-toplevel"))
	if rev != "" {
		wt := filepath.Join(dir, "src-"+name)
		run(t, "git", "worktree", "add", "--detach", wt, rev)
		defer run(t, "git", "worktree", "remove", "--force", wt)
		src = wt
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/guildhall")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// server is one `guildhall dev` process on a database of its own.
type server struct {
	name    string
	cmd     *exec.Cmd
	dbURL   string
	base    string
	http    *http.Client
	grpcCtx context.Context
	finance financev1.FinanceServiceClient
	db      *pgx.Conn
	// toReverse are entries written ahead for the reversal path, which
	// takes the next one each time (reversed counts them).
	toReverse []string
	reversed  atomic.Int64
	// toPay are APPROVED expenses written ahead for the expense payment
	// path, which pays the next one each time (paid counts them).
	toPay         []string
	paid          atomic.Int64
	subscriptions []string // names, for the payment paths
	sponsorships  []string
}

func devEnv(dbURL, httpAddr, grpcAddr string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"GUILDHALL_DATABASE_URL=" + dbURL,
		"GUILDHALL_BOOTSTRAP_ADMIN_TOKEN=" + adminToken,
		"GUILDHALL_HTTP_ADDR=" + httpAddr, "GUILDHALL_GRPC_ADDR=" + grpcAddr, "GUILDHALL_METRICS_ADDR=",
		// The default level (info): every request's log line is part of the cost.
		"GUILDHALL_LOG_FORMAT=json",
		"GUILDHALL_MAX_CONNS_PER_CLIENT=0",
	}
}

func start(t *testing.T, name, bin string) *server {
	t.Helper()
	dbURL := pgtest.New(t, nil)
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	logf, err := os.Create(filepath.Join(t.TempDir(), "guildhall.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "dev")
	cmd.Env = devEnv(dbURL, httpAddr, grpcAddr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
	})
	s := &server{name: name, cmd: cmd, dbURL: dbURL, base: "http://" + httpAddr,
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}, Timeout: 30 * time.Second}}
	waitReady(t, s.http, s.base, logf.Name())
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s.finance = financev1.NewFinanceServiceClient(conn)
	s.grpcCtx = metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+adminToken)
	if s.db, err = pgx.Connect(context.Background(), dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.Close(context.Background()) })
	s.prepare(t)
	// Warm up every path (connections, plans, caches).
	for _, p := range paths {
		for i := range 50 {
			if !p.call(s, int64(i)) {
				t.Fatalf("%s: %s fails", name, p.name)
			}
		}
	}
	return s
}

// prepare makes the accounts every path posts to and what the reversal and
// payment paths act on: entries to reverse, straight into the ledger in
// one statement (enough for 2,500 reversals a second over both runs of
// BENCH_SECONDS), as many APPROVED expenses, and the subscriptions and
// sponsorships through the API.
func (s *server) prepare(t *testing.T) {
	t.Helper()
	for _, a := range [][2]string{{"bank", "TYPE_ASSET"}, {"paypal", "TYPE_ASSET"}, {"donations", "TYPE_INCOME"}, {"equity", "TYPE_EQUITY"}, {"hosting", "TYPE_EXPENSE"}} {
		if !s.post("/v1/accounts?accountId="+a[0], `{"displayName":"x","type":"`+a[1]+`","currencyCode":"USD"}`) {
			t.Fatalf("%s: could not create account %s", s.name, a[0])
		}
	}
	ctx := context.Background()
	n := 2*2500*benchenv.Int("BENCH_SECONDS", 8) + 1000
	// The ledger's triggers name finance's tables unqualified.
	if _, err := s.db.Exec(ctx, `SET search_path TO finance`); err != nil {
		t.Fatal(err)
	}
	written := func(what, query string) []string {
		rows, err := s.db.Query(ctx, query, n)
		if err != nil {
			t.Fatalf("%s: %s: %v", s.name, what, err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %s: %v", s.name, what, err)
		}
		return ids
	}
	s.toReverse = written("entries to reverse", entriesToReverse)
	// APPROVED expenses, submitted and approved by others than the admin
	// who pays them, to a payee named as a person (so paying asks
	// membership nothing), as many as there are entries to reverse.
	s.toPay = written("expenses to pay", `
		WITH e AS (
			INSERT INTO finance.expenses (id, payee, category, currency_code, amount, description, state, submitter, required_approvals)
			SELECT gen_random_uuid(), 'people/bench-payee', 'hosting', 'USD', 400, 'bench: to pay', 'approved', 'people/bench-submitter', 1
			FROM generate_series(1, $1)
			RETURNING id),
		ev AS (
			INSERT INTO finance.expense_events (expense_id, seq, action, actor, time, state)
			SELECT e.id, s, (ARRAY['submit', 'approve'])[s], (ARRAY['people/bench-submitter', 'people/bench-approver'])[s], now(),
				(ARRAY['submitted', 'approved'])[s]
			FROM e, generate_series(1, 2) AS s)
		SELECT id::text FROM e`)
	for i := range aheadOfLoad {
		sub := s.create(t, "/v1/subscriptions", fmt.Sprintf(`{"subscriberName":"Load %d","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH","nextDueDate":"2027-01-31"}`, i))
		sp := s.create(t, "/v1/sponsorships", fmt.Sprintf(`{"organisation":"Load %d","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"10000"},"period":"INTERVAL_MONTH"}`, i))
		s.subscriptions, s.sponsorships = append(s.subscriptions, sub), append(s.sponsorships, sp)
	}
}

// drained waits until every service's outbox is empty: the events and
// activity the server's writes queued are delivered.
func (s *server) drained(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	var query string
	if err := s.db.QueryRow(ctx, `SELECT 'SELECT 0' || string_agg(format(' + (SELECT count(*) FROM %I.outbox)', schemaname), '')
		FROM pg_tables WHERE tablename = 'outbox'`).Scan(&query); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int64
		if err := s.db.QueryRow(ctx, query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d outbox messages still undelivered after 2 minutes", s.name, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle vacuums and analyses the server's database, so that no build's
// runs share the machine with upkeep of what was written ahead or by the
// run before, and every run is planned with statistics of the tables as
// they are, as autovacuum keeps them between bursts. Without it, a run
// after one that grew a table from almost nothing used plans made for the
// table's old size: reversals after the payment runs ran the reversal
// trigger's payment lookups as sequential scans, at 2.8 ms a reversal.
func (s *server) settle(t *testing.T) {
	t.Helper()
	if _, err := s.db.Exec(context.Background(), `VACUUM (ANALYZE)`); err != nil {
		t.Fatalf("%s: vacuum: %v", s.name, err)
	}
}

// create posts body to path and returns the created resource's name.
func (s *server) create(t *testing.T, path, body string) string {
	t.Helper()
	status, b, err := s.send(path, body, true)
	var out struct{ Name string }
	if err != nil || status != http.StatusOK || json.Unmarshal(b, &out) != nil || out.Name == "" {
		t.Fatalf("%s: POST %s: %d %s %v", s.name, path, status, b, err)
	}
	return out.Name
}

func waitReady(t *testing.T, c *http.Client, base, log string) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := c.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	b, _ := os.ReadFile(log)
	t.Fatalf("guildhall not ready within 120s:\n%s", b)
}

func (s *server) post(path, body string) bool {
	status, _, err := s.send(path, body, false)
	return err == nil && status == http.StatusOK
}

// send POSTs body to path as the admin, and returns the reply's body when
// keep is set (else it is read and dropped).
func (s *server) send(path, body string, keep bool) (int, []byte, error) {
	req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if !keep {
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// perCommit is how many entries of each source shared a database
// transaction on average (rows of one transaction share its xmin; manual
// entries carry the service clock's create_time, so that cannot tell).
func (s *server) perCommit(t *testing.T) string {
	rows, err := s.db.Query(context.Background(), `SELECT source || CASE WHEN reverses_id IS NULL THEN '' ELSE ' reversal' END, count(*)::float8 / count(DISTINCT xmin::text)
		FROM finance.transactions WHERE description <> 'bench: to reverse' GROUP BY 1 ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var src string
		var n float64
		if err := rows.Scan(&src, &n); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s %.1f", src, n))
	}
	return strings.Join(parts, ", ")
}

// cpu is the user+system CPU time the Guildhall process has spent.
func (s *server) cpu() time.Duration { return procCPU(s.cmd.Process.Pid) }

// backendCPU is CPU time by the backends' application_name.
type backendCPU map[string]time.Duration

func (b backendCPU) total() time.Duration {
	var d time.Duration
	for _, v := range b {
		d += v
	}
	return d
}

// byApp lists per-request CPU by application_name, largest first.
func byApp(m map[string]time.Duration) string {
	apps := make([]string, 0, len(m))
	for a := range m {
		apps = append(apps, a)
	}
	sort.Slice(apps, func(i, j int) bool { return m[apps[i]] > m[apps[j]] })
	parts := make([]string, 0, len(apps))
	for _, a := range apps {
		if m[a] > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", a, ms(m[a])))
		}
	}
	return strings.Join(parts, ", ")
}

// pgCPU is the CPU time spent by every PostgreSQL backend connected to the
// server's database (the test runs on the database's machine), by the
// backend's application_name (each service's pool names itself).
func (s *server) pgCPU(t *testing.T) backendCPU {
	rows, err := s.db.Query(context.Background(), `SELECT pid, application_name FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		t.Fatal(err)
	}
	type backend struct {
		PID int32
		App string
	}
	backends, err := pgx.CollectRows(rows, pgx.RowToStructByPos[backend])
	if err != nil {
		t.Fatal(err)
	}
	d := backendCPU{}
	for _, b := range backends {
		d[cmp.Or(b.App, "other")] += procCPU(int(b.PID))
	}
	return d
}

func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// After the command name: utime and stime are the 12th and 13th fields.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond // USER_HZ = 100
}

// rss reads a VmRSS/VmHWM line of the process's status, in MB.
func (s *server) rss(field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1000
		}
	}
	return 0
}

type loadResult struct {
	rate       float64
	ok, failed int64
	lat        []time.Duration
}

func (r loadResult) pct(q int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, len(r.lat)*q/100)]
}

// closedLoop runs clients callers back to back for d.
func closedLoop(s *server, p path, clients int, d time.Duration) loadResult {
	var ok, failed, seq atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if p.call(s, seq.Add(1)) {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return loadResult{rate: float64(ok.Load()) / d.Seconds(), ok: ok.Load(), failed: failed.Load()}
}

// openLoop sends rate requests a second for d, each at its scheduled time
// whatever the earlier ones do, and measures latency from that time (so a
// server that falls behind shows it).
func openLoop(s *server, p path, rate float64, d time.Duration) loadResult {
	n := int(rate * d.Seconds())
	lat := make([]time.Duration, n)
	okv := make([]bool, n)
	begin := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		at := begin.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		time.Sleep(time.Until(at))
		wg.Go(func() {
			okv[i] = p.call(s, int64(i))
			lat[i] = time.Since(at)
		})
	}
	wg.Wait()
	took := time.Since(begin)
	var r loadResult
	for i := range n {
		if okv[i] {
			r.ok++
			r.lat = append(r.lat, lat[i])
		} else {
			r.failed++
		}
	}
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	r.rate = float64(r.ok) / took.Seconds()
	return r
}

// pgbenchInsert runs pgbench's single-row insert at clients connections,
// as fast as it goes (rate 0) or at rate transactions a second, and
// returns the rate achieved and the CPU time its backends spent per
// transaction (from /proc, read every 20 ms while they run: what a backend
// spends in its last 20 ms is not counted, under 1% of a run).
func pgbenchInsert(t *testing.T, url string, clients, seconds int, rate float64) (float64, time.Duration) {
	t.Helper()
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Fatal("pgbench not found: apt-get install -y postgresql-client")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS bench_scratch (id bigserial PRIMARY KEY, v int NOT NULL, t timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "insert.sql")
	_ = os.WriteFile(script, []byte("INSERT INTO bench_scratch (v) VALUES (:client_id);\n"), 0o644)
	args := []string{"-n", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(seconds), "-f", script}
	if rate > 0 {
		args = append(args, "-R", strconv.Itoa(int(rate)))
	}
	var out bytes.Buffer
	cmd := exec.Command(pgbench, append(args, url)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// pgbench's backends, once all have connected, and each one's CPU as
	// last read.
	cpu := map[int]time.Duration{}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for err = nil; ; {
		select {
		case err = <-done:
		case <-tick.C:
			if len(cpu) < clients {
				rows, qerr := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`)
				if qerr != nil {
					t.Fatal(qerr)
				}
				pids, qerr := pgx.CollectRows(rows, pgx.RowTo[int32])
				if qerr != nil {
					t.Fatal(qerr)
				}
				for _, pid := range pids {
					if _, ok := cpu[int(pid)]; !ok {
						cpu[int(pid)] = 0
					}
				}
			}
			for pid := range cpu {
				if d := procCPU(pid); d > 0 {
					cpu[pid] = d
				}
			}
			continue
		}
		break
	}
	if err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out.Bytes())
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out.Bytes())
	n := regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`).FindSubmatch(out.Bytes())
	if m == nil || n == nil {
		t.Fatalf("no tps in pgbench output:\n%s", out.Bytes())
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	txns, _ := strconv.ParseFloat(string(n[1]), 64)
	var total time.Duration
	for _, d := range cpu {
		total += d
	}
	return tps, time.Duration(float64(total) / txns)
}

// callgrindRequests is how many requests of each path callgrind counts.
const callgrindRequests = 100

// callgrind counts the instructions the Guildhall process executes per
// request of each path: it runs under valgrind (Go's asynchronous
// preemption off: callgrind cannot follow its signals), counters are zeroed
// after a warm-up and dumped after callgrindRequests sequential requests.
func callgrind(t *testing.T, dir, bin string) []float64 {
	t.Helper()
	dbURL := pgtest.New(t, nil)
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	outFile := filepath.Join(dir, fmt.Sprintf("callgrind.%d.out", time.Now().UnixNano()))
	logf, _ := os.Create(outFile + ".log")
	defer logf.Close()
	cmd := exec.Command("valgrind", "--tool=callgrind", "--callgrind-out-file="+outFile, bin, "dev")
	// callgrind follows neither Go's preemption signals nor every
	// instruction the runtime picks by CPUID: RDTSCP (runtime.cputicks
	// stops on SIGILL) and AVX-512 (the garbage collector's scanning) are
	// turned off, as the GODEBUG cpu.* options allow.
	cmd.Env = append(devEnv(dbURL, httpAddr, grpcAddr), "GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off,cpu.avx512f=off")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	s := &server{name: "callgrind run", cmd: cmd, base: "http://" + httpAddr, http: &http.Client{Timeout: 120 * time.Second}}
	waitReady(t, s.http, s.base, logf.Name())
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s.finance = financev1.NewFinanceServiceClient(conn)
	s.grpcCtx = metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+adminToken)
	if s.db, err = pgx.Connect(context.Background(), dbURL); err != nil {
		t.Fatal(err)
	}
	defer s.db.Close(context.Background())
	s.prepare(t)
	pid := strconv.Itoa(cmd.Process.Pid)
	summary := regexp.MustCompile(`(?m)^summary: (\d+)`)
	var out []float64
	for pi, p := range paths {
		for i := range 20 {
			p.call(s, int64(i))
		}
		run(t, "callgrind_control", "--zero", pid)
		for i := range callgrindRequests {
			if !p.call(s, int64(i)) {
				b, _ := os.ReadFile(logf.Name())
				t.Fatalf("callgrind run: %s failed; log:\n%s", p.name, b[max(0, len(b)-3000):])
			}
		}
		run(t, "callgrind_control", "--dump=path"+strconv.Itoa(pi), pid)
		// The dump since the zeroing is the newest file.
		files, _ := filepath.Glob(outFile + ".*")
		var newest string
		var newestTime time.Time
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && !strings.HasSuffix(f, ".log") && st.ModTime().After(newestTime) {
				newest, newestTime = f, st.ModTime()
			}
		}
		b, _ := os.ReadFile(newest)
		m := summary.FindSubmatch(b)
		if m == nil {
			t.Fatalf("no summary in callgrind dump %s", newest)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		out = append(out, v/callgrindRequests)
	}
	return out
}
