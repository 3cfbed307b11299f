package membership_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guildhall/guildhall/app/apptest"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
)

const internalToken = "gh_internal-test-token" // apptest's GUILDHALL_INTERNAL_TOKEN

// TestDrift moves the clock (no scheduler involved) and checks each stage,
// the vacated roles, the recorded steps and that reported activity resets it.
// Default windows: nudged after 90 days, inactive 14 days later, emeritus
// 180 days after that.
func TestDrift(t *testing.T) {
	env := apptest.Start(t)
	admin := env.WithToken(apptest.AdminToken)
	env.Team(t, "development", "roadmap.edit")
	for _, p := range []string{"drifter", "keeper", "sleeper"} {
		env.Person(t, p, false)
	}
	env.Member(t, "development", "drifter", "lead")
	env.Member(t, "development", "keeper", "member")
	env.Member(t, "development", "sleeper", "moderator")
	db := env.DB(t, "membership")
	// The roles' start is each person's drift basis until they are active.
	sinceOf := func(id string) time.Time {
		var since time.Time
		if err := db.QueryRow(context.Background(), `SELECT since FROM team_members WHERE person_id = $1`, id).Scan(&since); err != nil {
			t.Fatal(err)
		}
		return since
	}
	since, sleeperSince := sinceOf("drifter"), sinceOf("sleeper")
	client := membershipv1.NewMembershipServiceClient(env.Conn)
	report := func(person, event string) int32 {
		t.Helper()
		resp, err := client.ReportActivity(apptest.Outgoing(context.Background(), internalToken), &membershipv1.ReportActivityRequest{
			Activities: []*membershipv1.Activity{{EventId: event, Person: "people/" + person, Kind: "vote", Time: timestamppb.New(env.Clock.Now())}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetRecorded()
	}
	person := func(id string) map[string]any {
		t.Helper()
		return mustOK(t, admin.Do(t, "GET", "/v1/people/"+id, ""), "get "+id)
	}
	expect := func(id, state string, nudged bool) {
		t.Helper()
		p := person(id)
		if p["state"] != state || p["nudged"] != nudged {
			t.Fatalf("%s at +%v: state %v nudged %v, want %s %v", id, env.Clock.Now().Sub(since).Round(time.Hour), p["state"], p["nudged"], state, nudged)
		}
	}

	mustOK(t, admin.Do(t, "POST", "/v1/packages?packageId=mailstats", `{"displayName":"mailstats","maintainers":["people/drifter"]}`), "package")

	env.Clock.Advance(89 * day)
	expect("drifter", "STATE_ACTIVE", false)
	env.Clock.Advance(2 * day) // +91d
	if report("keeper", "e1") != 1 || report("keeper", "e1") != 0 {
		t.Fatal("activity is not idempotent by event id")
	}
	keeperBasis := env.Clock.Now().Truncate(time.Microsecond) // PostgreSQL keeps microseconds
	expect("drifter", "STATE_ACTIVE", true)
	expect("keeper", "STATE_ACTIVE", false)
	env.Clock.Advance(14 * day) // +105d
	expect("drifter", "STATE_INACTIVE", false)
	expect("keeper", "STATE_ACTIVE", false)
	env.Clock.Advance(180 * day) // +285d
	expect("drifter", "STATE_EMERITUS", false)
	expect("keeper", "STATE_INACTIVE", false) // 194 days after their activity

	// drifter's lead role is now an open position of the team; the membership is gone.
	var members int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM team_members WHERE person_id = 'drifter'`).Scan(&members); err != nil || members != 0 {
		t.Fatalf("drifter still holds %d roles (%v)", members, err)
	}
	// ...and the package they maintained has nobody now: it seeks a maintainer.
	if pkg := mustOK(t, env.Do(t, "GET", "/v1/packages/mailstats", ""), "package"); pkg["state"] != "STATE_SEEKING_MAINTAINER" || len(toStrings(pkg["maintainers"])) != 0 {
		t.Fatalf("package of an emeritus maintainer: %v", pkg)
	}
	open := list(t, mustOK(t, env.Do(t, "GET", "/v1/teams/development/positions?state=STATE_OPEN", ""), "positions"), "positions")
	roles := map[string]bool{}
	for _, p := range open {
		roles[p["role"].(string)] = true
	}
	// sleeper was never read alone: the list evaluates them too, and their
	// moderator role is vacated just the same.
	if len(open) != 2 || !roles["ROLE_LEAD"] || !roles["ROLE_MODERATOR"] {
		t.Fatalf("open positions %v", open)
	}

	steps := func() []map[string]any {
		return list(t, mustOK(t, admin.Do(t, "GET", "/v1/people:drift", ""), "drift"), "driftEvents")
	}
	got := map[string]map[string]time.Time{}
	vacated := map[string]int{}
	all := steps()
	var teamEvents []map[string]any
	for _, e := range all {
		if team, _ := e["team"].(string); team != "" {
			// A standing flag noticed while the new team was still empty
			// (resolved since) may come and go with the ticker; drifter's count.
			// (Evaluated in one go long after, sleeper's INACTIVE finds keeper
			// inactive too and may flag the team as well.)
			if e["person"] == "people/drifter" {
				teamEvents = append(teamEvents, e)
			} else if e["person"] == "" && e["resolveTime"] == nil {
				t.Errorf("open team flag %v", e)
			}
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, e["time"].(string))
		if err != nil {
			t.Fatal(err)
		}
		p := e["person"].(string)
		if got[p] == nil {
			got[p] = map[string]time.Time{}
		}
		got[p][e["stage"].(string)] = ts
		vacated[p] += len(e["vacatedPositions"].([]any))
	}
	// Each stage is stamped when it was reached, measured from the basis,
	// not when it was noticed.
	at := func(base time.Time, d time.Duration) time.Time { return base.Add(d).UTC() }
	want := map[string]map[string]time.Time{
		"people/drifter": {"NUDGED": at(since, 90*day), "INACTIVE": at(since, 104*day), "EMERITUS": at(since, 284*day)},
		"people/sleeper": {"NUDGED": at(sleeperSince, 90*day), "INACTIVE": at(sleeperSince, 104*day), "EMERITUS": at(sleeperSince, 284*day)},
		"people/keeper":  {"NUDGED": at(keeperBasis, 90*day), "INACTIVE": at(keeperBasis, 104*day)},
	}
	if len(got["people/drifter"])+len(got["people/sleeper"])+len(got["people/keeper"]) != 8 {
		t.Errorf("drift steps %v, want 8", got)
	}
	// drifter was development's only lead: the team was flagged when they
	// became inactive, before anything was taken away, and stands flagged
	// without a lead since they became emeritus.
	if len(teamEvents) != 2 || teamEvents[0]["stage"] != "TEAM_LEADERLESS" || teamEvents[1]["stage"] != "TEAM_AT_RISK" {
		t.Fatalf("team events %v", teamEvents)
	}
	for i, w := range []time.Time{at(since, 284*day), at(since, 104*day)} {
		e := teamEvents[i]
		got, _ := time.Parse(time.RFC3339Nano, e["time"].(string))
		if e["team"] != "teams/development" || e["person"] != "people/drifter" || !got.Equal(w) || e["resolveTime"] != nil {
			t.Errorf("team event %v, want at %v", e, w)
		}
	}
	for p, stages := range want {
		for stage, w := range stages {
			if g := got[p][stage]; !g.Equal(w) {
				t.Errorf("%s %s at %v, want %v", p, stage, g, w)
			}
		}
	}
	if vacated["people/drifter"] != 1 || vacated["people/sleeper"] != 1 {
		t.Errorf("vacated %v", vacated)
	}
	// Evaluating again records nothing new.
	if again := steps(); len(again) != len(all) {
		t.Fatalf("steps recorded twice: %d then %d", len(all), len(again))
	}

	// Activity brings keeper back.
	report("keeper", "e2")
	expect("keeper", "STATE_ACTIVE", false)
	// So do one's own writes: drifter edits their profile.
	tok := env.Person(t, "drifter", false)
	mustOK(t, env.WithToken(tok).Do(t, "PATCH", "/v1/people/drifter", `{"bio":"back"}`), "own write")
	expect("drifter", "STATE_ACTIVE", false)
	// Both returns are recorded, newest first.
	latest := steps()
	if len(latest) != len(all)+2 || latest[0]["stage"] != "ACTIVE" || latest[0]["person"] != "people/drifter" ||
		latest[1]["stage"] != "ACTIVE" || latest[1]["person"] != "people/keeper" {
		t.Fatalf("returns not recorded: %v", latest[:3])
	}
}

// TestConcurrentFill: of N concurrent fills of one position, exactly one wins.
func TestConcurrentFill(t *testing.T) {
	env := apptest.Start(t)
	env.Team(t, "forums")
	admin := env.WithToken(apptest.AdminToken)
	pos := mustOK(t, admin.Do(t, "POST", "/v1/teams/forums/positions", `{"title":"Forum moderator","role":"ROLE_MODERATOR"}`), "position")["name"].(string)
	const n = 8
	for i := range n {
		env.Person(t, "candidate-"+itoa(i), false)
	}
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			codes[i] = admin.Do(t, "POST", "/v1/"+pos+":fill", `{"person":"people/candidate-`+itoa(i)+`"}`).Status
		})
	}
	wg.Wait()
	wins := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			wins++
		case http.StatusBadRequest: // FAILED_PRECONDITION: already filled
		default:
			t.Errorf("fill: HTTP %d", c)
		}
	}
	var rows int
	var filledBy string
	db := env.DB(t, "membership")
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM team_members WHERE team_id = 'forums'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(context.Background(), `SELECT filled_by FROM positions`).Scan(&filledBy); err != nil {
		t.Fatal(err)
	}
	if wins != 1 || rows != 1 {
		t.Fatalf("%d fills won, %d memberships; want 1 and 1 (%v)", wins, rows, codes)
	}
	var role string
	if err := db.QueryRow(context.Background(), `SELECT role FROM team_members WHERE team_id = 'forums' AND person_id = $1`, filledBy).Scan(&role); err != nil || role != "moderator" {
		t.Fatalf("winner %s has role %q (%v)", filledBy, role, err)
	}
	res := admin.Do(t, "POST", "/v1/"+pos+":fill", `{"person":"people/candidate-0"}`)
	if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "POSITION_NOT_OPEN" {
		t.Fatalf("fill of a filled position: HTTP %d %s", res.Status, res.Body)
	}
}

// TestDriftReachesEveryHolder, with short windows (an hour each): a
// maintainer who holds no team role and the holder of a filled position
// drift like anyone with a role; at EMERITUS the position opens again
// (no second one is made for the role it gave), the membership goes, the
// package seeks a maintainer, and the team the holder led alone was
// flagged before it lost them and stands flagged after.
func TestDriftReachesEveryHolder(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) {
		c.DriftWindow, c.DriftNudgeGrace, c.DriftEmeritusAfter = time.Hour, time.Hour, time.Hour
	})
	admin := env.WithToken(apptest.AdminToken)
	env.Team(t, "media")
	env.Person(t, "keeper", false)              // maintains a package, holds no role
	env.Person(t, "coord", false)               // fills the coordinator position
	steadyTok := env.Person(t, "steady", false) // a member of media who stays busy
	env.Member(t, "media", "steady", "member")
	mustOK(t, admin.Do(t, "POST", "/v1/packages?packageId=oldpkg", `{"displayName":"oldpkg","maintainers":["people/keeper"]}`), "package")
	pos := mustOK(t, admin.Do(t, "POST", "/v1/teams/media/positions", `{"title":"Coordinator","role":"ROLE_LEAD","openToDiscussion":true}`), "position")["name"].(string)
	mustOK(t, admin.Do(t, "POST", "/v1/"+pos+":fill", `{"person":"people/coord"}`), "fill")

	state := func(id string) (string, bool) {
		p := mustOK(t, admin.Do(t, "GET", "/v1/people/"+id, ""), id)
		return p["state"].(string), p["nudged"] == true
	}
	busy := func() { // steady's own write keeps them active
		mustOK(t, env.WithToken(steadyTok).Do(t, "PATCH", "/v1/people/steady", `{"bio":"at `+env.Clock.Now().Format(time.RFC3339)+`"}`), "busy")
	}
	for _, step := range []struct {
		state  string
		nudged bool
	}{{"STATE_ACTIVE", true}, {"STATE_INACTIVE", false}, {"STATE_EMERITUS", false}} {
		env.Clock.Advance(time.Hour + time.Minute)
		busy()
		for _, id := range []string{"keeper", "coord"} {
			if s, n := state(id); s != step.state || n != step.nudged {
				t.Fatalf("%s: %s nudged %v, want %s nudged %v", id, s, n, step.state, step.nudged)
			}
		}
		if s, n := state("steady"); s != "STATE_ACTIVE" || n {
			t.Fatalf("steady drifted: %s %v", s, n)
		}
	}
	pkg := mustOK(t, env.Do(t, "GET", "/v1/packages/oldpkg", ""), "package")
	if pkg["state"] != "STATE_SEEKING_MAINTAINER" || len(toStrings(pkg["maintainers"])) != 0 {
		t.Fatalf("package of an emeritus maintainer: %v", pkg)
	}
	p := mustOK(t, env.Do(t, "GET", "/v1/"+pos, ""), "position")
	if p["state"] != "STATE_OPEN" || p["filledBy"] != "" && p["filledBy"] != nil {
		t.Fatalf("the emeritus holder's position: %v", p)
	}
	positions := list(t, mustOK(t, env.Do(t, "GET", "/v1/teams/media/positions", ""), "positions"), "positions")
	if len(positions) != 1 {
		t.Fatalf("media has %d positions, want the reopened one only: %v", len(positions), positions)
	}
	members := list(t, mustOK(t, env.Do(t, "GET", "/v1/teams/media/members", ""), "members"), "teamMembers")
	if len(members) != 1 || !strings.HasSuffix(members[0]["name"].(string), "/steady") {
		t.Fatalf("media members %v", members)
	}
	// Media's only lead drifted: flagged at INACTIVE, before anything was
	// taken, and without a lead since EMERITUS.
	flags := map[string]map[string]any{}
	for _, e := range list(t, mustOK(t, admin.Do(t, "GET", "/v1/people:drift", ""), "drift"), "driftEvents") {
		if e["team"] == "teams/media" {
			flags[e["stage"].(string)] = e
		}
	}
	risk, lost := flags["TEAM_AT_RISK"], flags["TEAM_LEADERLESS"]
	if risk == nil || lost == nil || risk["person"] != "people/coord" || lost["person"] != "people/coord" || lost["resolveTime"] != nil {
		t.Fatalf("media's flags %v", flags)
	}
	if rt, lt := risk["time"].(string), lost["time"].(string); rt >= lt {
		t.Fatalf("flagged at %s, after the lead was removed at %s", rt, lt)
	}
	// Someone takes the role: the standing flag is resolved.
	mustOK(t, admin.Do(t, "PATCH", "/v1/teams/media/members/steady", `{"role":"ROLE_LEAD"}`), "promote")
	for _, e := range list(t, mustOK(t, admin.Do(t, "GET", "/v1/people:drift", ""), "drift"), "driftEvents") {
		if e["team"] == "teams/media" && e["stage"] == "TEAM_LEADERLESS" && e["resolveTime"] == nil {
			t.Fatalf("flag still open after a lead took the role: %v", e)
		}
	}
}

// TestLeadsDriftingTogether: two leads who fall silent at the same time do
// not each count on the other: the team is flagged before either goes.
func TestLeadsDriftingTogether(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) {
		c.DriftWindow, c.DriftNudgeGrace, c.DriftEmeritusAfter = time.Hour, time.Hour, time.Hour
	})
	admin := env.WithToken(apptest.AdminToken)
	env.Team(t, "docs")
	for _, p := range []string{"lead-a", "lead-b"} {
		env.Person(t, p, false)
		env.Member(t, "docs", p, "lead")
	}
	env.Clock.Advance(2*time.Hour + time.Minute) // both INACTIVE, neither EMERITUS yet
	var atRisk int
	for _, e := range list(t, mustOK(t, admin.Do(t, "GET", "/v1/people:drift", ""), "drift"), "driftEvents") {
		if e["team"] == "teams/docs" && e["stage"] == "TEAM_AT_RISK" {
			atRisk++
		}
	}
	if atRisk == 0 {
		t.Fatal("docs was not flagged though both its leads are inactive")
	}
	var members int
	if err := env.DB(t, "membership").QueryRow(context.Background(), `SELECT count(*) FROM team_members WHERE team_id = 'docs'`).Scan(&members); err != nil || members != 2 {
		t.Fatalf("docs has %d members before anyone is emeritus (%v)", members, err)
	}
}

// TestDriftEventsStopAtTheLeadsTeams: a lead reads the drift of their own
// teams (their people, their packages' maintainers, flags on the team and
// its child teams) and nothing of other teams'; admins read everything.
func TestDriftEventsStopAtTheLeadsTeams(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) {
		c.DriftWindow, c.DriftNudgeGrace, c.DriftEmeritusAfter = time.Hour, time.Hour, time.Hour
	})
	env.Team(t, "web")
	env.Team(t, "webui")
	env.Team(t, "media")
	if _, err := env.DB(t, "membership").Exec(context.Background(), `UPDATE teams SET parent_id = 'web' WHERE id = 'webui'`); err != nil {
		t.Fatal(err)
	}
	webLead := env.Person(t, "weblead", false)
	mediaLead := env.Person(t, "medialead", false)
	env.Person(t, "quiet", false) // a web member who falls silent
	env.Person(t, "uilead", false)
	env.Member(t, "web", "weblead", "lead")
	env.Member(t, "media", "medialead", "lead")
	env.Member(t, "web", "quiet", "member")
	env.Member(t, "webui", "uilead", "lead") // webui's only lead falls silent: a flag on webui

	env.Clock.Advance(2*time.Hour + time.Minute)
	// The two leads keep working, so only quiet and uilead drift.
	mustOK(t, env.WithToken(webLead).Do(t, "PATCH", "/v1/people/weblead", `{"bio":"busy"}`), "busy")
	mustOK(t, env.WithToken(mediaLead).Do(t, "PATCH", "/v1/people/medialead", `{"bio":"busy"}`), "busy")

	seen := func(tok string) (people, teams map[string]bool) {
		people, teams = map[string]bool{}, map[string]bool{}
		for _, e := range list(t, mustOK(t, env.WithToken(tok).Do(t, "GET", "/v1/people:drift?pageSize=100", ""), "drift"), "driftEvents") {
			if team, _ := e["team"].(string); team != "" {
				teams[team] = true
			} else if p, _ := e["person"].(string); p != "" {
				people[p] = true
			}
		}
		return people, teams
	}
	ap, at := seen(apptest.AdminToken)
	if !ap["people/quiet"] || !ap["people/uilead"] || !at["teams/webui"] {
		t.Fatalf("admin sees people %v and team flags %v, want quiet, uilead and webui's flag", ap, at)
	}
	wp, wt := seen(webLead)
	if !wp["people/quiet"] || !wt["teams/webui"] {
		t.Fatalf("web's lead sees people %v and flags %v, want their member quiet and their child team's flag", wp, wt)
	}
	// Media's own flag may be there (its lead was idle until the write
	// above, and the drift job may have run in between); nothing of web is.
	mp, mt := seen(mediaLead)
	if mp["people/quiet"] || mp["people/uilead"] || mt["teams/web"] || mt["teams/webui"] {
		t.Fatalf("media's lead sees other teams' drift: people %v, flags %v", mp, mt)
	}
}
