package roadmap_test

import (
	"net/http"
	"strings"
	"testing"
)

// Votes on finished items are refused with a reason, as Fider and Decidim
// close voting on done and declined ideas; removing a vote stays possible.
func TestVotesOnFinishedItemsRefused(t *testing.T) {
	f := start(t)
	voter := f.env.WithToken(f.actors.Member)
	done := newItem(t, f.admin, `{"title":"Done","state":"STATE_DONE"}`)
	declined := newItem(t, f.admin, `{"title":"No","state":"STATE_DECLINED"}`)
	open := newItem(t, f.admin, `{"title":"Open","state":"STATE_IN_PROGRESS"}`)
	ok(t, voter.Do(t, http.MethodPost, "/v1/"+open+":vote", `{}`), http.StatusOK)
	for _, it := range []string{done, declined} {
		st := refused(t, voter.Do(t, http.MethodPost, "/v1/"+it+":vote", `{}`), http.StatusBadRequest)
		if st.Code != 9 || st.Reason() != "ITEM_CLOSED_FOR_VOTING" || !strings.Contains(st.Message, "STATE_") {
			t.Errorf("vote on %s: code %d reason %q %q", it, st.Code, st.Reason(), st.Message)
		}
	}
	// An item that finishes keeps its votes, takes no new ones, and lets a voter withdraw.
	ok(t, f.admin.Do(t, http.MethodPost, "/v1/"+open+"/updates", `{"text":"shipped","newState":"STATE_DONE"}`), http.StatusOK)
	refused(t, f.env.WithToken(f.actors.Lead).Do(t, http.MethodPost, "/v1/"+open+":vote", `{}`), http.StatusBadRequest)
	if n := count(t, f.env, "roadmap", `SELECT vote_count FROM items WHERE id = $1`, itemID(open)); n != 1 {
		t.Fatalf("vote_count %d, want 1", n)
	}
	m := ok(t, voter.Do(t, http.MethodPost, "/v1/"+open+":unvote", `{}`), http.StatusOK)
	if m["voteCount"] != nil && m["voteCount"] != 0.0 {
		t.Fatalf("after unvote: %v", m["voteCount"])
	}
	if n := count(t, f.env, "roadmap", `SELECT count(*) FROM item_votes WHERE item_id = ANY($1)`, []string{itemID(done), itemID(declined)}); n != 0 {
		t.Fatalf("%d votes stored on finished items", n)
	}
}

// A lead's powers over items are their own team's: a lead may not hand an
// item to a team they do not lead, and may not start a vote for another team.
// (lead holds roadmap.edit through development, so otherlead, who leads only
// forums, is the lead under test.)
func TestLeadPowersScopedToTheirTeam(t *testing.T) {
	f := start(t)
	other := f.env.WithToken(f.actors.OtherLead) // leads forums
	member := f.env.WithToken(f.actors.Member)   // member of docs
	item := newItem(t, other, `{"title":"Forum upgrade","ownerTeam":"teams/forums"}`)
	refused(t, other.Do(t, http.MethodPatch, "/v1/"+item, `{"ownerTeam":"teams/docs"}`), http.StatusForbidden)
	refused(t, other.Do(t, http.MethodPatch, "/v1/"+item+"?updateMask=title,owner_team", `{"title":"x","ownerTeam":"teams/docs"}`), http.StatusForbidden)
	refused(t, member.Do(t, http.MethodPatch, "/v1/"+item, `{"title":"mine"}`), http.StatusForbidden)
	refused(t, other.Do(t, http.MethodPost, "/v1/items", `{"title":"t","ownerTeam":"teams/docs"}`), http.StatusForbidden)
	got := ok(t, f.env.Do(t, http.MethodGet, "/v1/"+item, ""), http.StatusOK)
	if got["ownerTeam"] != "teams/forums" || got["title"] != "Forum upgrade" {
		t.Fatalf("item changed: %v", got)
	}
	ok(t, other.Do(t, http.MethodPatch, "/v1/"+item, `{"title":"Forum upgrade 2"}`), http.StatusOK)
	// An editor (roadmap.edit) moves items between teams.
	ok(t, f.env.WithToken(f.actors.Lead).Do(t, http.MethodPatch, "/v1/"+item, `{"ownerTeam":"teams/docs"}`), http.StatusOK)
	// Now docs owns it: forums' lead has no power over it any more.
	refused(t, other.Do(t, http.MethodPatch, "/v1/"+item, `{"title":"back"}`), http.StatusForbidden)

	// Proposals: a lead starts votes of their own team only.
	refused(t, other.Do(t, http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_CONSENT"}`), http.StatusForbidden)
	refused(t, other.Do(t, http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_CONSENT","eligibleTeam":"teams/development"}`), http.StatusForbidden)
	p := newProposal(t, other, `{"question":"q","method":"METHOD_CONSENT","eligibleTeam":"teams/forums"}`)
	refused(t, other.Do(t, http.MethodPatch, "/v1/"+p, `{"eligibleTeam":"teams/development"}`), http.StatusForbidden)
	ok(t, other.Do(t, http.MethodPatch, "/v1/"+p, `{"background":"why"}`), http.StatusOK)
}

// Review dates come up again: proposals due for review by a date, soonest first.
func TestProposalsDueForReview(t *testing.T) {
	f := start(t)
	a := newProposal(t, f.admin, `{"question":"a","method":"METHOD_CONSENT","reviewDate":"2027-03-01"}`)
	b := newProposal(t, f.admin, `{"question":"b","method":"METHOD_CONSENT","reviewDate":"2026-12-01"}`)
	newProposal(t, f.admin, `{"question":"c","method":"METHOD_CONSENT","reviewDate":"2028-01-01"}`)
	newProposal(t, f.admin, `{"question":"d","method":"METHOD_CONSENT"}`)
	c := newProposal(t, f.admin, `{"question":"e","method":"METHOD_CONSENT","reviewDate":"2027-03-01"}`)
	var got []string
	token := ""
	for range 5 {
		m := ok(t, f.env.Do(t, http.MethodGet, "/v1/proposals?reviewDueBy=2027-06-30&pageSize=2&pageToken="+token, ""), http.StatusOK)
		for _, p := range asList(m["proposals"]) {
			got = append(got, p["name"].(string))
		}
		token, _ = m["nextPageToken"].(string)
		if token == "" {
			break
		}
	}
	first := []string{a, c}
	if c < a {
		first = []string{c, a}
	}
	want := append([]string{b}, first...)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("due by 2027-06-30: %v, want %v", got, want)
	}
}
