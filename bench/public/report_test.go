// Package public measures GET /v1/transparencyReport through the real
// gateway on the SME seed, with the report cache off and on. Test code only;
// see bench/README.md.
package public

import (
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/actas"
	"github.com/guildhall/guildhall/services/finance"
	"github.com/guildhall/guildhall/services/membership"
	"github.com/guildhall/guildhall/services/roadmap"
)

// TestLoadTransparencyReport prints p50 and p99 of anonymous GETs of the
// report over GUILDHALL_BENCH_REQUESTS requests (default 200), once with
// the cache off (every request assembles the report from the three
// services) and once with the configured cache. It runs only when
// GUILDHALL_BENCH=1. The SME seeds use fixed names, so the data is the
// seed once, not a multiple of it.
func TestLoadTransparencyReport(t *testing.T) {
	if os.Getenv("GUILDHALL_BENCH") != "1" {
		t.Skip("set GUILDHALL_BENCH=1 to run the transparency report benchmark")
	}
	n := 200
	if v, err := strconv.Atoi(os.Getenv("GUILDHALL_BENCH_REQUESTS")); err == nil && v > 0 {
		n = v
	}
	for _, c := range []struct {
		name  string
		cache bool
	}{{"no cache", false}, {"cache", true}} {
		t.Run(c.name, func(t *testing.T) {
			env := apptest.Start(t, func(cfg *apptest.Config, _ *apptest.Clock) {
				if !c.cache {
					cfg.TransparencyCacheTTL = 0
				}
			})
			ctx := context.Background()
			admin := actas.Admin(apptest.AdminToken, map[string]grpc.ClientConnInterface{"membership": env.Conn})
			for _, seed := range []func(context.Context, grpc.ClientConnInterface) error{membership.SeedSME, roadmap.SeedSME, finance.SeedSME} {
				if err := seed(ctx, admin); err != nil {
					t.Fatal(err)
				}
			}
			_ = actas.Close(ctx, admin)
			client := &http.Client{Timeout: 30 * time.Second}
			get := func() time.Duration {
				start := time.Now()
				resp, err := client.Get(env.BaseURL + "/v1/transparencyReport")
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("HTTP %d", resp.StatusCode)
				}
				return time.Since(start)
			}
			for range 5 { // warm up connections and plans
				get()
			}
			lat := make([]time.Duration, n)
			for i := range n {
				lat[i] = get()
			}
			slices.Sort(lat)
			pct := func(p float64) time.Duration { return lat[min(n-1, int(float64(n)*p))] }
			t.Logf("GET /v1/transparencyReport, %s, %d requests: p50 %v, p99 %v", c.name, n, pct(0.50), pct(0.99))
		})
	}
}
