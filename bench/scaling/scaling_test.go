// Package scaling_test measures the figures docs/scaling.md is built on: how
// reads (the transparency reports) and writes (donations) share one
// PostgreSQL, what a donation costs in storage and connections, and what
// tracing costs. It only runs when asked:
//
//	GUILDHALL_BENCH=1 go test -count=1 -v -run TestScaling ./bench/scaling
//	# knobs: BENCH_SECONDS=5 BENCH_WRITERS=16 BENCH_READERS=16
package scaling_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
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
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/bench/benchenv"
	"github.com/guildhall/guildhall/internal/telemetry"
)

const donation = `{"amount":{"currencyCode":"USD","minorUnits":"100"},"donorName":"Load","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL"}`

var reads = []string{
	"/v1/reports/monthly:range?from=2026-01&to=2026-12", // the transparency chart
	"/v1/reports/monthly?month=2026-11",
	"/v1/accounts/paypal",
}

type result struct {
	ok, failed int64
	lat        []time.Duration
}

func (r *result) p(q int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, len(r.lat)*q/100)].Round(10 * time.Microsecond)
}

// load runs n clients calling do until d has passed.
func load(n int, d time.Duration, do func(c *http.Client, i int) bool) *result {
	var r result
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	var ok, failed atomic.Int64
	for w := range n {
		wg.Go(func() {
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			var mine []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				s := time.Now()
				if do(c, w*1_000_000+i) {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
				mine = append(mine, time.Since(s))
			}
			mu.Lock()
			r.lat = append(r.lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	r.ok, r.failed = ok.Load(), failed.Load()
	sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
	return &r
}

func call(c *http.Client, method, url, body string) bool {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

func TestScaling(t *testing.T) {
	benchenv.Require(t, "the scaling figures")
	secs := time.Duration(benchenv.Int("BENCH_SECONDS", 5)) * time.Second
	writers, readers := benchenv.Int("BENCH_WRITERS", 16), benchenv.Int("BENCH_READERS", 16)

	env := apptest.Start(t)
	admin := env.WithToken(apptest.AdminToken)
	for _, a := range [][2]string{{"paypal", "TYPE_ASSET"}, {"donations", "TYPE_INCOME"}} {
		if res := admin.Do(t, "POST", "/v1/accounts?accountId="+a[0], `{"displayName":"x","type":"`+a[1]+`","currencyCode":"USD"}`); res.Status != 200 {
			t.Fatalf("account: %s", res.Body)
		}
	}
	write := func(c *http.Client, _ int) bool {
		return call(c, "POST", env.BaseURL+"/v1/donations?requestId="+uuid.NewString(), donation)
	}
	read := func(c *http.Client, i int) bool { return call(c, "GET", env.BaseURL+reads[i%len(reads)], "") }

	db := env.DB(t, "finance")
	// cpu runs f and returns its result with the CPU seconds the database
	// (every backend of this test's database) and this process spent.
	type cost struct{ pg, app float64 }
	cpu := func(f func() *result) (*result, cost) {
		pg0, app0 := pgCPU(t, db), selfCPU()
		r := f()
		return r, cost{pgCPU(t, db) - pg0, selfCPU() - app0}
	}
	// Warm up, then each load alone, then both at once.
	load(4, time.Second, write)
	load(4, time.Second, read)
	wAlone, wCost := cpu(func() *result { return load(writers, secs, write) })
	rAlone, rCost := cpu(func() *result { return load(readers, secs, read) })
	perRead := map[string]cost{}
	perReadN := map[string]int64{}
	for _, path := range reads {
		r, c := cpu(func() *result {
			return load(readers, secs/2, func(c *http.Client, _ int) bool { return call(c, "GET", env.BaseURL+path, "") })
		})
		perRead[path], perReadN[path] = c, r.ok
	}
	var wMixed, rMixed *result
	var wg sync.WaitGroup
	wg.Go(func() { wMixed = load(writers, secs, write) })
	wg.Go(func() { rMixed = load(readers, secs, read) })
	// Connections the three services hold on the database while both run.
	var backends int
	time.Sleep(secs / 2)
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()`).Scan(&backends); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	rate := func(r *result) float64 { return float64(r.ok) / secs.Seconds() }
	fmt.Printf("\nScaling figures (%d writers, %d readers, %s each; GOMAXPROCS %s)\n", writers, readers, secs, os.Getenv("GOMAXPROCS"))
	fmt.Printf("| load | writes/s | write p50 / p99 | reads/s | read p50 / p99 | failed |\n|---|---|---|---|---|---|\n")
	fmt.Printf("| donations alone | %.0f | %s / %s | | | %d |\n", rate(wAlone), wAlone.p(50), wAlone.p(99), wAlone.failed)
	fmt.Printf("| reports alone | | | %.0f | %s / %s | %d |\n", rate(rAlone), rAlone.p(50), rAlone.p(99), rAlone.failed)
	fmt.Printf("| both at once | %.0f | %s / %s | %.0f | %s / %s | %d |\n", rate(wMixed), wMixed.p(50), wMixed.p(99),
		rate(rMixed), rMixed.p(50), rMixed.p(99), wMixed.failed+rMixed.failed)
	ms := func(sec float64, n int64) string { return fmt.Sprintf("%.2f ms", 1000*sec/float64(max(n, 1))) }
	fmt.Printf("CPU per request (PostgreSQL backends / the guildhall process, which also runs the load clients):\n")
	fmt.Printf("  donation: %s / %s\n", ms(wCost.pg, wAlone.ok), ms(wCost.app, wAlone.ok))
	fmt.Printf("  read mix: %s / %s\n", ms(rCost.pg, rAlone.ok), ms(rCost.app, rAlone.ok))
	for _, path := range reads {
		fmt.Printf("  GET %s: %s / %s (%d requests)\n", path, ms(perRead[path].pg, perReadN[path]), ms(perRead[path].app, perReadN[path]), perReadN[path])
	}
	fmt.Printf("database connections held while both ran: %d (pools of GUILDHALL_DB_MAX_CONNS per service)\n", backends)

	// Storage per donation: everything in the finance schema, over the
	// entries written.
	var bytes, entries, postings int64
	if err := db.QueryRow(context.Background(), `SELECT
		(SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		  WHERE n.nspname = 'finance' AND c.relkind IN ('r', 'p')),
		(SELECT count(*) FROM transactions), (SELECT count(*) FROM postings)`).Scan(&bytes, &entries, &postings); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("finance schema: %.1f MiB for %d entries (%d postings): %.0f bytes per donation, all tables and indexes\n",
		float64(bytes)/(1<<20), entries, postings, float64(bytes)/float64(entries))

	// Tracing: the same read with tracing off and on (in-memory exporter).
	tracingCost(t)
}

// pgCPU is the user+system CPU seconds of every backend connected to db's
// database, from /proc (the test runs on the database's machine).
func pgCPU(t *testing.T, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}) float64 {
	rows, err := db.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	var ticks float64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // ended meanwhile, or another machine
		}
		// Fields after the command name: state is 3rd, utime 14th, stime 15th.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		u, _ := strconv.ParseFloat(f[11], 64)
		s, _ := strconv.ParseFloat(f[12], 64)
		ticks += u + s
	}
	return ticks / 100 // USER_HZ
}

func selfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func tracingCost(t *testing.T) {
	off := apptest.Start(t)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	on := apptest.StartTraced(t, telemetry.WithProvider(tp))
	measure := func(env *apptest.Env) *result {
		c := &http.Client{}
		var r result
		for i := range 600 {
			s := time.Now()
			if !call(c, "GET", env.BaseURL+"/v1/accounts?pageSize=10", "") {
				t.Fatal("read failed")
			}
			if i >= 100 { // warm-up
				r.lat = append(r.lat, time.Since(s))
			}
		}
		sort.Slice(r.lat, func(i, j int) bool { return r.lat[i] < r.lat[j] })
		return &r
	}
	// Interleave runs so both see the same machine load.
	var a, b []time.Duration
	for range 3 {
		a = append(a, measure(off).lat...)
		b = append(b, measure(on).lat...)
	}
	ra, rb := &result{lat: a}, &result{lat: b}
	sort.Slice(ra.lat, func(i, j int) bool { return ra.lat[i] < ra.lat[j] })
	sort.Slice(rb.lat, func(i, j int) bool { return rb.lat[i] < rb.lat[j] })
	fmt.Printf("GET /v1/accounts, one client, 1,500 calls each: tracing off p50 %s p99 %s; on (every span recorded) p50 %s p99 %s\n",
		ra.p(50), ra.p(99), rb.p(50), rb.p(99))
}
