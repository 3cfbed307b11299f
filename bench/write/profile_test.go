package write_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/guildhall/guildhall/app/apptest"
)

// TestProfile writes CPU and allocation profiles of Guildhall serving REST
// donations (or BENCH_PROFILE_PATH=transactions: manual entries,
// subscriptions: subscription payments, reversals: reversals) from 32
// connections, in this process, into the directory BENCH_PROFILE names:
//
//	BENCH_PROFILE=/tmp/prof go test -count=1 -run TestProfile ./bench/write/
//	go tool pprof -top -focus 'guildhall|grpc|runtime/pprof' /tmp/prof/cpu.pprof
//
// The load generator shares the process: read its frames (net/http's
// client) apart.
func TestProfile(t *testing.T) {
	dir := os.Getenv("BENCH_PROFILE")
	if dir == "" {
		t.Skip("set BENCH_PROFILE=<directory> to write profiles")
	}
	// Info-level JSON logs, as in production, so that logging is costed.
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.InfoLevel))
	env := apptest.StartWith(t, apptest.Extras{Log: log})
	admin := env.WithToken(apptest.AdminToken)
	for _, a := range [][2]string{{"bank", "TYPE_ASSET"}, {"paypal", "TYPE_ASSET"}, {"donations", "TYPE_INCOME"}, {"equity", "TYPE_EQUITY"}} {
		if res := admin.Do(t, "POST", "/v1/accounts?accountId="+a[0], `{"displayName":"x","type":"`+a[1]+`","currencyCode":"USD"}`); res.Status != 200 {
			t.Fatalf("account: %s", res.Body)
		}
	}
	body := `{"amount":{"currencyCode":"USD","minorUnits":"100"},"donorName":"Load","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL"}`
	url := func() string { return "/v1/donations?requestId=" + uuid.NewString() }
	switch os.Getenv("BENCH_PROFILE_PATH") {
	case "transactions":
		body = `{"description":"load","postings":[{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"100"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-100"}}]}`
		url = func() string { return "/v1/transactions?requestId=" + uuid.NewString() }
	case "subscriptions":
		var subs []string
		for i := range aheadOfLoad {
			res := admin.Do(t, "POST", "/v1/subscriptions", fmt.Sprintf(`{"subscriberName":"Load %d","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH","nextDueDate":"2027-01-31"}`, i))
			if res.Status != 200 {
				t.Fatalf("subscription: %s", res.Body)
			}
			subs = append(subs, res.JSON(t)["name"].(string))
		}
		var n atomic.Int64
		body = "" // the request id goes in the body: a :recordPayment takes no query
		url = func() string { return "/v1/" + subs[n.Add(1)%int64(len(subs))] + ":recordPayment" }
	case "reversals":
		// Entries to reverse, straight into the ledger (as TestWrite's).
		db := env.DB(t, "finance")
		if _, err := db.Exec(context.Background(), `SET search_path TO finance`); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(context.Background(), entriesToReverse, 40000)
		if err != nil {
			t.Fatal(err)
		}
		entries, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		// As TestWrite settles after writing ahead: without it, the first
		// read of each entry wrote its hint bits, and the profile showed
		// that instead of reversals.
		if _, err := db.Exec(context.Background(), `VACUUM (ANALYZE)`); err != nil {
			t.Fatal(err)
		}
		var n atomic.Int64
		body = ""
		url = func() string { return "/v1/transactions/" + entries[n.Add(1)-1] + ":reverse" }
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	load := func(d time.Duration) int {
		var mu sync.Mutex
		n := 0
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					b := body
					if b == "" {
						b = `{"requestId":"` + uuid.NewString() + `"}`
					}
					req, _ := http.NewRequest("POST", env.BaseURL+url(), strings.NewReader(b))
					req.Header.Set("Authorization", "Bearer "+apptest.AdminToken)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("status %d", resp.StatusCode)
						return
					}
					mu.Lock()
					n++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return n
	}
	load(2 * time.Second) // warm-up
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	runtime.MemProfileRate = 64 << 10
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	n := load(10 * time.Second)
	pprof.StopCPUProfile()
	f.Close()
	a, err := os.Create(filepath.Join(dir, "allocs.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := pprof.Lookup("allocs").WriteTo(a, 0); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests profiled (%.0f/s); profiles in %s", n, float64(n)/10, dir)
}
