package roadmap_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/app/apptest"
)

// The access matrix: every write route × the six actors, against policy.go.
func TestAccessMatrix(t *testing.T) {
	f := start(t)
	a := f.actors
	actors := []struct{ id, token string }{
		{"anonymous", a.Anonymous}, {"member", a.Member}, {"otherlead", a.OtherLead},
		{"lead", a.Lead}, {"financer", a.FinanceTeam}, {"admin", a.Admin},
	}
	// Items are owned by teams/forums (led by otherlead) and people/member.
	item := func() string {
		return newItem(t, f.admin, `{"title":"t","ownerTeam":"teams/forums","ownerPeople":["people/member"]}`)
	}
	// Proposals are written by otherlead, for a vote of forums (their team).
	proposal := func(open bool) string {
		n := newProposal(t, f.env.WithToken(a.OtherLead), `{"question":"q","method":"METHOD_SINGLE_CHOICE","options":["x","y"],"eligibleTeam":"teams/forums","closeTime":"2999-01-01T00:00:00Z"}`)
		if open {
			ok(t, f.admin.Do(t, http.MethodPost, "/v1/"+n+":open", `{}`), http.StatusOK)
		}
		return n
	}
	// A community-wide vote, open to every person.
	communityVote := func() string {
		n := newProposal(t, f.admin, `{"question":"q","method":"METHOD_SINGLE_CHOICE","options":["x","y"],"closeTime":"2999-01-01T00:00:00Z"}`)
		ok(t, f.admin.Do(t, http.MethodPost, "/v1/"+n+":open", `{}`), http.StatusOK)
		return n
	}
	release := func() string {
		id := "r" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
		newRelease(t, f.admin, id, `{"displayName":"x"}`)
		return id
	}
	everyone := []string{"member", "otherlead", "lead", "financer", "admin"}
	routes := []struct {
		rpc     string
		allowed []string
		call    func(env *apptest.Env) *apptest.Response
	}{
		{"CreateRelease", []string{"lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/releases?releaseId=r"+strings.ReplaceAll(uuid.NewString(), "-", "")[:12], `{"displayName":"x"}`)
		}},
		{"UpdateRelease", []string{"lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPatch, "/v1/releases/"+release()+"?updateMask=notes", `{"notes":"n"}`)
		}},
		{"TransitionRelease", []string{"lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/releases/"+release()+":transition", `{"state":"STATE_IN_DEVELOPMENT"}`)
		}},
		{"DeleteRelease", []string{"lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodDelete, "/v1/releases/"+release(), "")
		}},
		{"CreateItem", []string{"otherlead", "lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/items", `{"title":"t","ownerTeam":"teams/forums"}`)
		}},
		{"UpdateItem", []string{"otherlead", "lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPatch, "/v1/"+item()+"?updateMask=title", `{"title":"new"}`)
		}},
		// otherlead owns the item through forums but does not lead docs:
		// handing it over is an editor's (lead holds roadmap.edit).
		{"UpdateItem (move to another team)", []string{"lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPatch, "/v1/"+item()+"?updateMask=owner_team", `{"ownerTeam":"teams/docs"}`)
		}},
		{"DeleteItem", []string{"otherlead", "lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodDelete, "/v1/"+item(), "")
		}},
		{"VoteItem", everyone, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/"+item()+":vote", `{}`)
		}},
		{"UnvoteItem", everyone, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/"+item()+":unvote", `{}`)
		}},
		{"CreateItemUpdate", []string{"member", "otherlead", "lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/"+item()+"/updates", `{"text":"progress"}`)
		}},
		// A community-wide vote is an editor's; a team's vote, its lead's.
		{"CreateProposal", []string{"lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_CONSENT"}`)
		}},
		{"CreateProposal (forums vote)", []string{"otherlead", "lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_CONSENT","eligibleTeam":"teams/forums"}`)
		}},
		{"CreateProposal (docs vote)", []string{"lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_CONSENT","eligibleTeam":"teams/docs"}`)
		}},
		{"UpdateProposal", []string{"otherlead", "lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPatch, "/v1/"+proposal(false)+"?updateMask=background", `{"background":"b"}`)
		}},
		{"DeleteProposal", []string{"otherlead", "lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodDelete, "/v1/"+proposal(false), "")
		}},
		{"OpenProposal", []string{"otherlead", "lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/"+proposal(false)+":open", `{}`)
		}},
		{"CloseProposal", []string{"otherlead", "lead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/"+proposal(true)+":close", `{}`)
		}},
		{"CastVote", everyone, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/"+communityVote()+":vote", `{"choices":["x"]}`)
		}},
		{"CastVote (forums vote)", []string{"otherlead", "admin"}, func(e *apptest.Env) *apptest.Response {
			return e.Do(t, http.MethodPost, "/v1/"+proposal(true)+":vote", `{"choices":["x"]}`)
		}},
	}
	for _, r := range routes {
		t.Run(r.rpc, func(t *testing.T) {
			for _, act := range actors {
				res := r.call(f.env.WithToken(act.token))
				allowed := slices.Contains(r.allowed, act.id)
				switch {
				case allowed && res.Status != http.StatusOK:
					t.Errorf("%s may call %s but got HTTP %d: %s", act.id, r.rpc, res.Status, res.Body)
				case !allowed && act.id == "anonymous" && res.Status != http.StatusUnauthorized:
					t.Errorf("anonymous %s: HTTP %d, want 401", r.rpc, res.Status)
				case !allowed && act.id != "anonymous" && res.Status != http.StatusForbidden:
					t.Errorf("%s may not call %s but got HTTP %d: %s", act.id, r.rpc, res.Status, res.Body)
				}
			}
		})
	}
}
