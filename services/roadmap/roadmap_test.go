package roadmap_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestRoadmapView(t *testing.T) {
	f := start(t)
	newRelease(t, f.admin, "v8", `{"displayName":"8","state":"STATE_MAINTAINED","releaseDate":"2013-01-01"}`)
	newRelease(t, f.admin, "v9", `{"displayName":"9","state":"STATE_IN_DEVELOPMENT","targetDate":"2015-06-01"}`)
	newRelease(t, f.admin, "v9-1", `{"displayName":"9.1","targetDate":"2016-01-01"}`)
	newRelease(t, f.admin, "v7", `{"displayName":"7","state":"STATE_RELEASED","releaseDate":"2010-01-01"}`)
	ok(t, f.admin.Do(t, http.MethodPost, "/v1/releases/v7:transition", `{"state":"STATE_END_OF_LIFE"}`), http.StatusOK)

	base := newItem(t, f.admin, `{"title":"Base move","description":"`+strings.Repeat("long text ", 100)+`","release":"releases/v9","state":"STATE_IN_PROGRESS","priority":90}`)
	v9planned := newItem(t, f.admin, `{"title":"Installer","release":"releases/v9","state":"STATE_PLANNED"}`)
	v9done := newItem(t, f.admin, `{"title":"Build system","release":"releases/v9","state":"STATE_DONE"}`)
	ldap := newItem(t, f.admin, `{"title":"LDAP","release":"releases/v9-1","state":"STATE_PLANNED","priority":50}`)
	vps := newItem(t, f.admin, `{"title":"VPS","release":"releases/v9-1","state":"STATE_PROPOSED"}`)
	idea := newItem(t, f.admin, `{"title":"Idea","state":"STATE_PROPOSED"}`)
	later := newItem(t, f.admin, `{"title":"Deferred","state":"STATE_DEFERRED"}`)
	no := newItem(t, f.admin, `{"title":"Declined","state":"STATE_DECLINED"}`)

	open := newProposal(t, f.admin, `{"question":"LDAP backend?","method":"METHOD_CONSENT","linkedItems":["`+ldap+`"],"closeTime":"2999-01-01T00:00:00Z"}`)
	ok(t, f.admin.Do(t, http.MethodPost, "/v1/"+open+":open", `{}`), http.StatusOK)
	draft := newProposal(t, f.admin, `{"question":"Draft","method":"METHOD_CONSENT","linkedItems":["`+ldap+`"]}`)
	closing := newProposal(t, f.admin, `{"question":"Soon over","method":"METHOD_CONSENT","linkedItems":["`+base+`"],
		"closeTime":"`+f.env.Clock.Now().Add(time.Hour).Format(time.RFC3339)+`"}`)
	ok(t, f.admin.Do(t, http.MethodPost, "/v1/"+closing+":open", `{}`), http.StatusOK)
	_ = draft
	// A decision about the release as a whole, open now.
	forRelease := newProposal(t, f.admin, `{"question":"Ship 9.1 with Samba 4?","method":"METHOD_CONSENT","linkedReleases":["releases/v9-1"],"closeTime":"2999-01-01T00:00:00Z"}`)
	ok(t, f.admin.Do(t, http.MethodPost, "/v1/"+forRelease+":open", `{}`), http.StatusOK)

	get := func(query string) map[string]any {
		return ok(t, f.env.Do(t, http.MethodGet, "/v1/roadmap"+query, ""), http.StatusOK)
	}
	rm := get("")
	var order []string
	items := map[string]map[string]any{}
	for _, r := range asList(rm["releases"]) {
		rel := r["release"].(map[string]any)
		order = append(order, rel["name"].(string))
		if rel["name"] == "releases/v9" && (rel["itemCount"] != 3.0 || rel["doneCount"] != 1.0) {
			t.Errorf("v9 progress %v/%v", rel["doneCount"], rel["itemCount"])
		}
		for _, it := range asList(r["items"]) {
			items[it["item"].(map[string]any)["name"].(string)] = it
		}
	}
	// The page lists titles; descriptions come with GetItem.
	if d := items[base]["item"].(map[string]any)["description"]; d != "" {
		t.Errorf("the roadmap carries an item description: %.40v…", d)
	}
	if want := []string{"releases/v7", "releases/v8", "releases/v9", "releases/v9-1"}; !slices.Equal(order, want) {
		t.Errorf("release order %v, want %v", order, want)
	}
	var backlog []string
	for _, it := range asList(rm["backlog"]) {
		backlog = append(backlog, it["item"].(map[string]any)["name"].(string))
		items[it["item"].(map[string]any)["name"].(string)] = it
	}
	slices.Sort(backlog)
	wantBacklog := []string{idea, later, no}
	slices.Sort(wantBacklog)
	if !slices.Equal(backlog, wantBacklog) {
		t.Errorf("backlog %v", backlog)
	}
	h := rm["horizons"].(map[string]any)
	names := func(k string) []string {
		var out []string
		for _, v := range asSlice(h[k]) {
			out = append(out, v.(string))
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	if got, want := names("now"), sorted(base, v9planned); !slices.Equal(got, want) {
		t.Errorf("now %v, want %v", got, want)
	}
	if got, want := names("next"), sorted(ldap); !slices.Equal(got, want) {
		t.Errorf("next %v, want %v", got, want)
	}
	if got, want := names("later"), sorted(vps, idea, later); !slices.Equal(got, want) {
		t.Errorf("later %v, want %v", got, want)
	}
	for _, it := range []string{v9done, no} {
		if h := items[it]["horizon"]; h != nil && h != "HORIZON_UNSPECIFIED" {
			t.Errorf("done/declined item has horizon %v", h)
		}
	}
	props := func(it string) []string {
		var out []string
		for _, p := range asList(items[it]["openProposals"]) {
			out = append(out, p["name"].(string))
		}
		return out
	}
	if got := props(ldap); !slices.Equal(got, []string{open}) {
		t.Errorf("LDAP's open proposals %v, want only %s (not the draft)", got, open)
	}
	if got := props(base); !slices.Equal(got, []string{closing}) {
		t.Errorf("base move's open proposals %v", got)
	}
	// Proposals linked to a release appear on the release.
	for _, r := range asList(rm["releases"]) {
		rel := r["release"].(map[string]any)["name"]
		got := asList(r["openProposals"])
		if rel == "releases/v9-1" && (len(got) != 1 || got[0]["name"] != forRelease || got[0]["state"] != "STATE_OPEN") {
			t.Errorf("v9.1's open proposals %v, want %s", got, forRelease)
		}
		if rel != "releases/v9-1" && len(got) != 0 {
			t.Errorf("%s lists proposals %v", rel, got)
		}
	}
	// Once its close time passes, a proposal is no longer open on the roadmap:
	// it stays on its item's view as a closed decision, with its outcome.
	f.env.Clock.Advance(2 * time.Hour)
	ok(t, f.admin.Do(t, http.MethodPatch, "/v1/"+closing+"?updateMask=outcome,review_date",
		`{"outcome":"Move to CentOS 6.","reviewDate":"2027-01-01"}`), http.StatusOK)
	rm = get("?hideEndOfLife=true")
	if rs := asList(rm["releases"]); len(rs) != 3 {
		t.Errorf("hideEndOfLife: %d releases", len(rs))
	}
	found := false
	for _, r := range asList(rm["releases"]) {
		for _, it := range asList(r["items"]) {
			if it["item"].(map[string]any)["name"] != base {
				continue
			}
			found = true
			if len(asList(it["openProposals"])) != 0 {
				t.Errorf("closed proposal still listed as open on the base move")
			}
			cl := asList(it["closedProposals"])
			if len(cl) != 1 || cl[0]["name"] != closing || cl[0]["state"] != "STATE_CLOSED" ||
				cl[0]["outcome"] != "Move to CentOS 6." || cl[0]["reviewDate"] != "2027-01-01" {
				t.Errorf("base move's closed decisions %v", cl)
			}
		}
	}
	if !found {
		t.Fatal("base move missing from the roadmap")
	}
}

// Votes and status updates are queued for membership in the write's own
// transaction, and the drainer delivers them (people.last_active_time).
func TestActivityReachesMembership(t *testing.T) {
	f := start(t)
	voter := f.env.Person(t, "active-voter", false)
	writer := f.env.Person(t, "active-writer", false)
	item := newItem(t, f.admin, `{"title":"t","ownerPeople":["people/active-writer"]}`)
	db := f.env.DB(t, "roadmap")
	// A failed write leaves nothing in the outbox.
	refused(t, f.env.WithToken(writer).Do(t, http.MethodPost, "/v1/"+item+"/updates", `{"text":"x","newState":"STATE_DONE"}`), http.StatusBadRequest)
	refused(t, f.env.WithToken(voter).Do(t, http.MethodPost, "/v1/items/"+uuid.NewString()+":vote", `{}`), http.StatusNotFound)

	ok(t, f.env.WithToken(voter).Do(t, http.MethodPost, "/v1/"+item+":vote", `{}`), http.StatusOK)
	ok(t, f.env.WithToken(writer).Do(t, http.MethodPost, "/v1/"+item+"/updates", `{"text":"on it","newState":"STATE_IN_PROGRESS"}`), http.StatusOK)
	// A repeated vote adds no activity.
	ok(t, f.env.WithToken(voter).Do(t, http.MethodPost, "/v1/"+item+":vote", `{}`), http.StatusOK)

	members := f.env.DB(t, "membership")
	deadline := time.Now().Add(20 * time.Second)
	for {
		var active int
		if err := members.QueryRow(context.Background(),
			`SELECT count(*) FROM people WHERE id IN ('active-voter', 'active-writer') AND last_active_time IS NOT NULL`).Scan(&active); err != nil {
			t.Fatal(err)
		}
		var queued int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM outbox`).Scan(&queued); err != nil {
			t.Fatal(err)
		}
		if active == 2 && queued == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %d of 2 people active in membership, %d activity rows still queued", active, queued)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
