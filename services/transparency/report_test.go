package transparency_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guildhall/guildhall/app/apptest"
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	transparencyv1 "github.com/guildhall/guildhall/gen/go/guildhall/transparency/v1"
	"github.com/guildhall/guildhall/internal/actas"
	"github.com/guildhall/guildhall/services/finance"
	"github.com/guildhall/guildhall/services/membership"
	"github.com/guildhall/guildhall/services/roadmap"
)

const reportPath = "/v1/transparencyReport"

// seedSME loads the SME Server demo data, as `guildhall seed sme` does.
func seedSME(t *testing.T, env *apptest.Env) {
	t.Helper()
	ctx := context.Background()
	admin := actas.Admin(apptest.AdminToken, map[string]grpc.ClientConnInterface{"membership": env.Conn})
	defer func() { _ = actas.Close(ctx, admin) }()
	for _, seed := range []func(context.Context, grpc.ClientConnInterface) error{membership.SeedSME, roadmap.SeedSME, finance.SeedSME} {
		if err := seed(ctx, admin); err != nil {
			t.Fatal(err)
		}
	}
}

// get reads path anonymously and decodes it into m, failing unless 200.
func get(t *testing.T, env *apptest.Env, path string, m proto.Message) *apptest.Response {
	t.Helper()
	res := env.WithToken("").Do(t, http.MethodGet, path, "")
	if res.Status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.Status, res.Body)
	}
	if err := protojson.Unmarshal(res.Body, m); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, res.Body)
	}
	return res
}

func report(t *testing.T, env *apptest.Env) (*transparencyv1.TransparencyReport, *apptest.Response) {
	t.Helper()
	r := &transparencyv1.TransparencyReport{}
	res := get(t, env, reportPath, r)
	return r, res
}

// equal fails unless the report's part equals the service's own answer.
func equal(t *testing.T, what string, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%s: the report says\n%v\nthe service says\n%v", what, got, want)
	}
}

var (
	_ = financev1.Goal{}
	_ = membershipv1.Position{}
	_ = roadmapv1.Item{}
)

func time0(t interface{ Format(string) string }) string { return t.Format("2006-01") }

// TestVacanciesOldestFirst: past the cap, the report lists the oldest open
// positions and counts them all.
func TestVacanciesOldestFirst(t *testing.T) {
	var clock *apptest.Clock
	env := apptest.Start(t, func(c *apptest.Config, clk *apptest.Clock) { c.TransparencyCacheTTL = 0; clock = clk })
	env.Team(t, "dev")
	ctx := apptest.Outgoing(context.Background(), apptest.AdminToken)
	m := membershipv1.NewMembershipServiceClient(env.Conn)
	const n = 103 // the cap (100) and three more
	var names []string
	for i := range n {
		clock.Advance(time.Minute)
		p, err := m.CreatePosition(ctx, &membershipv1.CreatePositionRequest{Parent: "teams/dev",
			Position: &membershipv1.Position{Title: fmt.Sprintf("position %03d", i), Role: membershipv1.Role_ROLE_MEMBER}})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, p.GetName())
	}
	r, _ := report(t, env)
	v := r.GetVacancies()
	if v.GetOpenCount() != n || len(v.GetPositions()) != 100 {
		t.Fatalf("vacancies: count %d, %d listed; want %d and 100", v.GetOpenCount(), len(v.GetPositions()), n)
	}
	for i, p := range v.GetPositions() {
		if p.GetName() != names[i] {
			t.Fatalf("vacancy %d is %s (%s), want %s, the %d-th oldest", i, p.GetName(), p.GetTitle(), names[i], i+1)
		}
	}
}

// TestDecisionsFollowTheClock: a proposal past its close time is a
// decision reached (roadmap reads it as CLOSED), and one closed more than
// 90 days ago is no longer shown.
func TestDecisionsFollowTheClock(t *testing.T) {
	var clock *apptest.Clock
	env := apptest.Start(t, func(c *apptest.Config, clk *apptest.Clock) { c.TransparencyCacheTTL = 0; clock = clk })
	ctx := apptest.Outgoing(context.Background(), apptest.AdminToken)
	r := roadmapv1.NewRoadmapServiceClient(env.Conn)
	open := func(question string, closes time.Duration) string {
		p, err := r.CreateProposal(ctx, &roadmapv1.CreateProposalRequest{Proposal: &roadmapv1.Proposal{
			Question: question, Method: roadmapv1.Proposal_METHOD_CONSENT, CloseTime: timestamppb.New(clock.Now().Add(closes))}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.OpenProposal(ctx, &roadmapv1.OpenProposalRequest{Name: p.GetName()}); err != nil {
			t.Fatal(err)
		}
		return p.GetName()
	}
	old := open("Move the forums?", time.Hour)
	clock.Advance(100 * 24 * time.Hour) // old closed 100 days ago
	soon := open("Adopt LDAP for v9.1?", time.Hour)
	later := open("Drop CentOS 5?", 30*24*time.Hour)
	clock.Advance(2 * time.Hour) // soon has closed; later is open

	rep, _ := report(t, env)
	names := func(ps []*roadmapv1.ProposalSummary) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.GetName())
		}
		return out
	}
	if got := names(rep.GetDecisions().GetOpen()); len(got) != 1 || got[0] != later {
		t.Errorf("open decisions %v, want only %s", got, later)
	}
	decided := rep.GetDecisions().GetDecided()
	if got := names(decided); len(got) != 1 || got[0] != soon || decided[0].GetState() != roadmapv1.Proposal_STATE_CLOSED {
		t.Errorf("decisions reached %v, want only %s, CLOSED (not %s, closed 100 days ago)", decided, soon, old)
	}
}
