package roadmap_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/guildhall/guildhall/app/apptest"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/actas"
	"github.com/guildhall/guildhall/services/membership"
	"github.com/guildhall/guildhall/services/roadmap"
)

func TestSeedSMETwice(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	// As `guildhall seed` does: an admin who acts as the people of the story.
	admin := actas.Admin(apptest.AdminToken, map[string]grpc.ClientConnInterface{"membership": env.Conn})
	if err := membership.SeedSME(ctx, admin); err != nil {
		t.Fatal(err)
	}
	tables := []string{"releases", "items", "item_updates", "proposals"}
	counts := func() map[string]int {
		out := map[string]int{}
		for _, tb := range tables {
			out[tb] = count(t, env, "roadmap", "SELECT count(*) FROM "+tb)
		}
		return out
	}
	if err := roadmap.SeedSME(ctx, admin); err != nil {
		t.Fatal(err)
	}
	first := counts()
	want := map[string]int{"releases": 3, "items": 5, "item_updates": 5, "proposals": 2}
	for k, n := range want {
		if first[k] != n {
			t.Errorf("%s: %d, want %d", k, first[k], n)
		}
	}
	if err := roadmap.SeedSME(ctx, admin); err != nil {
		t.Fatal(err)
	}
	for k, n := range counts() {
		if n != first[k] {
			t.Errorf("second run: %s went from %d to %d", k, first[k], n)
		}
	}
	c := roadmapv1.NewRoadmapServiceClient(env.Conn)
	rm, err := c.GetRoadmap(ctx, &roadmapv1.GetRoadmapRequest{})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]roadmapv1.Release_State{}
	for _, r := range rm.GetReleases() {
		states[r.GetRelease().GetName()] = r.GetRelease().GetState()
	}
	if states["releases/v8"] != roadmapv1.Release_STATE_MAINTAINED || states["releases/v9"] != roadmapv1.Release_STATE_IN_DEVELOPMENT ||
		states["releases/v9-1"] != roadmapv1.Release_STATE_PLANNED {
		t.Errorf("release states %v", states)
	}
	props, _ := c.ListProposals(ctx, &roadmapv1.ListProposalsRequest{})
	for _, p := range props.GetProposals() {
		if p.GetState() != roadmapv1.Proposal_STATE_OPEN {
			t.Errorf("%q is %v, want OPEN", p.GetQuestion(), p.GetState())
		}
	}
	// Written by the people who would write them, not by the admin.
	if n := count(t, env, "roadmap", `SELECT count(*) FROM item_updates WHERE author NOT IN ('people/iwells', 'people/jcrisp')`); n != 0 {
		t.Errorf("%d status updates by someone else", n)
	}
	if n := count(t, env, "roadmap", `SELECT count(*) FROM item_updates WHERE author = 'people/iwells'`); n != 1 {
		t.Errorf("Ian Wells wrote %d status updates, want the v9 port's", n)
	}
	if n := count(t, env, "roadmap", `SELECT count(*) FROM proposals WHERE creator NOT IN ('people/jcrisp', 'people/gzartman')`); n != 0 {
		t.Errorf("%d proposals by someone else", n)
	}
	// The tokens the seed acted with are revoked when it is done.
	if err := actas.Close(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if n := count(t, env, "membership", `SELECT count(*) FROM tokens WHERE display_name = 'demo data seeding' AND revoke_time IS NULL`); n != 0 {
		t.Errorf("%d seeding tokens still valid", n)
	}
}
