package membership_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
)

// TestPositions: lists across teams with a state filter, close and reopen,
// and a lead's role open to discussion.
func TestPositions(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	lead := env.WithToken(a.Lead)
	other := env.WithToken(a.OtherLead)
	dev := mustOK(t, lead.Do(t, "POST", "/v1/teams/development/positions", `{"title":"Tester","role":"ROLE_MEMBER","skills":["testing"],"hoursPerMonth":10}`), "dev")
	mod := mustOK(t, other.Do(t, "POST", "/v1/teams/forums/positions", `{"title":"Forum moderator","role":"ROLE_MODERATOR"}`), "forums")
	chair := mustOK(t, lead.Do(t, "POST", "/v1/teams/development/positions", `{"title":"Lead","role":"ROLE_LEAD","openToDiscussion":true}`), "lead")
	if dev["state"] != "STATE_OPEN" || dev["name"] == mod["name"] {
		t.Fatalf("positions %v %v", dev, mod)
	}
	// The lead's own role: held, but open to discussion.
	chair = mustOK(t, lead.Do(t, "POST", "/v1/"+chair["name"].(string)+":fill", `{"person":"people/lead"}`), "fill own")
	if chair["state"] != "STATE_FILLED" || chair["openToDiscussion"] != true || chair["filledBy"] != "people/lead" {
		t.Fatalf("chair %v", chair)
	}
	names := func(path string) []string {
		var out []string
		for _, p := range list(t, mustOK(t, env.Do(t, "GET", path, ""), path), "positions") {
			out = append(out, p["name"].(string))
		}
		slices.Sort(out)
		return out
	}
	all := []string{dev["name"].(string), mod["name"].(string)}
	slices.Sort(all)
	if got := names("/v1/teams/-/positions?state=STATE_OPEN"); !slices.Equal(got, all) {
		t.Fatalf("open everywhere %v, want %v", got, all)
	}
	if got := names("/v1/teams/forums/positions"); !slices.Equal(got, []string{mod["name"].(string)}) {
		t.Fatalf("forums %v", got)
	}
	if got := names("/v1/teams/-/positions?state=STATE_FILLED"); !slices.Equal(got, []string{chair["name"].(string)}) {
		t.Fatalf("filled %v", got)
	}
	// Leads manage only their own team's positions.
	if res := lead.Do(t, "PATCH", "/v1/"+mod["name"].(string), `{"state":"STATE_CLOSED"}`); res.Status != http.StatusForbidden {
		t.Fatalf("lead closes another team's position: HTTP %d", res.Status)
	}
	closed := mustOK(t, other.Do(t, "PATCH", "/v1/"+mod["name"].(string), `{"state":"STATE_CLOSED"}`), "close")
	if closed["state"] != "STATE_CLOSED" {
		t.Fatalf("closed %v", closed)
	}
	if res := other.Do(t, "POST", "/v1/"+mod["name"].(string)+":fill", `{"person":"people/member"}`); res.Status != http.StatusBadRequest {
		t.Fatalf("fill closed: HTTP %d %s", res.Status, res.Body)
	}
	mustOK(t, other.Do(t, "PATCH", "/v1/"+mod["name"].(string), `{"state":"STATE_OPEN"}`), "reopen")
	if got := names("/v1/teams/-/positions?state=STATE_OPEN"); !slices.Equal(got, all) {
		t.Fatalf("open after reopen %v", got)
	}
	if res := env.Do(t, "GET", "/v1/teams/nowhere/positions", ""); res.Status != http.StatusNotFound {
		t.Fatalf("positions of a missing team: HTTP %d", res.Status)
	}
}
