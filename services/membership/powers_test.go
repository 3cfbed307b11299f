package membership_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
)

// A volunteer's contact goes to admins, coordinators (volunteers.coordinate)
// and the leads of the team the offer is matched to; other leads see the
// offer without it, and other people not at all.
func TestVolunteerContactScopedToMatchedTeam(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) { c.VolunteerRatePerMinute = 1000 })
	a := env.Actors(t)
	admin := env.WithToken(a.Admin)
	env.Team(t, "welcome", "volunteers.coordinate")
	coord := env.Person(t, "coord", false)
	env.Member(t, "welcome", "coord", "member")

	v := matchedVolunteer(t, env, admin, "development")
	contact := func(tok string) (int, any) {
		res := env.WithToken(tok).Do(t, "GET", "/v1/"+v, "")
		if res.Status != http.StatusOK {
			return res.Status, nil
		}
		return res.Status, res.JSON(t)["contact"]
	}
	for _, c := range []struct {
		who, tok string
		status   int
		sees     bool
	}{
		{"admin", a.Admin, ok, true},
		{"coordinator", coord, ok, true},
		{"lead of the matched team", a.Lead, ok, true},
		{"lead of another team", a.OtherLead, ok, false},
		{"member", a.Member, hide, false},
		{"anonymous", "", unau, false},
	} {
		status, got := contact(c.tok)
		if status != c.status || (got == "v@example.org") != c.sees {
			t.Errorf("%s: HTTP %d contact %v, want %d and contact shown %v", c.who, status, got, c.status, c.sees)
		}
	}
	// Lists redact the same way.
	for tok, sees := range map[string]bool{a.OtherLead: false, a.Lead: true, coord: true} {
		for _, o := range list(t, mustOK(t, env.WithToken(tok).Do(t, "GET", "/v1/volunteers", ""), "list"), "volunteers") {
			if o["name"] == v && (o["contact"] == "v@example.org") != sees {
				t.Errorf("listed contact %v, want shown %v", o["contact"], sees)
			}
		}
	}
	// A coordinator runs the funnel from the start and creates the people
	// offers become; leads do neither outside their team.
	fresh := newVolunteer(t, env, admin)
	mustOK(t, env.WithToken(coord).Do(t, "POST", "/v1/"+fresh+":transition", `{"state":"STATE_CONTACTED"}`), "coordinator contacts")
	mustOK(t, env.WithToken(coord).Do(t, "POST", "/v1/people?personId=newbie", `{"displayName":"Newbie"}`), "coordinator creates")
	if st := env.WithToken(coord).Do(t, "POST", "/v1/people?personId=boss", `{"displayName":"B","admin":true}`).Status; st != deny {
		t.Errorf("coordinator creating an admin: HTTP %d", st)
	}
}

// A contact is an email or a handle (system:handle), for IRC-only people.
func TestVolunteerContactEmailOrHandle(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) { c.VolunteerRatePerMinute = 1000 })
	a := env.Actors(t)
	for _, good := range []string{"jane@example.org", "irc:smeuser", "forum:jean_crisp", "github:jcrisp"} {
		mustOK(t, env.Do(t, "POST", "/v1/volunteers", `{"displayName":"V","contact":"`+good+`"}`), good)
	}
	for _, bad := range []string{"not a contact", "irc:", "jane@", ":nick", "IRC:nick", "irc:two words"} {
		res := env.Do(t, "POST", "/v1/volunteers", `{"displayName":"V","contact":"`+bad+`"}`)
		if st := res.RPCStatus(t); res.Status != http.StatusBadRequest || !slices.Contains(st.Fields(), "volunteer.contact") {
			t.Errorf("contact %q: HTTP %d fields %v", bad, res.Status, st.Fields())
		}
	}
	vs := list(t, mustOK(t, env.WithToken(a.Admin).Do(t, "GET", "/v1/volunteers?pageSize=10", ""), "list"), "volunteers")
	if len(vs) != 4 {
		t.Fatalf("%d offers stored, want 4", len(vs))
	}
}

// teams/-/members reads every team's members (AIP-159); role filters them.
func TestEveryTeamLeadInOneCall(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	env.Member(t, "docs", "otherlead", "lead")
	var got []string
	token := ""
	for range 10 {
		body := mustOK(t, env.Do(t, "GET", "/v1/teams/-/members?role=ROLE_LEAD&pageSize=2&pageToken="+token, ""), "leads")
		for _, m := range list(t, body, "teamMembers") {
			if m["role"] != "ROLE_LEAD" {
				t.Errorf("non-lead listed: %v", m)
			}
			got = append(got, m["name"].(string))
		}
		if token, _ = body["nextPageToken"].(string); token == "" {
			break
		}
	}
	want := []string{"teams/development/members/lead", "teams/docs/members/otherlead", "teams/forums/members/otherlead"}
	if !slices.Equal(got, want) {
		t.Fatalf("every lead: %v, want %v", got, want)
	}
	all := list(t, mustOK(t, env.Do(t, "GET", "/v1/teams/-/members?pageSize=100", ""), "all"), "teamMembers")
	if len(all) != 5 {
		t.Fatalf("every member: %d, want 5", len(all))
	}
	one := list(t, mustOK(t, env.Do(t, "GET", "/v1/teams/docs/members?role=ROLE_MEMBER", ""), "docs"), "teamMembers")
	if len(one) != 1 || one[0]["name"] != "teams/docs/members/member" {
		t.Fatalf("docs members: %v", one)
	}
	_ = a
}

