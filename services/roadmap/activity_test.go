package roadmap_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/app/apptest"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
)

// TestEveryWriteIsActivity: each write method of the roadmap API is recorded
// as its caller's activity ("roadmap.<Method>", or the vote and status kinds
// those writes always had). A write method added without reporting
// activity, or without a call here, fails the test.
func TestEveryWriteIsActivity(t *testing.T) {
	f := start(t)
	a := f.admin // people/admin: any person's writes count the same way
	do := func(method, path, body string) map[string]any {
		t.Helper()
		return ok(t, a.Do(t, method, path, body), http.StatusOK)
	}
	var item, prop string
	calls := []struct {
		method string
		call   func()
	}{
		{"CreateRelease", func() {
			do("POST", "/v1/releases?releaseId=v10&requestId="+uuid.NewString(), `{"displayName":"SME Server 10"}`)
		}},
		{"UpdateRelease", func() { do("PATCH", "/v1/releases/v10", `{"description":"next"}`) }},
		{"TransitionRelease", func() { do("POST", "/v1/releases/v10:transition", `{"state":"STATE_IN_DEVELOPMENT"}`) }},
		{"DeleteRelease", func() { do("DELETE", "/v1/releases/v10", "") }},
		{"CreateItem", func() { item = newItem(t, a, `{"title":"LDAP","ownerTeam":"teams/development"}`) }},
		{"UpdateItem", func() { do("PATCH", "/v1/"+item, `{"description":"directory"}`) }},
		{"VoteItem", func() { do("POST", "/v1/"+item+":vote", `{}`) }},
		{"UnvoteItem", func() { do("POST", "/v1/"+item+":unvote", `{}`) }},
		{"CreateItemUpdate", func() { do("POST", "/v1/"+item+"/updates", `{"text":"started"}`) }},
		{"DeleteItem", func() { do("DELETE", "/v1/"+item, "") }},
		{"CreateProposal", func() {
			prop = newProposal(t, a, `{"question":"Which CMS?","method":"METHOD_SINGLE_CHOICE","options":["a","b"],"closeTime":"2999-01-01T00:00:00Z"}`)
		}},
		{"UpdateProposal", func() { do("PATCH", "/v1/"+prop, `{"background":"the website"}`) }},
		{"OpenProposal", func() { do("POST", "/v1/"+prop+":open", `{}`) }},
		{"CastVote", func() { do("POST", "/v1/"+prop+":vote", `{"choices":["a"]}`) }},
		{"CloseProposal", func() { do("POST", "/v1/"+prop+":close", `{}`) }},
		{"DeleteProposal", func() {
			do("DELETE", "/v1/"+newProposal(t, a, `{"question":"Rebrand?","method":"METHOD_SINGLE_CHOICE","options":["yes","no"]}`), "")
		}},
	}
	// Writes that report under the kind they always had.
	kindOf := map[string]string{"VoteItem": "roadmap.item_vote", "CastVote": "roadmap.proposal_vote", "CreateItemUpdate": "roadmap.status_update"}
	var kinds []string
	for _, m := range apptest.WriteMethods(roadmapv1.File_guildhall_roadmap_v1_roadmap_service_proto.Services().Get(0)) {
		if !slices.ContainsFunc(calls, func(c struct {
			method string
			call   func()
		}) bool {
			return c.method == m
		}) {
			t.Errorf("write method %s is not exercised here: add it, and make it report activity", m)
			continue
		}
		k := kindOf[m]
		if k == "" {
			k = "roadmap." + m
		}
		kinds = append(kinds, k)
	}
	for _, c := range calls {
		c.call()
	}
	f.env.WaitActivity(t, "admin", kinds...)
}
