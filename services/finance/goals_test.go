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
