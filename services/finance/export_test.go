package finance_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
)

// loadLedger bulk-inserts n balanced two-posting entries spread over 2026
// straight into the tables (the triggers still check and accumulate).
func loadLedger(t testing.TB, env *apptest.Env, n int) {
	t.Helper()
	db := env.DB(t, "finance")
	ctx := context.Background()
	const batch = 25000
	for done := 0; done < n; done += batch {
		k := min(batch, n-done)
		_, err := db.Exec(ctx, `
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
			FROM t CROSS JOIN (VALUES (1), (2)) s(seq)`, done, done+k-1)
		if err != nil {
			t.Fatal(err)
		}
	}
}

type exportResult struct {
	rows    int
	perAcct map[string]int64
}

// export reads the CSV export, checking each running balance as it goes.
func export(t testing.TB, env *apptest.Env, query string) exportResult {
	t.Helper()
	req, _ := http.NewRequest("GET", env.BaseURL+"/v1/transactions:export"+query, nil)
	req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
	resp, err := env.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("export: HTTP %d %s", resp.StatusCode, b)
	}
	r := csv.NewReader(resp.Body)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil || head[8] != "account_balance_minor_units" {
		t.Fatalf("header %v %v", head, err)
	}
	res := exportResult{perAcct: map[string]int64{}}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("row %d: %v", res.rows, err)
		}
		amt, _ := strconv.ParseInt(rec[7], 10, 64)
		bal, _ := strconv.ParseInt(rec[8], 10, 64)
		res.perAcct[rec[5]] += amt
		if bal != res.perAcct[rec[5]] && query == "" {
			t.Fatalf("row %d: running balance %d, expected %d", res.rows, bal, res.perAcct[rec[5]])
		}
		res.rows++
	}
	return res
}

func TestExportLargeLedger(t *testing.T) {
	f := start(t)
	loadLedger(t, f.env, 25000) // 50,000 postings
	f.checkLedger(t)
	res := export(t, f.env, "")
	if res.rows != 50000 {
		t.Fatalf("%d rows, want 50000", res.rows)
	}
	var total int64
	for _, v := range res.perAcct {
		total += v
	}
	if total != 0 {
		t.Errorf("export sums to %d", total)
	}
	// A window starts from the opening balances at its first day.
	var want int
	_ = f.env.DB(t, "finance").QueryRow(context.Background(), `SELECT count(*) FROM postings p JOIN transactions t ON t.id = p.transaction_id
		WHERE t.effective_time >= '2026-01-10' AND t.effective_time < '2026-01-15'`).Scan(&want)
	if got := export(t, f.env, "?from=2026-01-10&to=2026-01-15").rows; got != want {
		t.Errorf("window: %d rows, want %d", got, want)
	}
	raw := f.admin.Do(t, "GET", "/v1/transactions:export?from=2026-02-01&to=2026-03-01", "")
	if bytes.Contains(raw.Body, []byte("\n\n")) || !bytes.HasSuffix(raw.Body, []byte("\n")) || !strings.HasPrefix(raw.Header.Get("Content-Type"), "text/csv") {
		t.Errorf("export is not clean CSV (%s): blank lines or no final newline", raw.Header.Get("Content-Type"))
	}
	if res := f.env.WithToken(f.actors.Member).Do(t, "GET", "/v1/transactions:export", ""); res.Status != http.StatusForbidden {
		t.Errorf("export by a plain member: %d", res.Status)
	}
}

// BenchmarkExport reports rows/s and how much the heap grows while a 100,000
// posting export streams: it should not grow with the ledger.
func BenchmarkExport(b *testing.B) {
	env := apptest.Start(b)
	for _, a := range chart {
		env.WithToken(apptest.AdminToken).Do(b, "POST", "/v1/accounts?accountId="+a.id, `{"displayName":"x","type":"`+a.typ+`","currencyCode":"USD"}`)
	}
	loadLedger(b, env, 50000)
	b.ResetTimer()
	var peak uint64
	for i := 0; i < b.N; i++ {
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		stop := make(chan struct{})
		done := make(chan uint64)
		go func() {
			var m runtime.MemStats
			var p uint64
			for {
				select {
				case <-stop:
					done <- p
					return
				default:
				}
				runtime.ReadMemStats(&m)
				p = max(p, m.HeapInuse)
				runtime.Gosched()
			}
		}()
		res := export(b, env, "")
		close(stop)
		p := <-done
		peak = max(peak, p-min(p, before.HeapInuse))
		if res.rows != 100000 {
			b.Fatalf("%d rows", res.rows)
		}
	}
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-growth-MiB")
}