// since is when a member joined; a role change keeps it and moves role_since.
func TestRoleSinceKeepsJoined(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	admin := env.WithToken(a.Admin)
	id := newPerson(t, admin)
	m := mustOK(t, admin.Do(t, "POST", "/v1/teams/development/members?teamMemberId="+id, `{"role":"ROLE_MEMBER"}`), "join")
	joined := m["since"]
	if m["roleSince"] != joined {
		t.Fatalf("on joining: since %v roleSince %v", joined, m["roleSince"])
	}
	env.Clock.Advance(48 * time.Hour)
	m = mustOK(t, admin.Do(t, "PATCH", "/v1/teams/development/members/"+id, `{"role":"ROLE_MODERATOR"}`), "role change")
	if m["since"] != joined || m["roleSince"] == joined {
		t.Fatalf("after a role change: since %v (joined %v) roleSince %v", m["since"], joined, m["roleSince"])
	}
	changed := m["roleSince"]
	env.Clock.Advance(time.Hour)
	m = mustOK(t, admin.Do(t, "PATCH", "/v1/teams/development/members/"+id, `{"role":"ROLE_MODERATOR"}`), "same role")
	if m["since"] != joined || m["roleSince"] != changed {
		t.Fatalf("the same role again moved the dates: %v", m)
	}
}

// State is output only on update (AIP-216) for packages and people; a
// package's state moves through its methods, each on the record.
func TestPackageAndPersonStateOnTheRecord(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	admin := env.WithToken(a.Admin)
	lead := env.WithToken(a.Lead)
	pkg := newTeamPackage(t, admin, `"people/member"`, "teams/development")
	for _, c := range []struct{ path, body, field string }{
		{"/v1/packages/" + pkg, `{"state":"STATE_OBSOLETE"}`, "package.state"},
		{"/v1/people/member", `{"state":"STATE_EMERITUS"}`, "person.state"},
	} {
		res := admin.Do(t, "PATCH", c.path, c.body)
		if st := res.RPCStatus(t); res.Status != http.StatusBadRequest || !slices.Contains(st.Fields(), c.field) {
			t.Errorf("PATCH %s %s: HTTP %d fields %v, want 400 on %s", c.path, c.body, res.Status, st.Fields(), c.field)
		}
	}
	if p := mustOK(t, env.Do(t, "GET", "/v1/people/member", ""), "person"); p["state"] != "STATE_ACTIVE" {
		t.Fatalf("person state %v", p["state"])
	}
	env.Clock.Advance(time.Hour)
	mustOK(t, lead.Do(t, "POST", "/v1/packages/"+pkg+":transition", `{"state":"STATE_SEEKING_MAINTAINER","note":"member is busy"}`), "seek")
	mustOK(t, env.WithToken(a.Member).Do(t, "POST", "/v1/packages/"+pkg+":orphan", `{}`), "orphan")
	res := lead.Do(t, "POST", "/v1/packages/"+pkg+":transition", `{"state":"STATE_MAINTAINED"}`)
	if st := res.RPCStatus(t); res.Status != http.StatusBadRequest || st.Reason() == "" {
		t.Fatalf("MAINTAINED without a maintainer: HTTP %d %s", res.Status, res.Body)
	}
	p := mustOK(t, lead.Do(t, "POST", "/v1/packages/"+pkg+":transition", `{"state":"STATE_OBSOLETE","note":"superseded"}`), "obsolete")
	hist, _ := p["history"].([]any)
	var moves []string
	for _, h := range hist {
		m := h.(map[string]any)
		moves = append(moves, strings.TrimPrefix(m["toState"].(string), "STATE_")+" by "+m["actor"].(string)+" ("+m["note"].(string)+")")
		if m["time"] == nil {
			t.Errorf("move without a time: %v", m)
		}
	}
	want := []string{
		"MAINTAINED by people/root (created)",
		"SEEKING_MAINTAINER by people/lead (member is busy)",
		"UNMAINTAINED by people/member (orphaned by people/member)",
		"OBSOLETE by people/lead (superseded)",
	}
	if !slices.Equal(moves, want) {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(moves, "\n"), strings.Join(want, "\n"))
	}
}
