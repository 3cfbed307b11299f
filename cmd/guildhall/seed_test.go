package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSeedSME loads the demo data through `guildhall seed sme` against a
// running dev started as `make run` does, twice, with no variables of its
// own (it finds dev where dev listens, with make run's token), and checks
// the second run adds nothing.
func TestSeedSME(t *testing.T) {
	vars, a := devEnv(t)
	vars["GUILDHALL_LOG_LEVEL"] = "error"
	vars["GUILDHALL_BOOTSTRAP_ADMIN_TOKEN"] = devAdminToken
	for k, v := range vars {
		t.Setenv(k, v)
	}
	startDev(t, a.http)
	// What a second terminal has: no token, no targets.
	os.Unsetenv("GUILDHALL_BOOTSTRAP_ADMIN_TOKEN")
	for _, svc := range []string{"MEMBERSHIP", "ROADMAP", "FINANCE"} {
		t.Setenv("GUILDHALL_"+svc+"_TARGET", "")
		os.Unsetenv("GUILDHALL_" + svc + "_TARGET")
	}

	counts := func() map[string]int {
		out := map[string]int{}
		for _, path := range []string{"/v1/teams", "/v1/people", "/v1/releases", "/v1/items", "/v1/proposals", "/v1/accounts", "/v1/donations", "/v1/goals"} {
			resp, err := http.Get("http://" + a.http + path + "?pageSize=1000")
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
			}
			for k, v := range body {
				if list, ok := v.([]any); ok {
					out[path+" "+k] = len(list)
				}
			}
		}
		return out
	}
	// A token the server does not know: the error says how to get one.
	err := run(context.Background(), []string{"seed", "sme", "--token", "not-a-token"}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "--token") || !strings.Contains(err.Error(), "GUILDHALL_BOOTSTRAP_ADMIN_TOKEN") ||
		!strings.Contains(err.Error(), "token create --admin") {
		t.Fatalf("seed with an unknown token: %v; want a hint at --token, GUILDHALL_BOOTSTRAP_ADMIN_TOKEN and token create", err)
	}
	if err := run(context.Background(), []string{"seed", "sme"}, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	first := counts()
	for _, key := range []string{"/v1/teams teams", "/v1/releases releases", "/v1/accounts accounts", "/v1/donations donations"} {
		if first[key] == 0 {
			t.Errorf("%s is empty after seeding: %v", key, first)
		}
	}
	if first["/v1/teams teams"] != 7 {
		t.Errorf("want the seed's seven teams, got %d", first["/v1/teams teams"])
	}
	if err := run(context.Background(), []string{"seed", "sme"}, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	if second := counts(); !maps.Equal(first, second) {
		t.Fatalf("second seed changed counts:\n first %v\nsecond %v", first, second)
	}
	checkSeedLoaded(t, "http://"+a.http, devAdminToken)
	if err := run(context.Background(), []string{"seed", "nonsense"}, &strings.Builder{}); err == nil {
		t.Fatal("unknown data set accepted")
	}
}

// checkSeedLoaded checks, over REST, that the whole SME seed is there:
// seven teams with members, each with a lead or drift's flag saying it has
// none; John Crisp; volunteers at every stage; an unmaintained package; a
// year of donations and of hosting paid back as expenses; the development
// money goal linked to the v9 work; status updates and proposals by people,
// not the admin.
func checkSeedLoaded(t *testing.T, base, token string) {
	t.Helper()
	get := func(path string, auth bool) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v %v", path, resp.StatusCode, err, body)
		}
		return body
	}
	items := func(body map[string]any, field string) []map[string]any {
		var out []map[string]any
		for _, v := range body[field].([]any) {
			out = append(out, v.(map[string]any))
		}
		return out
	}
	flagged := map[string]bool{}
	for _, e := range items(get("/v1/people:drift?pageSize=1000", true), "driftEvents") {
		if e["stage"] == "TEAM_LEADERLESS" && e["resolveTime"] == nil {
			flagged[e["team"].(string)] = true
		}
	}
	teams := items(get("/v1/teams", false), "teams")
	if len(teams) != 7 {
		t.Errorf("%d teams, want 7", len(teams))
	}
	for _, team := range teams {
		name := team["name"].(string)
		members := items(get("/v1/"+name+"/members?pageSize=1000", false), "teamMembers")
		lead := false
		for _, m := range members {
			lead = lead || m["role"] == "ROLE_LEAD"
		}
		if len(members) == 0 || (!lead && !flagged[name]) {
			t.Errorf("%s: %d members, lead %v, flagged %v", name, len(members), lead, flagged[name])
		}
	}
	if p := get("/v1/people/jcrisp", false); p["displayName"] != "John Crisp" {
		t.Errorf("jcrisp is %v", p["displayName"])
	}
	stages := map[string]bool{}
	for _, v := range items(get("/v1/volunteers?pageSize=1000", true), "volunteers") {
		stages[v["state"].(string)] = true
	}
	if len(stages) != 7 {
		t.Errorf("volunteers at %d stages, want all 7: %v", len(stages), stages)
	}
	unmaintained := false
	for _, p := range items(get("/v1/packages", false), "packages") {
		unmaintained = unmaintained || p["state"] == "STATE_UNMAINTAINED"
	}
	if !unmaintained {
		t.Error("no unmaintained package")
	}
	seeded := 0
	for _, d := range items(get("/v1/donations?pageSize=1000", true), "donations") {
		if strings.HasPrefix(fmt.Sprint(d["externalReference"]), "SEED-") {
			seeded++
		}
	}
	paid := 0
	for _, e := range items(get("/v1/expenses?pageSize=1000", true), "expenses") {
		if e["state"] == "STATE_PAID" && e["submitter"] == "people/slords" {
			paid++
		}
	}
	if seeded != 48 || paid != 12 {
		t.Errorf("%d seeded donations and %d hosting expenses paid; want 48 and 12", seeded, paid)
	}
	// A demo community's books are not in the red: every month of the
	// seed's year closes with bank and PayPal at or above zero, and a
	// runway that is not negative, as the treasurer sees them and as the
	// public does (without the private gifts).
	now := time.Now().UTC()
	for m := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -12, 0); !m.After(now); m = m.AddDate(0, 1, 0) {
		for _, auth := range []bool{true, false} {
			month := m.Format("2006-01")
			cur := items(get("/v1/reports/monthly?month="+month, auth), "currencies")
			if len(cur) != 1 {
				t.Fatalf("%s: %d currencies, want USD only", month, len(cur))
			}
			closing := map[string]int64{}
			for _, b := range cur[0]["closingBalances"].([]any) {
				b := b.(map[string]any)
				n, _ := strconv.ParseInt(fmt.Sprint(b["minorUnits"]), 10, 64)
				closing[fmt.Sprint(b["key"])] = n
			}
			for _, acct := range []string{"accounts/bank", "accounts/paypal"} {
				if bal, ok := closing[acct]; !ok || bal < 0 {
					t.Errorf("%s (authenticated %v): %s closes at %d (listed %v)", month, auth, acct, bal, ok)
				}
			}
			if rw, ok := cur[0]["runwayMonths"].(float64); ok && rw < 0 {
				t.Errorf("%s: runway %v months", month, rw)
			}
			if cash, _ := strconv.ParseInt(fmt.Sprint(cur[0]["cash"]), 10, 64); cash <= 0 {
				t.Errorf("%s: cash %d", month, cash)
			}
		}
	}
	if g := get("/v1/goals/development-money", false); !strings.HasPrefix(fmt.Sprint(g["roadmapItem"]), "items/") {
		t.Errorf("development money pays for %v", g["roadmapItem"])
	}
	proposals := items(get("/v1/proposals", false), "proposals")
	if len(proposals) != 2 {
		t.Errorf("%d proposals, want 2", len(proposals))
	}
	for _, it := range items(get("/v1/items?pageSize=1000", false), "items") {
		for _, u := range items(get("/v1/"+it["name"].(string)+"/updates", false), "itemUpdates") {
			if u["author"] == "people/admin" {
				t.Errorf("%s: a status update by the admin", it["title"])
			}
		}
	}
}
