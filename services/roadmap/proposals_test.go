package roadmap_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guildhall/guildhall/app/apptest"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
)

// openProposal creates and opens a proposal closing in an hour.
func openProposal(t *testing.T, f *fixture, p *roadmapv1.Proposal) *roadmapv1.Proposal {
	t.Helper()
	ctx := apptest.Outgoing(context.Background(), apptest.AdminToken)
	if p.CloseTime == nil {
		p.CloseTime = timestamppb.New(f.env.Clock.Now().Add(time.Hour))
	}
	created, err := f.client.CreateProposal(ctx, &roadmapv1.CreateProposalRequest{Proposal: p})
	if err != nil {
		t.Fatal(err)
	}
	if created.GetState() != roadmapv1.Proposal_STATE_DRAFT {
		t.Fatalf("new proposal is %v", created.GetState())
	}
	opened, err := f.client.OpenProposal(ctx, &roadmapv1.OpenProposalRequest{Name: created.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	return opened
}

func vote(f *fixture, token, proposal string, choices ...string) error {
	_, err := f.client.CastVote(apptest.Outgoing(context.Background(), token),
		&roadmapv1.CastVoteRequest{Proposal: proposal, Choices: choices})
	return err
}

func TestConsentWithOneBlockDoesNotPass(t *testing.T) {
	f := start(t)
	tokens := people(t, f.env, "p", 8)
	p := openProposal(t, f, &roadmapv1.Proposal{Question: "Rebrand?", Method: roadmapv1.Proposal_METHOD_CONSENT, QuorumVotes: 3})
	if strings.Join(p.GetOptions(), ",") != "agree,abstain,disagree,block" {
		t.Fatalf("consent options %v", p.GetOptions())
	}
	for _, tok := range tokens[:7] {
		if err := vote(f, tok, p.GetName(), "agree"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := f.client.GetProposal(context.Background(), &roadmapv1.GetProposalRequest{Name: p.GetName()})
	if !got.GetTally().GetPassed() {
		t.Fatalf("7 agree, no block: %v", got.GetTally())
	}
	if err := vote(f, tokens[7], p.GetName(), "block"); err != nil {
		t.Fatal(err)
	}
	got, _ = f.client.GetProposal(context.Background(), &roadmapv1.GetProposalRequest{Name: p.GetName()})
	if tl := got.GetTally(); tl.GetPassed() || !tl.GetQuorumMet() || !strings.Contains(tl.GetResult(), "block") || tl.GetTotalVotes() != 8 {
		t.Fatalf("7 agree and 1 block: %v", tl)
	}
	// Changing a vote before close replaces it: one vote per person.
	if err := vote(f, tokens[7], p.GetName(), "abstain"); err != nil {
		t.Fatal(err)
	}
	got, _ = f.client.GetProposal(context.Background(), &roadmapv1.GetProposalRequest{Name: p.GetName()})
	if tl := got.GetTally(); !tl.GetPassed() || tl.GetTotalVotes() != 8 {
		t.Fatalf("after the block became abstain: %v", tl)
	}
	// Consent choices are the four words only.
	if err := vote(f, tokens[0], p.GetName(), "yes"); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("choice yes: %v", err)
	}
}

func TestQuorumNotMet(t *testing.T) {
	f := start(t)
	tokens := people(t, f.env, "p", 3)
	// Share quorum: 60% of everyone (the admin, five actors, three people: 9) is 6 votes.
	p := openProposal(t, f, &roadmapv1.Proposal{Question: "Which CMS?", Method: roadmapv1.Proposal_METHOD_SINGLE_CHOICE,
		Options: []string{"Drupal", "WordPress", "Grav"}, QuorumShare: 0.6})
	if p.GetEligibleCount() != 9 {
		t.Fatalf("eligible %d", p.GetEligibleCount())
	}
	for _, tok := range tokens {
		if err := vote(f, tok, p.GetName(), "Grav"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := f.client.GetProposal(context.Background(), &roadmapv1.GetProposalRequest{Name: p.GetName()})
	tl := got.GetTally()
	if tl.GetQuorumMet() || tl.GetPassed() || tl.GetResult() != "quorum not met" || tl.GetQuorumRequired() < 6 {
		t.Fatalf("3 of 9 with a 60%% quorum: %v", tl)
	}
	// Approval with a vote minimum.
	a := openProposal(t, f, &roadmapv1.Proposal{Question: "Forum software?", Method: roadmapv1.Proposal_METHOD_APPROVAL,
		Options: []string{"Discourse", "phpBB"}, QuorumVotes: 2})
	if err := vote(f, tokens[0], a.GetName(), "Discourse", "phpBB"); err != nil {
		t.Fatal(err)
	}
	got, _ = f.client.GetProposal(context.Background(), &roadmapv1.GetProposalRequest{Name: a.GetName()})
	if got.GetTally().GetQuorumMet() {
		t.Fatalf("1 vote of 2 required: %v", got.GetTally())
	}
	if err := vote(f, tokens[1], a.GetName(), "Discourse"); err != nil {
		t.Fatal(err)
	}
	got, _ = f.client.GetProposal(context.Background(), &roadmapv1.GetProposalRequest{Name: a.GetName()})
	if tl := got.GetTally(); !tl.GetQuorumMet() || tl.GetResult() != "Discourse" || !tl.GetPassed() {
		t.Fatalf("approval result: %v", tl)
	}
}

func TestProposalClosesByClockWithFrozenResult(t *testing.T) {
	f := start(t)
	tokens := people(t, f.env, "p", 3)
	p := openProposal(t, f, &roadmapv1.Proposal{Question: "Rebrand or redefine?", Method: roadmapv1.Proposal_METHOD_SINGLE_CHOICE,
		Options: []string{"rebrand", "redefine"}, HideTallyUntilClose: true})
	for _, tok := range tokens[:2] {
		if err := vote(f, tok, p.GetName(), "redefine"); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := f.client.GetProposal(context.Background(), &roadmapv1.GetProposalRequest{Name: p.GetName()})
	if got.GetTally() != nil {
		t.Fatalf("hidden tally shown while open: %v", got.GetTally())
	}
	// While hidden, each voter sees only their own vote.
	own, err := f.client.ListVotes(apptest.Outgoing(context.Background(), tokens[0]), &roadmapv1.ListVotesRequest{Parent: p.GetName()})
	if err != nil || len(own.GetVotes()) != 1 || own.GetVotes()[0].GetName() != p.GetName()+"/votes/p0" {
		t.Fatalf("own votes while hidden: %v %v", own, err)
	}
	if _, err := f.client.GetVote(apptest.Outgoing(context.Background(), tokens[0]), &roadmapv1.GetVoteRequest{Name: p.GetName() + "/votes/p1"}); status.Code(err) != codes.NotFound {
		t.Fatalf("another's vote while hidden: %v", err)
	}
	// Nothing runs in between: the clock passes the close time and a read sees CLOSED.
	f.env.Clock.Advance(time.Hour)
	res := ok(t, f.env.Do(t, http.MethodGet, "/v1/"+p.GetName(), ""), http.StatusOK)
	tally, _ := res["tally"].(map[string]any)
	if res["state"] != "STATE_CLOSED" || tally == nil || tally["frozen"] != true || tally["result"] != "redefine" {
		t.Fatalf("after close time: %s", js(res))
	}
	if n := count(t, f.env, "roadmap", `SELECT count(*) FROM proposals WHERE id = $1 AND state = 'closed' AND frozen_tally IS NOT NULL`,
		strings.TrimPrefix(p.GetName(), "proposals/")); n != 1 {
		t.Fatal("the closed result was not frozen into the row")
	}
	// Votes after close are refused and change nothing.
	err = vote(f, tokens[2], p.GetName(), "rebrand")
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("vote after close: %v", err)
	}
	if err := vote(f, tokens[0], p.GetName(), "rebrand"); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("changing a vote after close: %v", err)
	}
	again, _ := f.client.GetProposal(context.Background(), &roadmapv1.GetProposalRequest{Name: p.GetName()})
	if again.GetTally().GetTotalVotes() != 2 || again.GetTally().GetResult() != "redefine" {
		t.Fatalf("frozen tally moved: %v", again.GetTally())
	}
	if n := count(t, f.env, "roadmap", `SELECT count(*) FROM proposal_votes WHERE choices = '{rebrand}'`); n != 0 {
		t.Fatalf("%d votes stored after close", n)
	}
	all, err := f.client.ListVotes(context.Background(), &roadmapv1.ListVotesRequest{Parent: p.GetName()})
	if err != nil || len(all.GetVotes()) != 2 {
		t.Fatalf("votes after close: %v %v", all, err)
	}
	// Closed proposals cannot be reopened, re-closed or re-scoped; the outcome can be written.
	adm := apptest.Outgoing(context.Background(), apptest.AdminToken)
	if _, err := f.client.CloseProposal(adm, &roadmapv1.CloseProposalRequest{Name: p.GetName()}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("close a closed proposal: %v", err)
	}
	ok(t, f.admin.Do(t, http.MethodPatch, "/v1/"+p.GetName()+"?updateMask=question", `{"question":"Something else?"}`), http.StatusBadRequest)
	out := ok(t, f.admin.Do(t, http.MethodPatch, "/v1/"+p.GetName()+"?updateMask=outcome,review_date",
		`{"outcome":"We redefine SME Server.","reviewDate":"2027-06-01"}`), http.StatusOK)
	if out["outcome"] != "We redefine SME Server." || out["state"] != "STATE_CLOSED" {
		t.Fatalf("outcome: %s", js(out))
	}
}

func TestVotesAfterCloseRefused(t *testing.T) {
	f := start(t)
	tokens := people(t, f.env, "p", 2)
	p := openProposal(t, f, &roadmapv1.Proposal{Question: "Q?", Method: roadmapv1.Proposal_METHOD_SINGLE_CHOICE, Options: []string{"x", "y"}})
	if err := vote(f, tokens[0], p.GetName(), "x"); err != nil {
		t.Fatal(err)
	}
	closed, err := f.client.CloseProposal(apptest.Outgoing(context.Background(), apptest.AdminToken), &roadmapv1.CloseProposalRequest{Name: p.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if closed.GetState() != roadmapv1.Proposal_STATE_CLOSED || !closed.GetTally().GetFrozen() {
		t.Fatalf("closed: %v", closed)
	}
	res := f.env.WithToken(tokens[1]).Do(t, http.MethodPost, "/v1/"+p.GetName()+":vote", `{"choices":["y"]}`)
	st := refused(t, res, http.StatusBadRequest)
	if st.Code != int(codes.FailedPrecondition) || st.Reason() != "VOTING_CLOSED" {
		t.Fatalf("vote after close: %d %s", st.Code, st.Reason())
	}
}

// Votes racing the deadline are either counted in the frozen tally or
// refused: the stored votes always equal the frozen total.
func TestVotesAtTheDeadline(t *testing.T) {
	f := start(t)
	tokens := people(t, f.env, "p", 40)
	p := openProposal(t, f, &roadmapv1.Proposal{Question: "Q?", Method: roadmapv1.Proposal_METHOD_SINGLE_CHOICE, Options: []string{"x", "y"}})
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() {
			if i == len(tokens)/2 {
				f.env.Clock.Advance(time.Hour)
			}
			err := vote(f, tok, p.GetName(), "x")
			if err != nil && status.Code(err) != codes.FailedPrecondition {
				t.Errorf("vote: %v", err)
			}
		})
	}
	wg.Wait()
	got, _ := f.client.GetProposal(context.Background(), &roadmapv1.GetProposalRequest{Name: p.GetName()})
	stored := count(t, f.env, "roadmap", `SELECT count(*) FROM proposal_votes WHERE proposal_id = $1`, strings.TrimPrefix(p.GetName(), "proposals/"))
	if got.GetState() != roadmapv1.Proposal_STATE_CLOSED || int(got.GetTally().GetTotalVotes()) != stored {
		t.Fatalf("state %v, frozen total %d, stored votes %d", got.GetState(), got.GetTally().GetTotalVotes(), stored)
	}
}

func TestTeamProposalEligibility(t *testing.T) {
	f := start(t)
	p := openProposal(t, f, &roadmapv1.Proposal{Question: "Who leads?", Method: roadmapv1.Proposal_METHOD_SINGLE_CHOICE,
		Options: []string{"a", "b"}, EligibleTeam: "teams/development", QuorumShare: 1})
	if p.GetEligibleCount() != 1 {
		t.Fatalf("development has 1 member, eligible %d", p.GetEligibleCount())
	}
	if err := vote(f, f.actors.Member, p.GetName(), "a"); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("non-member vote: %v", err)
	}
	if err := vote(f, f.actors.Lead, p.GetName(), "a"); err != nil {
		t.Fatal(err)
	}
	got, _ := f.client.GetProposal(context.Background(), &roadmapv1.GetProposalRequest{Name: p.GetName()})
	if !got.GetTally().GetQuorumMet() || got.GetTally().GetResult() != "a" {
		t.Fatalf("tally %v", got.GetTally())
	}
}

// A listed proposal is what a read of it shows: live tallies counted from
// its own votes (one query for the page), hidden ones absent, frozen ones
// as frozen, and one past its close time frozen by the list itself.
func TestListedProposalsMatchReads(t *testing.T) {
	f := start(t)
	tokens := people(t, f.env, "p", 4)
	single := openProposal(t, f, &roadmapv1.Proposal{Question: "Which?", Method: roadmapv1.Proposal_METHOD_SINGLE_CHOICE, Options: []string{"a", "b"}})
	approval := openProposal(t, f, &roadmapv1.Proposal{Question: "Which ones?", Method: roadmapv1.Proposal_METHOD_APPROVAL, Options: []string{"x", "y", "z"}})
	hidden := openProposal(t, f, &roadmapv1.Proposal{Question: "Secret?", Method: roadmapv1.Proposal_METHOD_CONSENT, HideTallyUntilClose: true})
	closing := openProposal(t, f, &roadmapv1.Proposal{Question: "Soon?", Method: roadmapv1.Proposal_METHOD_CONSENT,
		CloseTime: timestamppb.New(f.env.Clock.Now().Add(time.Minute))})
	for i, tok := range tokens {
		for _, v := range []struct {
			p       *roadmapv1.Proposal
			choices []string
		}{{single, []string{[]string{"a", "b"}[i%2]}}, {approval, []string{"x", []string{"y", "z"}[i%2]}}, {hidden, []string{"agree"}}, {closing, []string{"block"}}} {
			if err := vote(f, tok, v.p.GetName(), v.choices...); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.env.Clock.Advance(2 * time.Minute) // closing is now past its close time
	list := ok(t, f.env.Do(t, http.MethodGet, "/v1/proposals?pageSize=10", ""), http.StatusOK)["proposals"].([]any)
	if len(list) != 4 {
		t.Fatalf("%d proposals listed", len(list))
	}
	for _, l := range list {
		listed := l.(map[string]any)
		read := ok(t, f.env.Do(t, http.MethodGet, "/v1/"+listed["name"].(string), ""), http.StatusOK)
		if js(listed) != js(read) {
			t.Errorf("listed and read differ:\n%s\n%s", js(listed), js(read))
		}
		tally, _ := listed["tally"].(map[string]any)
		switch listed["name"] {
		case single.GetName(), approval.GetName():
			if tally == nil || tally["totalVotes"] != float64(4) {
				t.Errorf("%s: live tally %v", listed["name"], tally)
			}
		case hidden.GetName():
			if tally != nil {
				t.Errorf("hidden tally listed: %v", tally)
			}
		case closing.GetName():
			if listed["state"] != "STATE_CLOSED" || tally == nil || tally["frozen"] != true {
				t.Errorf("closed by the clock: %s", js(listed))
			}
		}
	}
}
