package membership_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/config"
)

// TestEveryWriteIsActivity: each write method of the membership API is
// recorded as its caller's activity ("membership.<Method>"). A write method
// added without reporting activity, or without a call here, fails the test.
func TestEveryWriteIsActivity(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) {
		c.OIDCIssuers = []config.OIDCIssuer{{URL: matrixIssuer, Audience: "guildhall"}}
	})
	a := env.WithToken(apptest.AdminToken)
	do := func(method, path, body string) map[string]any {
		t.Helper()
		return mustOK(t, a.Do(t, method, path, body), method+" "+path)
	}
	var pos, vol, tok, ident string
	calls := []struct {
		method string
		call   func()
	}{
		{"CreatePerson", func() { do("POST", "/v1/people?personId=sam", `{"displayName":"Sam"}`) }},
		{"UpdatePerson", func() { do("PATCH", "/v1/people/sam", `{"bio":"packager"}`) }},
		{"UpdateNotificationSettings", func() {
			do("PATCH", "/v1/people/admin/notificationSettings", `{"mutedKinds":["NOTIFICATION_KIND_ITEM_STALE"]}`)
		}},
		{"CreateTeam", func() { do("POST", "/v1/teams?teamId=forums", `{"displayName":"Forums"}`) }},
		{"UpdateTeam", func() { do("PATCH", "/v1/teams/forums", `{"charter":"help users"}`) }},
		{"CreateTeamMember", func() { do("POST", "/v1/teams/forums/members?teamMemberId=sam", `{"role":"ROLE_MEMBER"}`) }},
		{"UpdateTeamMember", func() { do("PATCH", "/v1/teams/forums/members/sam", `{"role":"ROLE_MODERATOR"}`) }},
		{"DeleteTeamMember", func() { do("DELETE", "/v1/teams/forums/members/sam", "") }},
		{"CreatePosition", func() {
			pos = do("POST", "/v1/teams/forums/positions", `{"title":"Forum moderator","role":"ROLE_MODERATOR"}`)["name"].(string)
		}},
		{"UpdatePosition", func() { do("PATCH", "/v1/"+pos, `{"hoursPerMonth":4}`) }},
		{"FillPosition", func() { do("POST", "/v1/"+pos+":fill", `{"person":"people/sam"}`) }},
		{"TransitionVolunteer", func() {
			mustOK(t, env.Do(t, "POST", "/v1/volunteers", `{"displayName":"Helper","contact":"helper@example.org"}`), "offer")
			vols := list(t, do("GET", "/v1/volunteers", ""), "volunteers")
			vol = vols[0]["name"].(string)
			do("POST", "/v1/"+vol+":transition", `{"state":"STATE_CONTACTED"}`)
		}},
		{"CreatePackage", func() {
			do("POST", "/v1/packages?packageId=mailstats", `{"displayName":"mailstats","maintainers":["people/sam"]}`)
		}},
		{"UpdatePackage", func() { do("PATCH", "/v1/packages/mailstats", `{"description":"Mail statistics"}`) }},
		{"AdoptPackage", func() { do("POST", "/v1/packages/mailstats:adopt", `{}`) }},
		{"ApproveAdoption", func() { do("POST", "/v1/packages/mailstats:approveAdoption", `{"person":"people/admin"}`) }},
		{"OrphanPackage", func() { do("POST", "/v1/packages/mailstats:orphan", `{}`) }},
		{"TransitionPackage", func() { do("POST", "/v1/packages/mailstats:transition", `{"state":"STATE_OBSOLETE"}`) }},
		{"CreateToken", func() {
			tok = do("POST", "/v1/people/admin/tokens", `{"displayName":"cli"}`)["token"].(map[string]any)["name"].(string)
		}},
		{"RevokeToken", func() { do("POST", "/v1/"+tok+":revoke", `{}`) }},
		{"RenewToken", func() {
			s := mustOK(t, env.Do(t, "POST", "/v1/signIn:complete", `{"code":"`+signInCode(t, env, "admin")+`"}`), "sign in")
			do("POST", "/v1/"+s["token"].(map[string]any)["name"].(string)+":renew", `{}`)
		}},
		{"CreateIdentity", func() {
			ident = do("POST", "/v1/people/admin/identities", `{"issuer":"`+matrixIssuer+`","subject":"s1"}`)["name"].(string)
		}},
		{"DeleteIdentity", func() { do("DELETE", "/v1/"+ident, "") }},
		{"ReportActivity", func() {
			do("POST", "/v1/activities:report", `{"activities":[{"eventId":"forum-1","person":"people/sam","kind":"forum.post"}]}`)
		}},
		{"DeletePerson", func() {
			do("POST", "/v1/people?personId=gone", `{"displayName":"Gone"}`)
			do("DELETE", "/v1/people/gone", "")
		}},
		{"DeleteTeam", func() {
			do("POST", "/v1/teams?teamId=old", `{"displayName":"Old"}`)
			do("DELETE", "/v1/teams/old", "")
		}},
	}
	// Not writes of the caller's own: Authenticate checks a secret; an offer
	// of help is private to leads and admins, and recording it as the
	// offerer's activity would show when they offered on their profile; an
	// opt-out link is followed by whoever holds it, signed in or not;
	// signing in is done before there is a caller.
	exempt := []string{"Authenticate", "OfferHelp", "UnsubscribeNotifications", "RequestSignIn", "CompleteSignIn"}
	var kinds []string
	for _, m := range apptest.WriteMethods(membershipv1.File_guildhall_membership_v1_membership_service_proto.Services().Get(0)) {
		if slices.Contains(exempt, m) {
			continue
		}
		if !slices.ContainsFunc(calls, func(c struct {
			method string
			call   func()
		}) bool {
			return c.method == m
		}) {
			t.Errorf("write method %s is not exercised here: add it, and make it report activity", m)
			continue
		}
		kinds = append(kinds, "membership."+m)
	}
	for _, c := range calls {
		c.call()
	}
	env.WaitActivity(t, "admin", kinds...)
}

