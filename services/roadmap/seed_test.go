package roadmap_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/guildhall/guildhall/app/apptest"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/services/membership"
	"github.com/guildhall/guildhall/services/roadmap"
)

// adminConn adds the admin token to every call, as `guildhall seed` does.
type adminConn struct{ *grpc.ClientConn }

func (c adminConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.ClientConn.Invoke(apptest.Outgoing(ctx, apptest.AdminToken), method, args, reply, opts...)
}

func TestSeedSMETwice(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	if err := membership.SeedSME(ctx, adminConn{env.Conn}); err != nil {
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
	if err := roadmap.SeedSME(ctx, adminConn{env.Conn}); err != nil {
		t.Fatal(err)
	}
	first := counts()
	want := map[string]int{"releases": 3, "items": 5, "item_updates": 5, "proposals": 2}
	for k, n := range want {
		if first[k] != n {
			t.Errorf("%s: %d, want %d", k, first[k], n)
		}
	}
	if err := roadmap.SeedSME(ctx, adminConn{env.Conn}); err != nil {
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
}
