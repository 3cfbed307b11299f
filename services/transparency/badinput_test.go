package transparency_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
)

// A position's roadmap_item feeds the items' % staffed: one that is
// malformed or names no item is refused with the field named, and nothing
// is stored.
func TestPositionRoadmapItemBadInput(t *testing.T) {
	env := apptest.Start(t)
	admin := env.WithToken(apptest.AdminToken)
	env.Team(t, "dev")
	item := must(t, admin, "POST", "/v1/items", `{"title":"LDAP","ownerTeam":"teams/dev","state":"STATE_PLANNED"}`)["name"].(string)
	pos := must(t, admin, "POST", "/v1/teams/dev/positions", `{"title":"Tester","role":"ROLE_MEMBER","roadmapItem":"`+item+`"}`)["name"].(string)

	stored := func() []any {
		list := must(t, admin, "GET", "/v1/teams/dev/positions", "")
		ps, _ := list["positions"].([]any)
		return ps
	}
	before := stored()
	for _, c := range []struct{ name, method, path, body, field string }{
		{"create malformed", "POST", "/v1/teams/dev/positions", `{"title":"X","role":"ROLE_MEMBER","roadmapItem":"not a name"}`, "position.roadmapItem"},
		{"create other collection", "POST", "/v1/teams/dev/positions", `{"title":"X","role":"ROLE_MEMBER","roadmapItem":"goals/ldap"}`, "position.roadmapItem"},
		{"create unknown item", "POST", "/v1/teams/dev/positions", `{"title":"X","role":"ROLE_MEMBER","roadmapItem":"items/no-such-item"}`, "position.roadmapItem"},
		{"update unknown item", "PATCH", "/v1/" + pos + "?updateMask=roadmapItem", `{"roadmapItem":"items/no-such-item"}`, "position.roadmapItem"},
		{"update malformed", "PATCH", "/v1/" + pos + "?updateMask=roadmapItem", `{"roadmapItem":"items/"}`, "position.roadmapItem"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := admin.Do(t, c.method, c.path, c.body)
			if res.Status != http.StatusBadRequest || !slices.Contains(res.RPCStatus(t).Fields(), c.field) {
				t.Fatalf("HTTP %d %s; want 400 naming %s", res.Status, res.Body, c.field)
			}
		})
	}
	after := stored()
	if len(after) != len(before) || len(after) != 1 {
		t.Fatalf("positions %v; want only the one created before", after)
	}
	if got := after[0].(map[string]any)["roadmapItem"]; got != item {
		t.Errorf("roadmapItem %v after refused updates; want %s", got, item)
	}
}
