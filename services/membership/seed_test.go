package membership_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/services/membership"
)

// adminConn adds the admin token to every call, as `guildhall seed` does.
type adminConn struct{ *grpc.ClientConn }

func (c adminConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.ClientConn.Invoke(apptest.Outgoing(ctx, apptest.AdminToken), method, args, reply, opts...)
}

// TestSeedSMETwice loads the SME community twice: the second run adds nothing.
func TestSeedSMETwice(t *testing.T) {
	env := apptest.Start(t)
	db := env.DB(t, "membership")
	counts := func() map[string]int {
		out := map[string]int{}
		for _, table := range []string{"people", "teams", "team_members", "positions", "packages", "package_maintainers"} {
			var n int
			if err := db.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[table] = n
		}
		return out
	}
	ctx := context.Background()
	if err := membership.SeedSME(ctx, adminConn{env.Conn}); err != nil {
		t.Fatal(err)
	}
	first := counts()
	// 14 people named in the text, the newcomer who became active, and the
	// bootstrap admin; seven areas; four positions; three packages, two
	// with a maintainer.
	want := map[string]int{"people": 16, "teams": 7, "positions": 4, "packages": 3, "package_maintainers": 2}
	for k, n := range want {
		if first[k] != n {
			t.Errorf("%s: %d, want %d", k, first[k], n)
		}
	}
	if err := membership.SeedSME(ctx, adminConn{env.Conn}); err != nil {
		t.Fatal(err)
	}
	if second := counts(); !equal(first, second) {
		t.Fatalf("second seed changed counts: %v then %v", first, second)
	}

	// Spot checks: Finance & Legal grants the finance permissions, Ian Wells
	// leads Development, the forum moderator position is open, John Crisp holds
	// the lead position "open to discussion".
	team := mustOK(t, env.Do(t, "GET", "/v1/teams/finance", ""), "finance")
	if team["displayName"] != "Finance & Legal" || len(team["permissions"].([]any)) != 4 {
		t.Errorf("finance team %v", team)
	}
	var role string
	if err := db.QueryRow(ctx, `SELECT role FROM team_members WHERE team_id = 'development' AND person_id = 'iwells'`).Scan(&role); err != nil || role != "lead" {
		t.Errorf("iwells in development: %q %v", role, err)
	}
	var state string
	if err := db.QueryRow(ctx, `SELECT state FROM positions WHERE team_id = 'forums' AND title = 'Forum moderator'`).Scan(&state); err != nil || state != "open" {
		t.Errorf("forum moderator: %q %v", state, err)
	}
	var filledBy string
	var discuss bool
	if err := db.QueryRow(ctx, `SELECT filled_by, open_to_discussion FROM positions WHERE title = 'Coordinator'`).Scan(&filledBy, &discuss); err != nil || filledBy != "jcrisp" || !discuss {
		t.Errorf("coordinator: %q %v %v", filledBy, discuss, err)
	}
	p := mustOK(t, env.Do(t, "GET", "/v1/people/jester", ""), "jester")
	if p["handles"].(map[string]any)["irc"] != "jester" {
		t.Errorf("jester %v", p)
	}
	checkSMEStory(t, env)
}

// checkSMEStory checks the seeded community tells the story of the seed
// document: every area has members, and a lead or drift's flag saying it
// lacks one; volunteers stand at every stage of the funnel; an old package
// has nobody looking after it.
func checkSMEStory(t *testing.T, env *apptest.Env) {
	t.Helper()
	admin := env.WithToken(apptest.AdminToken)
	flagged := map[string]bool{}
	for _, e := range list(t, mustOK(t, admin.Do(t, "GET", "/v1/people:drift?pageSize=1000", ""), "drift"), "driftEvents") {
		if e["stage"] == "TEAM_LEADERLESS" && e["resolveTime"] == nil {
			flagged[e["team"].(string)] = true
		}
	}
	teams := list(t, mustOK(t, env.Do(t, "GET", "/v1/teams", ""), "teams"), "teams")
	if len(teams) != 7 {
		t.Errorf("%d teams, want 7", len(teams))
	}
	for _, team := range teams {
		name := team["name"].(string)
		members := list(t, mustOK(t, env.Do(t, "GET", "/v1/"+name+"/members?pageSize=1000", ""), name), "teamMembers")
		lead := false
		for _, m := range members {
			lead = lead || m["role"] == "ROLE_LEAD"
		}
		if len(members) == 0 {
			t.Errorf("%s has no members", name)
		}
		if !lead && !flagged[name] {
			t.Errorf("%s has no lead and no drift flag saying so", name)
		}
		if lead && flagged[name] {
			t.Errorf("%s has a lead but is flagged leaderless", name)
		}
	}
	forums := list(t, mustOK(t, env.Do(t, "GET", "/v1/teams/forums/members", ""), "forums"), "teamMembers")
	if len(forums) != 2 {
		t.Errorf("forums members %v, want Terry Fage and Stéphane de Labrusse", forums)
	}
	stats := mustOK(t, admin.Do(t, "GET", "/v1/volunteers:stats", ""), "stats")
	stages := map[string]bool{}
	for _, v := range list(t, mustOK(t, admin.Do(t, "GET", "/v1/volunteers?pageSize=1000", ""), "volunteers"), "volunteers") {
		stages[v["state"].(string)] = true
	}
	for _, st := range []string{"STATE_NEW", "STATE_CONTACTED", "STATE_MATCHED", "STATE_ONBOARDING", "STATE_ACTIVE", "STATE_DECLINED", "STATE_WITHDRAWN"} {
		if !stages[st] {
			t.Errorf("no volunteer at %s (stats %v)", st, stats)
		}
	}
	unmaintained := false
	for _, p := range list(t, mustOK(t, env.Do(t, "GET", "/v1/packages", ""), "packages"), "packages") {
		unmaintained = unmaintained || p["state"] == "STATE_UNMAINTAINED"
	}
	if !unmaintained {
		t.Error("no unmaintained package")
	}
}

func equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
