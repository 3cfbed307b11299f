package transparency_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	transparencyv1 "github.com/guildhall/guildhall/gen/go/guildhall/transparency/v1"
)

// must sends a request that must succeed and returns its body as an object.
func must(t *testing.T, env *apptest.Env, method, path, body string) map[string]any {
	t.Helper()
	res := env.Do(t, method, path, body)
	if res.Status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, res.Status, res.Body)
	}
	return res.JSON(t)
}

// findItem is the item named name in the report's horizons.
func findItem(r *transparencyv1.TransparencyReport, name string) *roadmapv1.Item {
	for _, items := range [][]*roadmapv1.Item{r.GetRoadmap().GetNow(), r.GetRoadmap().GetNext(), r.GetRoadmap().GetLater()} {
		for _, it := range items {
			if it.GetName() == name {
				return it
			}
		}
	}
	return nil
}

// roadmapItem is the item named name in GET /v1/roadmap.
func roadmapItem(t *testing.T, env *apptest.Env, name string) *roadmapv1.Item {
	t.Helper()
	rm := &roadmapv1.Roadmap{}
	get(t, env, "/v1/roadmap", rm)
	for _, r := range rm.GetReleases() {
		for _, it := range r.GetItems() {
			if it.GetItem().GetName() == name {
				return it.GetItem()
			}
		}
	}
	for _, it := range rm.GetBacklog() {
		if it.GetItem().GetName() == name {
			return it.GetItem()
		}
	}
	t.Fatalf("%s is not on the roadmap", name)
	return nil
}

type figures struct {
	funded, staffed *int32
	done            int32
	filled, open    int32
	goals           int
}

func figuresOf(it *roadmapv1.Item) figures {
	return figures{funded: it.FundedPercent, staffed: it.StaffedPercent, done: it.GetDonePercent(),
		filled: it.GetFilledPositions(), open: it.GetOpenPositions(), goals: len(it.GetGoals())}
}

func (f figures) String() string {
	p := func(v *int32) string {
		if v == nil {
			return "absent"
		}
		return fmt.Sprint(*v)
	}
	return fmt.Sprintf("funded %s staffed %s done %d (filled %d, open %d, %d goals)", p(f.funded), p(f.staffed), f.done, f.filled, f.open, f.goals)
}

func same(a, b figures) bool {
	eq := func(x, y *int32) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return eq(a.funded, b.funded) && eq(a.staffed, b.staffed) && a.done == b.done && a.filled == b.filled && a.open == b.open && a.goals == b.goals
}

func pct(v int32) *int32 { return &v }