// TestReportActivityOverREST: a bridge holding only activity.report reports
// outside work in batches; a retried batch counts once; unknown people come
// back; the permission is needed; bad input is refused whole with field
// details and records nothing.
func TestReportActivityOverREST(t *testing.T) {
	env := apptest.Start(t)
	admin := env.WithToken(apptest.AdminToken)
	env.Team(t, "bridges", "activity.report")
	bridge := env.WithToken(env.Person(t, "forum-bridge", false))
	env.Member(t, "bridges", "forum-bridge", "member")
	env.Person(t, "jester", false)
	env.Person(t, "tfage", false)
	other := env.WithToken(env.Person(t, "someone", false))

	batch := `{"activities":[
		{"eventId":"post-1","person":"people/jester","kind":"forum.post","time":"` + env.Clock.Now().Add(-48*3600e9).Format("2006-01-02T15:04:05Z") + `"},
		{"eventId":"post-2","person":"people/tfage","kind":"wiki.edit"},
		{"eventId":"post-3","person":"people/nobody","kind":"irc.message"}]}`
	got := mustOK(t, bridge.Do(t, "POST", "/v1/activities:report", batch), "report")
	if got["recorded"] != float64(2) || len(toStrings(got["unknownPeople"])) != 1 || toStrings(got["unknownPeople"])[0] != "people/nobody" {
		t.Fatalf("first report: %v", got)
	}
	// The bridge retries after a timeout: nothing counts twice.
	again := mustOK(t, bridge.Do(t, "POST", "/v1/activities:report", batch), "retry")
	if again["recorded"] != nil && again["recorded"] != float64(0) {
		t.Fatalf("retried batch recorded %v", again["recorded"])
	}
	db := env.DB(t, "membership")
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM activity_events WHERE kind IN ('forum.post', 'wiki.edit', 'irc.message')`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d outside activity rows (%v), want 2", n, err)
	}
	// An id repeated within a report counts once, as first given; one
	// recorded before counts no more.
	mixed := `{"activities":[
		{"eventId":"post-9","person":"people/tfage","kind":"first"},
		{"eventId":"post-9","person":"people/tfage","kind":"second"},
		{"eventId":"post-2","person":"people/tfage","kind":"wiki.edit"},
		{"eventId":"post-10","person":"people/jester","kind":"forum.reply"}]}`
	if r := mustOK(t, bridge.Do(t, "POST", "/v1/activities:report", mixed), "mixed"); r["recorded"] != float64(2) {
		t.Fatalf("a report with a repeated and an old id recorded %v, want 2", r["recorded"])
	}
	var kinds []string
	if err := db.QueryRow(context.Background(), `SELECT array_agg(kind ORDER BY event_id) FROM activity_events WHERE event_id LIKE '%:post-%'` /* the bridge's own ids */).Scan(&kinds); err != nil ||
		!slices.Equal(kinds, []string{"forum.post", "forum.reply", "wiki.edit", "first"}) {
		t.Fatalf("recorded kinds %v (%v)", kinds, err)
	}
	// Another reporter's event ids are its own: the same id counts for it.
	if r := mustOK(t, admin.Do(t, "POST", "/v1/activities:report", `{"activities":[{"eventId":"post-1","person":"people/jester","kind":"commit"}]}`), "admin"); r["recorded"] != float64(1) {
		t.Fatalf("another reporter's post-1: %v", r)
	}
	jester := mustOK(t, admin.Do(t, "GET", "/v1/people/jester", ""), "jester")
	if jester["lastActiveTime"] == nil {
		t.Fatalf("reported activity did not reach the person: %v", jester)
	}
	// Without the permission: 403, and nothing recorded.
	if res := other.Do(t, "POST", "/v1/activities:report", `{"activities":[{"eventId":"x","person":"people/jester","kind":"forum.post"}]}`); res.Status != http.StatusForbidden {
		t.Fatalf("report without activity.report: HTTP %d %s", res.Status, res.Body)
	}
	if res := env.Do(t, "POST", "/v1/activities:report", `{"activities":[{"eventId":"x","person":"people/jester","kind":"forum.post"}]}`); res.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous report: HTTP %d %s", res.Status, res.Body)
	}
	// The permission grants nothing else.
	if res := bridge.Do(t, "POST", "/v1/people?personId=intruder", `{"displayName":"x"}`); res.Status != http.StatusForbidden {
		t.Fatalf("a bridge creating people: HTTP %d", res.Status)
	}

	big := make([]string, 501)
	for i := range big {
		big[i] = `{"eventId":"e` + itoa(i) + `","person":"people/jester","kind":"k"}`
	}
	bad := []struct{ body, field string }{
		{`{"activities":[]}`, "activities"},
		{`{"activities":[` + strings.Join(big, ",") + `]}`, "activities"},
		{`{"activities":[{"person":"people/jester","kind":"forum.post"}]}`, "activities[0].eventId"},
		{`{"activities":[{"eventId":"` + strings.Repeat("x", 101) + `","person":"people/jester","kind":"forum.post"}]}`, "activities[0].eventId"},
		{`{"activities":[{"eventId":"a","person":"jester","kind":"forum.post"}]}`, "activities[0].person"},
		{`{"activities":[{"eventId":"a","person":"people/jester"}]}`, "activities[0].kind"},
		{`{"activities":[{"eventId":"a","person":"people/jester","kind":"` + strings.Repeat("k", 65) + `"}]}`, "activities[0].kind"},
		{`{"activities":[{"eventId":"ok","person":"people/jester","kind":"k"},{"eventId":"b","person":"people/jester","kind":"k","time":"10000-01-01T00:00:00Z"}]}`, ""},
		{`{"activities":[{"eventId":"a","person":"people/jester","kind":"k","bogus":1}]}`, ""},
		{`{"activities":{"eventId":"a"}}`, ""},
	}
	for _, c := range bad {
		res := bridge.Do(t, "POST", "/v1/activities:report", c.body)
		if res.Status != http.StatusBadRequest {
			t.Errorf("%.80s: HTTP %d %s", c.body, res.Status, res.Body)
			continue
		}
		if c.field != "" && !fieldViolated(res.RPCStatus(t), c.field) {
			t.Errorf("%.80s: violations %v, want %s", c.body, res.RPCStatus(t).Fields(), c.field)
		}
	}
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM activity_events WHERE event_id LIKE '%:ok' OR event_id = 'ok'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a refused batch recorded %d rows (%v)", n, err)
	}
}
