package finance_test

import (
	"fmt"
	"slices"
	"testing"
)

// Goals list in priority order (then id), paged on both keys, each with its
// progress as a read shows it.
func TestGoalsListInPriorityOrder(t *testing.T) {
	f := start(t)
	for _, g := range []struct {
		id       string
		priority int
	}{{"hosting-2027", 1}, {"dev-money", 0}, {"laptop", 2}, {"docs", 1}, {"swag", 3}} {
		f.must(t, "POST", "/v1/goals?goalId="+g.id, fmt.Sprintf(
			`{"displayName":%q,"priority":%d,"target":{"currencyCode":"USD","minorUnits":"1000"},"period":"PERIOD_ONE_OFF"}`, g.id, g.priority))
	}
	f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"300"},"donorName":"J","channel":"CHANNEL_BANK","goal":"goals/docs"}`)
	var names []string
	token, pages := "", 0
	for {
		page := f.env.Do(t, "GET", "/v1/goals?pageSize=2&pageToken="+token, "").JSON(t)
		for _, g := range page["goals"].([]any) {
			goal := g.(map[string]any)
			names = append(names, goal["name"].(string))
			if read := f.env.Do(t, "GET", "/v1/"+goal["name"].(string), "").JSON(t); fmt.Sprint(read) != fmt.Sprint(goal) {
				t.Errorf("listed goal differs from its read:\n%v\n%v", goal, read)
			}
		}
		pages++
		if token, _ = page["nextPageToken"].(string); token == "" {
			break
		}
	}
	want := []string{"goals/dev-money", "goals/docs", "goals/hosting-2027", "goals/laptop", "goals/swag"}
	if !slices.Equal(names, want) || pages != 3 {
		t.Fatalf("listed %v in %d pages, want %v in 3", names, pages, want)
	}
}

// A goal's roadmap item is a cross-service name, checked with the roadmap
// service like people and teams are with membership: malformed and unknown
// items are INVALID_ARGUMENT on goal.roadmap_item, and nothing is stored.
func TestGoalRoadmapItemChecked(t *testing.T) {
	f := start(t)
	item := f.must(t, "POST", "/v1/items", `{"title":"Move the base to CentOS 6"}`)["name"].(string)
	goal := func(id, link string) string {
		return fmt.Sprintf(`{"displayName":%q,"target":{"currencyCode":"USD","minorUnits":"1000"},"period":"PERIOD_ONE_OFF","roadmapItem":%q}`, id, link)
	}
	for _, link := range []string{"not even a name", "items/", "releases/v9", "items/0190f4a1-7c2e-7000-8000-000000000000"} {
		res := f.admin.Do(t, "POST", "/v1/goals?goalId=bad", goal("bad", link))
		st := res.RPCStatus(t)
		if res.Status != 400 || st.Code != 3 || !slices.Contains(st.Fields(), "goal.roadmapItem") {
			t.Errorf("roadmapItem %q: HTTP %d fields %v, want 400 on goal.roadmap_item: %s", link, res.Status, st.Fields(), res.Body)
		}
	}
	if n := f.env.Do(t, "GET", "/v1/goals/bad", "").Status; n != 404 {
		t.Fatalf("a refused goal was stored: GET answers %d", n)
	}
	g := f.must(t, "POST", "/v1/goals?goalId=dev-money", goal("dev-money", item))
	if g["roadmapItem"] != item {
		t.Fatalf("roadmapItem %v, want %s", g["roadmapItem"], item)
	}
	res := f.admin.Do(t, "PATCH", "/v1/goals/dev-money", `{"roadmapItem":"items/0190f4a1-7c2e-7000-8000-000000000001"}`)
	if st := res.RPCStatus(t); res.Status != 400 || !slices.Contains(st.Fields(), "goal.roadmapItem") {
		t.Fatalf("PATCH to an unknown item: HTTP %d %s", res.Status, res.Body)
	}
	f.must(t, "PATCH", "/v1/goals/dev-money", `{"roadmapItem":""}`)
}