// TestItemProgress builds an item with goals and positions whose figures
// are known, and reads them from GetItem, GetRoadmap and the report.
func TestItemProgress(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) { c.TransparencyCacheTTL = 0 })
	admin := env.WithToken(apptest.AdminToken)
	env.Team(t, "dev")
	env.Team(t, "other")
	env.Person(t, "ann", false)
	env.Person(t, "bob", false)
	item := must(t, admin, "POST", "/v1/items", `{"title":"LDAP","ownerTeam":"teams/dev","state":"STATE_IN_PROGRESS","priority":90}`)["name"].(string)
	otherItem := must(t, admin, "POST", "/v1/items", `{"title":"Samba","ownerTeam":"teams/dev","state":"STATE_PLANNED"}`)["name"].(string)
	bare := must(t, admin, "POST", "/v1/items", `{"title":"VPS","state":"STATE_PROPOSED"}`)["name"].(string)

	// Before anything links it: no goal, no position.
	if got, want := figuresOf(roadmapItem(t, env, item)), (figures{done: 50}); !same(got, want) {
		t.Errorf("unlinked item: %v, want %v", got, want)
	}

	// Bank gifts are deposited in accounts/bank, which a fresh chart lacks.
	must(t, admin, "POST", "/v1/accounts?accountId=bank", `{"displayName":"Bank","type":"TYPE_ASSET","currencyCode":"USD"}`)
	// Goals: USD 2,500 of 10,000 and 15,000 of 10,000 (capped at its
	// target): 12,500 of 20,000 = 62%; EUR 0 of 1,000 = 0%; the mean is 31%.
	for _, g := range []struct{ id, body string }{
		{"usd-a", `{"displayName":"A","target":{"currencyCode":"USD","minorUnits":"10000"},"period":"PERIOD_ONE_OFF","priority":1,"roadmapItem":"` + item + `"}`},
		{"usd-b", `{"displayName":"B","target":{"currencyCode":"USD","minorUnits":"10000"},"period":"PERIOD_ONE_OFF","priority":2,"roadmapItem":"` + item + `"}`},
		{"eur", `{"displayName":"C","target":{"currencyCode":"EUR","minorUnits":"1000"},"period":"PERIOD_ONE_OFF","priority":3,"roadmapItem":"` + item + `"}`},
		{"elsewhere", `{"displayName":"D","target":{"currencyCode":"USD","minorUnits":"100"},"period":"PERIOD_ONE_OFF","roadmapItem":"` + otherItem + `"}`},
	} {
		must(t, admin, "POST", "/v1/goals?goalId="+g.id, g.body)
	}
	for _, d := range []string{`"minorUnits":"2500"},"goal":"goals/usd-a"`, `"minorUnits":"15000"},"goal":"goals/usd-b"`} {
		must(t, admin, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD",`+d+`,"donorName":"A friend","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_BANK"}`)
	}

	// Positions: two naming the item (one in another team), one of the
	// owner team naming no item, each open or filled, count; a closed one,
	// one naming another item and one of another team naming none do not.
	position := func(team, body string) string {
		return must(t, admin, "POST", "/v1/teams/"+team+"/positions", body)["name"].(string)
	}
	position("dev", `{"title":"p1","role":"ROLE_MEMBER","roadmapItem":"`+item+`"}`)
	p2 := position("dev", `{"title":"p2","role":"ROLE_MEMBER","roadmapItem":"`+item+`"}`)
	position("dev", `{"title":"p3","role":"ROLE_MEMBER"}`)
	position("dev", `{"title":"p4","role":"ROLE_MEMBER","state":"STATE_CLOSED"}`)
	position("dev", `{"title":"p5","role":"ROLE_MEMBER","roadmapItem":"`+otherItem+`"}`)
	p6 := position("other", `{"title":"p6","role":"ROLE_MEMBER","roadmapItem":"`+item+`"}`)
	position("other", `{"title":"p7","role":"ROLE_MEMBER"}`)
	must(t, admin, "POST", "/v1/"+p2+":fill", `{"person":"people/ann"}`)
	must(t, admin, "POST", "/v1/"+p6+":fill", `{"person":"people/bob"}`)

	// The filter names the positions of an item.
	linked := map[string]any{}
	if err := json.Unmarshal(env.Do(t, "GET", "/v1/teams/-/positions?roadmapItem="+item, "").Body, &linked); err != nil || len(linked["positions"].([]any)) != 3 {
		t.Errorf("positions naming the item: %v (%v)", linked, err)
	}

	want := figures{funded: pct(31), staffed: pct(50), done: 50, filled: 2, open: 2, goals: 3}
	one := &roadmapv1.Item{}
	get(t, env, "/v1/"+item, one)
	if got := figuresOf(one); !same(got, want) {
		t.Errorf("GetItem: %v, want %v", got, want)
	}
	if got := figuresOf(roadmapItem(t, env, item)); !same(got, want) {
		t.Errorf("GetRoadmap: %v, want %v", got, want)
	}
	list := &roadmapv1.ListItemsResponse{}
	get(t, env, "/v1/items?ownerTeam=teams/dev&pageSize=10", list)
	var listed *roadmapv1.Item
	for _, it := range list.GetItems() {
		if it.GetName() == item {
			listed = it
		}
	}
	if listed == nil || !same(figuresOf(listed), want) {
		t.Errorf("ListItems: %v, want %v", listed, want)
	}
	r, _ := report(t, env)
	if it := findItem(r, item); it == nil || !same(figuresOf(it), want) {
		t.Errorf("report: %v, want %v", it, want)
	}
	// The other item: its goal has raised nothing; p5 names it, and the
	// owner team's p3 (naming no item) counts for it too.
	if got, want := figuresOf(roadmapItem(t, env, otherItem)), (figures{funded: pct(0), staffed: pct(0), done: 0, filled: 0, open: 2, goals: 1}); !same(got, want) {
		t.Errorf("other item: %v, want %v", got, want)
	}
	// An item without an owner team or links has only done.
	if got, want := figuresOf(roadmapItem(t, env, bare)), (figures{done: 0}); !same(got, want) {
		t.Errorf("bare item: %v, want %v", got, want)
	}
}
