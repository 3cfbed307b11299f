// Package roadmap measures GET /v1/roadmap through the real gateway on a
// roadmap of 50 releases and 5,000 items. Test code only; see bench/README.md.
package roadmap

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/bench/benchenv"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
)

// load fills the roadmap schema directly with SQL: 50 releases (every state),
// 5,000 items (a tenth in the backlog, all states, tags, votes) and 20 open
// proposals linking 10 items each.
func load(t *testing.T, env *apptest.Env) {
	t.Helper()
	db := env.DB(t, "roadmap")
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO releases (id, display_name, base_platform, state, target_date)
		 SELECT 'r' || lpad(g::text, 2, '0'), 'Release ' || g, 'Base ' || (g / 10),
		        (ARRAY['planned','in_development','released','maintained','end_of_life'])[1 + g % 5],
		        date '2020-01-01' + g * 30
		 FROM generate_series(1, 50) g`,
		`INSERT INTO items (id, title, description, release_id, state, priority, owner_team, owner_people, tags, vote_count, last_update_time)
		 SELECT gen_random_uuid()::text, 'Item ' || g, repeat('Some description. ', 5),
		        CASE WHEN g % 10 = 0 THEN NULL ELSE 'r' || lpad((1 + g % 50)::text, 2, '0') END,
		        (ARRAY['proposed','planned','in_progress','done','deferred','declined'])[1 + g % 6],
		        g % 101, 'teams/development', ARRAY['people/p' || (g % 40)], ARRAY['tag' || (g % 7), 'area' || (g % 3)],
		        g % 250, now() - (g % 60) * interval '1 day'
		 FROM generate_series(1, 5000) g`,
		`INSERT INTO proposals (id, question, options, method, state, close_time, linked_items, open_time)
		 SELECT gen_random_uuid()::text, 'Question ' || g, ARRAY['agree','abstain','disagree','block'], 'consent', 'open',
		        now() + interval '30 days',
		        ARRAY(SELECT 'items/' || id FROM items ORDER BY id OFFSET g * 10 LIMIT 10), now()
		 FROM generate_series(1, 20) g`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRoadmapLatency prints p50 and p99 of GET /v1/roadmap over
// GUILDHALL_BENCH_REQUESTS requests (default 200). It runs only when
// GUILDHALL_BENCH=1, so `go test ./...` stays fast.
func TestRoadmapLatency(t *testing.T) {
	benchenv.Require(t, "the roadmap benchmark")
	n := 200
	if v, err := strconv.Atoi(os.Getenv("GUILDHALL_BENCH_REQUESTS")); err == nil && v > 0 {
		n = v
	}
	env := apptest.Start(t)
	load(t, env)
	client := &http.Client{Timeout: 30 * time.Second}
	get := func() (time.Duration, int) {
		start := time.Now()
		resp, err := client.Get(env.BaseURL + "/v1/roadmap")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Releases []struct {
				Items []json.RawMessage `json:"items"`
			} `json:"releases"`
			Backlog []json.RawMessage `json:"backlog"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("HTTP %d: %v", resp.StatusCode, err)
		}
		took := time.Since(start)
		items := len(body.Backlog)
		for _, r := range body.Releases {
			items += len(r.Items)
		}
		if len(body.Releases) != 50 || items != 5000 {
			t.Fatalf("roadmap has %d releases and %d items, want 50 and 5000", len(body.Releases), items)
		}
		return took, items
	}
	for range 5 { // warm up connections, caches and plans
		get()
	}
	lat := make([]time.Duration, n)
	for i := range n {
		lat[i], _ = get()
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(n-1, int(float64(n)*p))] }
	resp, _ := client.Get(env.BaseURL + "/v1/roadmap")
	size := 0
	if resp != nil {
		b := make([]byte, 1<<16)
		for {
			k, err := resp.Body.Read(b)
			size += k
			if err != nil {
				break
			}
		}
		resp.Body.Close()
	}
	// The same call over gRPC, to separate the service from the JSON gateway.
	c := roadmapv1.NewRoadmapServiceClient(env.Conn)
	grpcLat := make([]time.Duration, n)
	for i := range n {
		start := time.Now()
		if _, err := c.GetRoadmap(context.Background(), &roadmapv1.GetRoadmapRequest{}); err != nil {
			t.Fatal(err)
		}
		grpcLat[i] = time.Since(start)
	}
	slices.Sort(grpcLat)
	t.Logf("gRPC GetRoadmap, same data, %d calls: p50 %v, p99 %v", n,
		grpcLat[n/2].Round(time.Microsecond), grpcLat[min(n-1, n*99/100)].Round(time.Microsecond))
	t.Logf("GET /v1/roadmap, 50 releases, 5000 items, %d requests, %d-byte answer: p50 %v, p99 %v, max %v",
		n, size, pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), lat[n-1].Round(time.Microsecond))
}
