package membership_test

import (
	"net/http"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
)

func TestTeamsAndMembers(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	admin := env.WithToken(a.Admin)

	res := admin.Do(t, "POST", "/v1/teams?teamId=wiki", `{"displayName":"Wiki & Docs","charter":"Docs","permissions":["docs.edit"]}`)
	if res.Status != http.StatusOK {
		t.Fatalf("create team: %d %s", res.Status, res.Body)
	}
	if got := res.JSON(t)["name"]; got != "teams/wiki" {
		t.Fatalf("name %v", got)
	}
	res = admin.Do(t, "POST", "/v1/teams/wiki/members?teamMemberId=member", `{"role":"ROLE_LEAD"}`)
	if res.Status != http.StatusOK {
		t.Fatalf("add member: %d %s", res.Status, res.Body)
	}
	m := res.JSON(t)
	if m["name"] != "teams/wiki/members/member" || m["role"] != "ROLE_LEAD" || m["person"] != "people/member" || m["since"] == nil {
		t.Fatalf("member %v", m)
	}
	// The new lead may now manage the team's members and charter, not its permissions.
	lead := env.WithToken(a.Member)
	if res := lead.Do(t, "POST", "/v1/teams/wiki/members?teamMemberId=lead", `{"role":"ROLE_MEMBER"}`); res.Status != http.StatusOK {
		t.Fatalf("lead adds member: %d %s", res.Status, res.Body)
	}
	if res := lead.Do(t, "PATCH", "/v1/teams/wiki", `{"charter":"All the docs"}`); res.Status != http.StatusOK {
		t.Fatalf("lead edits charter: %d %s", res.Status, res.Body)
	}
	if res := lead.Do(t, "PATCH", "/v1/teams/wiki", `{"permissions":["finance.pay"]}`); res.Status != http.StatusForbidden {
		t.Fatalf("lead edits permissions: %d %s", res.Status, res.Body)
	}
	// "*" replaces every updatable field, permissions and parent included,
	// even when the body leaves them out: for a lead that is not allowed.
	if res := lead.Do(t, "PATCH", "/v1/teams/wiki?updateMask=*", `{"displayName":"Wiki","charter":"All the docs"}`); res.Status != http.StatusForbidden {
		t.Fatalf("lead updates with mask *: %d %s", res.Status, res.Body)
	}
	res = env.Do(t, "GET", "/v1/teams/wiki/members", "")
	if res.Status != http.StatusOK {
		t.Fatalf("list members: %d %s", res.Status, res.Body)
	}
	if ms := res.JSON(t)["teamMembers"].([]any); len(ms) != 2 {
		t.Fatalf("members %v", ms)
	}
	res = env.Do(t, "GET", "/v1/teams/wiki", "")
	if tm := res.JSON(t); tm["memberCount"] != float64(2) || tm["charter"] != "All the docs" {
		t.Fatalf("team %v", tm)
	}
	if res := admin.Do(t, "PATCH", "/v1/teams/wiki/members/lead", `{"role":"ROLE_MODERATOR"}`); res.Status != http.StatusOK || res.JSON(t)["role"] != "ROLE_MODERATOR" {
		t.Fatalf("update member: %d %s", res.Status, res.Body)
	}
	if res := admin.Do(t, "DELETE", "/v1/teams/wiki/members/lead", ""); res.Status != http.StatusOK {
		t.Fatalf("delete member: %d %s", res.Status, res.Body)
	}
	if res := admin.Do(t, "DELETE", "/v1/teams/wiki/members/lead", ""); res.Status != http.StatusNotFound {
		t.Fatalf("delete member twice: %d %s", res.Status, res.Body)
	}
	if res := admin.Do(t, "DELETE", "/v1/teams/wiki", ""); res.Status != http.StatusOK {
		t.Fatalf("delete team: %d %s", res.Status, res.Body)
	}
	if res := env.Do(t, "GET", "/v1/teams/wiki", ""); res.Status != http.StatusNotFound {
		t.Fatalf("get deleted team: %d %s", res.Status, res.Body)
	}
}
