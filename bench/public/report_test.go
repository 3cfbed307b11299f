// Package public measures GET /v1/transparencyReport through the real
// gateway on the SME seed, with the report cache off and on. Test code only;
// see bench/README.md.
package public

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/bench/benchenv"
	transparencyv1 "github.com/guildhall/guildhall/gen/go/guildhall/transparency/v1"
	"github.com/guildhall/guildhall/internal/actas"
	"github.com/guildhall/guildhall/services/finance"
	"github.com/guildhall/guildhall/services/membership"
	"github.com/guildhall/guildhall/services/roadmap"
)

// TestLoadTransparencyReport prints p50 and p99 of anonymous GETs of the
// report over GUILDHALL_BENCH_REQUESTS requests (default 200), once with
// the cache off (every request assembles the report from the three
// services) and once with the configured cache, over the SME seed loaded
// GUILDHALL_BENCH_COPIES times (default 100; see copyConn). It runs only
// when GUILDHALL_BENCH=1.
func TestLoadTransparencyReport(t *testing.T) {
	benchenv.Require(t, "the transparency report benchmark")
	n, copies := benchenv.Int("GUILDHALL_BENCH_REQUESTS", 200), benchenv.Int("GUILDHALL_BENCH_COPIES", 100)
	for _, c := range []struct {
		name  string
		cache bool
	}{{"no cache", false}, {"cache", true}} {
		t.Run(c.name, func(t *testing.T) {
			env := apptest.Start(t, func(cfg *apptest.Config, _ *apptest.Clock) {
				if !c.cache {
					cfg.TransparencyCacheTTL = 0
				}
				// The copies' help offers all come from loopback.
				cfg.VolunteerRatePerMinute = 1 << 30
			})
			start := time.Now()
			loadCopies(t, env.Conn, copies)
			t.Logf("loaded the SME seed %d times in %v", copies, time.Since(start).Round(time.Second))
			if c.cache {
				describe(t, env.BaseURL, copies)
			}
			client := &http.Client{Timeout: 30 * time.Second}
			var size int64
			get := func() time.Duration {
				start := time.Now()
				resp, err := client.Get(env.BaseURL + "/v1/transparencyReport")
				if err != nil {
					t.Fatal(err)
				}
				size, _ = io.Copy(io.Discard, resp.Body)
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
			t.Logf("GET /v1/transparencyReport, SME seed ×%d, %s, %d requests: p50 %v, p99 %v, %d bytes", copies, c.name, n, pct(0.50), pct(0.99), size)
		})
	}
}

// loadCopies loads the SME seed copies times through conn, each copy under
// its own suffix (copyConn), four at a time.
func loadCopies(t *testing.T, conn grpc.ClientConnInterface, copies int) {
	t.Helper()
	ctx := context.Background()
	seed := func(c grpc.ClientConnInterface) error {
		admin := actas.Admin(apptest.AdminToken, map[string]grpc.ClientConnInterface{"membership": c})
		defer func() { _ = actas.Close(ctx, admin) }()
		for _, s := range []func(context.Context, grpc.ClientConnInterface) error{membership.SeedSME, roadmap.SeedSME, finance.SeedSME} {
			if err := s(ctx, admin); err != nil {
				return err
			}
		}
		return nil
	}
	var g errgroup.Group
	g.SetLimit(4)
	for i := range copies {
		g.Go(func() error {
			if err := seed(copyConn{raw: conn, suffix: fmt.Sprintf("-c%03d", i)}); err != nil {
				return fmt.Errorf("copy %d: %w", i, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// describe logs what the report counts over the loaded data, and fails if
// the roster is not copies times the SME seed's seven teams.
func describe(t *testing.T, baseURL string, copies int) {
	t.Helper()
	resp, err := http.Get(baseURL + "/v1/transparencyReport")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	r := &transparencyv1.TransparencyReport{}
	if err != nil || protojson.Unmarshal(body, r) != nil {
		t.Fatalf("report: %v %s", err, body)
	}
	t.Logf("the report counts: roadmap now/next/later %d/%d/%d, %d open decisions, %d teams, %d vacancies, %d offers, %d packages seeking a maintainer, %d goals shown",
		r.GetRoadmap().GetNowCount(), r.GetRoadmap().GetNextCount(), r.GetRoadmap().GetLaterCount(), len(r.GetDecisions().GetOpen()),
		r.GetRoster().GetTeamCount(), r.GetVacancies().GetOpenCount(), r.GetVolunteers().GetStats().GetTotal(),
		r.GetPackages().GetSeekingMaintainerCount(), len(r.GetMoney().GetGoals()))
	if got, want := r.GetRoster().GetTeamCount(), int32(7*copies); got != want {
		t.Errorf("the roster has %d teams, want %d (7 per copy)", got, want)
	}
}
