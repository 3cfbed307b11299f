// Package finance_test is the finance load run: the donation write path
// against pgbench on the same server, then the report, balance and export
// figures over a ledger of 1,000,000 postings. It only runs when asked:
//
//	GUILDHALL_BENCH=1 go test -count=1 -run Load -v -timeout 30m ./bench/finance
//
// REST load comes from wrk (donations.lua) when it is installed, a C client
// like pgbench, and also from Go's own HTTP client in this process.
package finance_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/bench/benchenv"
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/services/finance"
)

func TestLoad(t *testing.T) {
	benchenv.Require(t, "the finance load run")
	seconds := benchenv.Int("BENCH_SECONDS", 10)
	clients := benchenv.Int("BENCH_CLIENTS", 32)
	postings := benchenv.Int("BENCH_POSTINGS", 1_000_000)

	env := apptest.Start(t)
	admin := env.WithToken(apptest.AdminToken)
	for _, a := range [][2]string{{"bank", "TYPE_ASSET"}, {"paypal", "TYPE_ASSET"}, {"donations", "TYPE_INCOME"},
		{"subscriptions", "TYPE_INCOME"}, {"hosting", "TYPE_EXPENSE"}} {
		if res := admin.Do(t, "POST", "/v1/accounts?accountId="+a[0], `{"displayName":"x","type":"`+a[1]+`","currencyCode":"USD"}`); res.Status != 200 {
			t.Fatalf("account: %s", res.Body)
		}
	}
	balanceEmpty := latencies(t, 200, func() { get(t, env, "/v1/accounts/paypal") })

	// (1) Donations through REST: gateway, gRPC, auth, validation,
	// idempotency, ledger. wrk first, as pgbench is a C client too.
	wrkRate, wrkErrors := -1.0, ""
	if wrk, err := exec.LookPath("wrk"); err == nil {
		out, err := exec.Command(wrk, "-t2", "-c"+strconv.Itoa(clients), "-d"+strconv.Itoa(seconds)+"s", "-s", "donations.lua",
			env.BaseURL, "--", apptest.AdminToken).CombinedOutput()
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("no rate in wrk output:\n%s", out)
		}
		wrkRate, _ = strconv.ParseFloat(string(m[1]), 64)
		if m := regexp.MustCompile(`(Non-2xx.*|Socket errors.*)`).FindAll(out, -1); m != nil {
			wrkErrors = string(bytes.Join(m, []byte("; ")))
			t.Errorf("wrk saw failures: %s", wrkErrors)
		}
	} else {
		t.Log("wrk not found (apt-get install -y wrk): REST load from Go's client only")
	}
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var ok, failed atomic.Int64
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				body := fmt.Sprintf(`{"amount":{"currencyCode":"USD","minorUnits":"%d"},"donorName":"Load","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL"}`, 100+c)
				req, _ := http.NewRequest("POST", env.BaseURL+"/v1/donations?requestId="+uuid.NewString(), stringsReader(body))
				req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	donationRate := float64(ok.Load()) / float64(seconds)
	db := env.DB(t, "finance")
	ctx := context.Background()
	// Rows written by one statement share its transaction's start time.
	var perCommit float64
	if err := db.QueryRow(ctx, `SELECT count(*)::float8 / greatest(count(DISTINCT create_time), 1) FROM transactions`).Scan(&perCommit); err != nil {
		t.Fatal(err)
	}

	// (1b) The same over gRPC, without the gateway, to see where time goes.
	fc := financev1.NewFinanceServiceClient(env.Conn)
	gctx := apptest.Outgoing(context.Background(), apptest.AdminToken)
	var grpcOK atomic.Int64
	deadline = time.Now().Add(time.Duration(seconds) * time.Second)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				_, err := fc.CreateDonation(gctx, &financev1.CreateDonationRequest{RequestId: uuid.NewString(), Donation: &financev1.Donation{
					Amount: &typev1.Money{CurrencyCode: "USD", MinorUnits: 100}, DonorName: "Load",
					Visibility: financev1.Donation_VISIBILITY_PUBLIC, Channel: financev1.Donation_CHANNEL_PAYPAL}})
				if err == nil {
					grpcOK.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	grpcRate := float64(grpcOK.Load()) / float64(seconds)

	// (2) pgbench: a single-row insert at the same concurrency on the same server.
	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Fatal("pgbench not found: apt-get install -y postgresql-client (or postgresql-contrib)")
	}
	if _, err := db.Exec(ctx, `CREATE TABLE public.bench_scratch (id bigserial PRIMARY KEY, v int NOT NULL, t timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "insert.sql")
	_ = os.WriteFile(script, []byte("INSERT INTO public.bench_scratch (v) VALUES (:client_id);\n"), 0o644)
	out, err := exec.Command(pgbench, "-n", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(seconds), "-f", script, env.DatabaseURL).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no tps in pgbench output:\n%s", out)
	}
	pgTPS, _ := strconv.ParseFloat(string(m[1]), 64)

	// (2b) The database alone writing donations as the service does: the
	// same inserts and triggers, in batches of the size the REST run made,
	// from as many writers as the service uses. The ceiling for this path.
	batch := max(1, int(perCommit+0.5))
	ledgerScript := filepath.Join(t.TempDir(), "donations.sql")
	_ = os.WriteFile(ledgerScript, []byte(fmt.Sprintf(`WITH items AS (SELECT gen_random_uuid() AS rid, gen_random_uuid() AS tid, gen_random_uuid() AS did FROM generate_series(1, %d)),
k AS (INSERT INTO idempotency_keys (caller, request_id, method, request_hash, response) SELECT 'people/bench', rid, 'bench', '\x00', '\x00' FROM items ORDER BY rid ON CONFLICT DO NOTHING RETURNING request_id),
go AS (SELECT items.* FROM items JOIN k ON k.request_id = items.rid),
t AS (INSERT INTO transactions (id, description, effective_time, source) SELECT tid, 'd', now(), 'donation' FROM go),
p AS (INSERT INTO postings (transaction_id, seq, account_id, currency_code, amount) SELECT go.tid, u.ord, u.a, 'USD', u.m FROM go, unnest(ARRAY['paypal','donations'], ARRAY[100,-100]::bigint[]) WITH ORDINALITY u(a, m, ord)),
d AS (INSERT INTO donations (id, currency_code, amount, visibility, channel, receive_time, transaction_id) SELECT did, 'USD', 100, 'public', 'paypal', now(), tid FROM go)
SELECT count(*) FROM go;
`, batch)), 0o644)
	writers := strconv.Itoa(finance.DonationWriters)
	cmd := exec.Command(pgbench, "-n", "-c", writers, "-j", writers, "-T", strconv.Itoa(seconds), "-f", ledgerScript, env.DatabaseURL)
	cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path=finance")
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench (donation batches): %v\n%s", err, out)
	}
	m = regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	batchTPS, _ := strconv.ParseFloat(string(m[1]), 64)
	sqlRate := batchTPS * float64(batch)

	// (3) A ledger of `postings` postings, bulk-loaded and balanced.
	start := time.Now()
	const chunk = 50000
	entries := postings / 2
	for done := 0; done < entries; done += chunk {
		k := min(chunk, entries-done)
		if _, err := db.Exec(ctx, `
			WITH t AS (
				INSERT INTO transactions (id, effective_time, source, description)
				SELECT gen_random_uuid(), timestamptz '2026-01-01' + ((i::bigint * 7919) % 518400) * interval '1 minute',
					(ARRAY['donation','expense','subscription'])[1 + i % 3], 'bulk ' || i
				FROM generate_series($1::int, $2::int) i
				RETURNING id, source)
			INSERT INTO postings (transaction_id, seq, account_id, currency_code, amount)
			SELECT t.id, s.seq,
				CASE WHEN t.source = 'expense' THEN (ARRAY['hosting','bank'])[s.seq]
				     WHEN t.source = 'donation' THEN (ARRAY['paypal','donations'])[s.seq]
				     ELSE (ARRAY['bank','subscriptions'])[s.seq] END,
				'USD', CASE WHEN s.seq = 1 THEN 1234 ELSE -1234 END
			FROM t CROSS JOIN (VALUES (1), (2)) s(seq)`, done, done+k-1); err != nil {
			t.Fatal(err)
		}
	}
	load := time.Since(start)
	_, _ = db.Exec(ctx, `ANALYZE`)
	var total int64
	_ = db.QueryRow(ctx, `SELECT count(*) FROM postings`).Scan(&total)

	report := latencies(t, 300, func() { get(t, env, "/v1/reports/monthly?month=2026-06") })
	rangeLat := latencies(t, 20, func() { get(t, env, "/v1/reports/monthly:range?from=2026-01&to=2026-12") })
	balanceFull := latencies(t, 300, func() { get(t, env, "/v1/accounts/paypal") })

	// (4) The export: rows/s and the process's peak heap while it streams.
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	exStart := time.Now()
	rows := exportRows(t, env)
	exDur := time.Since(exStart)
	close(stop)
	<-sampled

	t.Logf("finance load run (%d clients, %ds, %d CPUs)", clients, seconds, runtime.NumCPU())
	rest, by := donationRate, "Go's HTTP client"
	if wrkRate >= 0 {
		rest, by = wrkRate, "wrk"
		t.Logf("  donations via REST (wrk):  %8.0f req/s", wrkRate)
	}
	t.Logf("  donations via REST (Go):   %8.0f req/s (%d ok, %d failed; the client shares this process)", donationRate, ok.Load(), failed.Load())
	t.Logf("  donations per commit:      %8.1f (group commit, over both REST runs)", perCommit)
	t.Logf("  donations via gRPC:        %8.0f req/s (no gateway)", grpcRate)
	t.Logf("  pgbench single-row insert: %8.0f tps", pgTPS)
	t.Logf("  pgbench, donations alone:  %8.0f donations/s (%d writers, batches of %d: the database's ceiling for this path)", sqlRate, finance.DonationWriters, batch)
	t.Logf("  ratio:                     %8.1f%% (REST via %s / pgbench insert; target >= 50%%)", 100*rest/pgTPS, by)
	t.Logf("  ledger: %d postings loaded in %s", total, load.Round(time.Second))
	t.Logf("  monthly report:            p50 %s  p99 %s (target p50 <= 10ms)", report.p(50), report.p(99))
	t.Logf("  12-month range:            p50 %s  p99 %s", rangeLat.p(50), rangeLat.p(99))
	t.Logf("  balance read, empty:       p50 %s  p99 %s", balanceEmpty.p(50), balanceEmpty.p(99))
	t.Logf("  balance read, full ledger: p50 %s  p99 %s", balanceFull.p(50), balanceFull.p(99))
	t.Logf("  export: %d rows in %s = %.0f rows/s; heap in use %.1f MiB before, peak %.1f MiB",
		rows, exDur.Round(time.Millisecond), float64(rows)/exDur.Seconds(), mib(before.HeapInuse), mib(peak.Load()))
	if rows != int(total) {
		t.Errorf("export has %d rows, ledger %d postings", rows, total)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

type lat []time.Duration

func (l lat) p(q int) time.Duration {
	return l[min(len(l)-1, len(l)*q/100)].Round(10 * time.Microsecond)
}

func latencies(t *testing.T, n int, f func()) lat {
	out := make(lat, n)
	for i := range out {
		s := time.Now()
		f()
		out[i] = time.Since(s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func get(t *testing.T, env *apptest.Env, path string) {
	if res := env.Do(t, "GET", path, ""); res.Status != 200 {
		t.Fatalf("GET %s: %d %s", path, res.Status, res.Body)
	}
}

func exportRows(t *testing.T, env *apptest.Env) int {
	req, _ := http.NewRequest("GET", env.BaseURL+"/v1/transactions:export", nil)
	req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := csv.NewReader(resp.Body)
	r.ReuseRecord = true
	n := -1 // header
	for {
		_, err := r.Read()
		if err == io.EOF {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
}
