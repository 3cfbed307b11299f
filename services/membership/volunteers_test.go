package membership_test

import (
	"context"
	"math"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
)

const day = 24 * time.Hour

// TestVolunteerFunnel drives offers through the funnel over REST and checks
// the history, the linked person and position, and the stats.
func TestVolunteerFunnel(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	lead := env.WithToken(a.Lead)
	admin := env.WithToken(a.Admin)
	// A coordinator (volunteers.coordinate) runs the funnel.
	env.Team(t, "welcome", "volunteers.coordinate")
	coord := env.WithToken(env.Person(t, "coord", false))
	env.Member(t, "welcome", "coord", "member")

	// offer sends an anonymous offer and returns its name (found as a lead).
	offer := func(name, skills string, hours int) string {
		t.Helper()
		res := env.Do(t, "POST", "/v1/volunteers", `{"displayName":"`+name+`","contact":"`+name+`@example.org","skills":`+skills+
			`,"hoursPerMonth":`+itoa(hours)+`,"interests":"anything"}`)
		ack := mustOK(t, res, "offer")
		if len(ack) != 1 || ack["message"] == "" {
			t.Fatalf("the acknowledgement reveals more than a message: %s", res.Body)
		}
		for _, v := range list(t, mustOK(t, lead.Do(t, "GET", "/v1/volunteers", ""), "list"), "volunteers") {
			if v["displayName"] == name {
				if v["state"] != "STATE_NEW" {
					t.Fatalf("new offer: %v", v)
				}
				return v["name"].(string)
			}
		}
		t.Fatalf("offer %s not listed", name)
		return ""
	}
	move := func(v, body string, want int) map[string]any {
		t.Helper()
		res := coord.Do(t, "POST", "/v1/"+v+":transition", body)
		if res.Status != want {
			t.Fatalf("transition %s %s: HTTP %d, want %d: %s", v, body, res.Status, want, res.Body)
		}
		return res.JSON(t)
	}

	tester := mustOK(t, lead.Do(t, "POST", "/v1/teams/development/positions",
		`{"title":"Tester","role":"ROLE_MEMBER","skills":["testing","perl"],"hoursPerMonth":8}`), "position")["name"].(string)
	mustOK(t, lead.Do(t, "POST", "/v1/teams/development/positions",
		`{"title":"Designer","role":"ROLE_MEMBER","skills":["css"],"hoursPerMonth":40}`), "position")

	start := env.Clock.Now()
	ann := offer("ann", `["testing","perl"]`, 10)

	// Illegal moves say why and change nothing.
	res := coord.Do(t, "POST", "/v1/"+ann+":transition", `{"state":"STATE_ACTIVE","person":"people/member"}`)
	if st := res.RPCStatus(t); res.Status != http.StatusBadRequest || st.Reason() != "ILLEGAL_TRANSITION" {
		t.Fatalf("NEW→ACTIVE: HTTP %d %s", res.Status, res.Body)
	}
	// :suggest ranks the tester position first: both skills, enough hours.
	sug := list(t, mustOK(t, lead.Do(t, "GET", "/v1/"+ann+":suggest", ""), "suggest"), "suggestions")
	if len(sug) != 2 || sug[0]["position"] != tester || sug[0]["score"].(float64) <= sug[1]["score"].(float64) ||
		len(sug[0]["matchingSkills"].([]any)) != 2 {
		t.Fatalf("suggestions %v", sug)
	}

	env.Clock.Advance(day)
	move(ann, `{"state":"STATE_CONTACTED","note":"emailed"}`, http.StatusOK)
	move(ann, `{"state":"STATE_MATCHED"}`, http.StatusBadRequest) // needs a position
	env.Clock.Advance(day)
	move(ann, `{"state":"STATE_MATCHED","position":"`+tester+`"}`, http.StatusOK)
	move(ann, `{"state":"STATE_ONBOARDING"}`, http.StatusOK)
	env.Person(t, "ann", false)
	move(ann, `{"state":"STATE_ACTIVE"}`, http.StatusBadRequest) // needs a person
	env.Clock.Advance(day)
	v := move(ann, `{"state":"STATE_ACTIVE","person":"people/ann"}`, http.StatusOK)
	if v["person"] != "people/ann" || v["position"] != tester || v["state"] != "STATE_ACTIVE" {
		t.Fatalf("active offer: %v", v)
	}
	hist := v["history"].([]any)
	wantStates := []string{"STATE_CONTACTED", "STATE_MATCHED", "STATE_ONBOARDING", "STATE_ACTIVE"}
	if len(hist) != len(wantStates) {
		t.Fatalf("history %v", hist)
	}
	for i, h := range hist {
		h := h.(map[string]any)
		if h["toState"] != wantStates[i] || h["actor"] != "people/coord" || h["time"] == nil {
			t.Errorf("history[%d] = %v", i, h)
		}
	}
	// ACTIVE is final.
	res = coord.Do(t, "POST", "/v1/"+ann+":transition", `{"state":"STATE_WITHDRAWN"}`)
	if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "ILLEGAL_TRANSITION" {
		t.Fatalf("ACTIVE→WITHDRAWN: HTTP %d %s", res.Status, res.Body)
	}
	// The matched position went to the new person, who joined the team.
	pos := mustOK(t, env.Do(t, "GET", "/v1/"+tester, ""), "position")
	if pos["state"] != "STATE_FILLED" || pos["filledBy"] != "people/ann" {
		t.Fatalf("position %v", pos)
	}
	members := list(t, mustOK(t, env.Do(t, "GET", "/v1/teams/development/members", ""), "members"), "teamMembers")
	if !slices.ContainsFunc(members, func(m map[string]any) bool { return m["person"] == "people/ann" }) {
		t.Fatalf("ann is not a member: %v", members)
	}

	// bob takes 7 days; carl is declined; dora is still new.
	bob := offer("bob", `["css"]`, 40)
	for _, st := range []string{"STATE_CONTACTED", "STATE_MATCHED", "STATE_ONBOARDING"} {
		body := `{"state":"` + st + `"}`
		if st == "STATE_MATCHED" {
			open := list(t, mustOK(t, env.Do(t, "GET", "/v1/teams/-/positions?state=STATE_OPEN", ""), "open"), "positions")
			body = `{"state":"STATE_MATCHED","position":"` + open[0]["name"].(string) + `"}`
		}
		move(bob, body, http.StatusOK)
	}
	env.Clock.Advance(7 * day)
	env.Person(t, "bob", false)
	move(bob, `{"state":"STATE_ACTIVE","person":"people/bob"}`, http.StatusOK)
	carl := offer("carl", `[]`, 0)
	move(carl, `{"state":"STATE_DECLINED","note":"no reply"}`, http.StatusOK)
	offer("dora", `[]`, 2)

	stats := mustOK(t, admin.Do(t, "GET", "/v1/volunteers:stats", ""), "stats")
	counts := stats["countByState"].(map[string]any)
	want := map[string]float64{"STATE_NEW": 1, "STATE_CONTACTED": 0, "STATE_MATCHED": 0, "STATE_ONBOARDING": 0,
		"STATE_ACTIVE": 2, "STATE_DECLINED": 1, "STATE_WITHDRAWN": 0}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("count %s = %v, want %v", k, counts[k], n)
		}
	}
	// ann: 3 days from offer to active; bob: 7. Median 5, conversion 2/4.
	if stats["total"] != float64(4) || stats["conversionRate"] != 0.5 || math.Abs(stats["medianDaysToActive"].(float64)-5) > 0.001 {
		t.Fatalf("stats %v (clock moved %v)", stats, env.Clock.Now().Sub(start))
	}
	// The only filter that matters to a lead: what is waiting.
	if vs := list(t, mustOK(t, lead.Do(t, "GET", "/v1/volunteers?state=STATE_NEW", ""), "new"), "volunteers"); len(vs) != 1 || vs[0]["displayName"] != "dora" {
		t.Fatalf("new offers %v", vs)
	}
}

// TestOfferRateLimit: offers are limited per client address, and a forged
// X-Forwarded-For does not get round it.
func TestOfferRateLimit(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) { c.VolunteerRatePerMinute = 2 })
	body := `{"displayName":"x","contact":"x@example.org"}`
	for i := range 2 {
		mustOK(t, env.Do(t, "POST", "/v1/volunteers", body, "X-Forwarded-For", "10.0.0."+itoa(i)), "offer")
	}
	res := env.Do(t, "POST", "/v1/volunteers", body, "X-Forwarded-For", "10.9.9.9")
	if res.Status != http.StatusTooManyRequests {
		t.Fatalf("third offer: HTTP %d %s", res.Status, res.Body)
	}
	env.Clock.Advance(time.Minute)
	mustOK(t, env.Do(t, "POST", "/v1/volunteers", body), "offer after a minute")
	var n int
	if err := env.DB(t, "membership").QueryRow(context.Background(), `SELECT count(*) FROM volunteers`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("stored offers: %d %v", n, err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
