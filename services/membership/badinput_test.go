package membership_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guildhall/guildhall/app/apptest"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
)

// TestBadInput sends invalid input to every write route: each gets 400 with
// a field violation naming the field, and nothing is stored.
func TestBadInput(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) { c.VolunteerRatePerMinute = 1000 })
	a := env.Actors(t)
	admin := env.WithToken(a.Admin)
	pos := mustOK(t, admin.Do(t, "POST", "/v1/teams/development/positions", `{"title":"Tester","role":"ROLE_MEMBER"}`), "position")["name"].(string)
	mustOK(t, admin.Do(t, "POST", "/v1/packages?packageId=mailstats", `{"displayName":"mailstats","maintainers":["people/member"]}`), "package")
	mustOK(t, env.Do(t, "POST", "/v1/volunteers", `{"displayName":"V","contact":"v@example.org"}`), "offer")
	vol := list(t, mustOK(t, admin.Do(t, "GET", "/v1/volunteers", ""), "offers"), "volunteers")[0]["name"].(string)
	tok := mustOK(t, admin.Do(t, "POST", "/v1/people/member/tokens", `{"displayName":"t"}`), "token")["token"].(map[string]any)["name"].(string)

	db := env.DB(t, "membership")
	// snapshot fingerprints every table the service writes.
	snapshot := func() map[string]string {
		out := map[string]string{}
		for _, table := range []string{"people", "teams", "team_members", "positions", "volunteers", "volunteer_transitions",
			"packages", "package_maintainers", "package_adoptions", "tokens", "activity_events", "drift_events", "idempotency_keys"} {
			var sum string
			if err := db.QueryRow(context.Background(),
				`SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM `+table+` t`).Scan(&sum); err != nil {
				t.Fatal(err)
			}
			out[table] = sum
		}
		return out
	}
	before := snapshot()

	long := strings.Repeat("x", 201)
	cases := []struct{ method, path, body, field string }{
		{"POST", "/v1/people?personId=Bad_Id", `{"displayName":"x"}`, "personId"},
		{"POST", "/v1/people?personId=newbie", `{}`, "person.displayName"},
		{"POST", "/v1/people?personId=newbie", `{"displayName":"x","email":"nope"}`, "person.email"},
		{"POST", "/v1/people?personId=newbie", `{"displayName":"x\u0000"}`, "person.displayName"},
		{"POST", "/v1/people?personId=newbie&requestId=nope", `{"displayName":"x"}`, "requestId"},
		{"PATCH", "/v1/people/member", `{"email":"nope"}`, "person.email"},
		{"PATCH", "/v1/people/member", `{"country":"Spain"}`, "person.country"},
		{"PATCH", "/v1/people/member?updateMask=display_name", `{"displayName":""}`, "person.displayName"},
		{"DELETE", "/v1/people/Bad_Id", ``, "name"},
		{"POST", "/v1/teams?teamId=wiki", `{}`, "team.displayName"},
		{"POST", "/v1/teams?teamId=wiki", `{"displayName":"` + long + `"}`, "team.displayName"},
		{"POST", "/v1/teams?teamId=wiki", `{"displayName":"x","permissions":["Not A Permission"]}`, "team.permissions"},
		{"POST", "/v1/teams?teamId=wiki", `{"displayName":"x","parent":"teams/nowhere"}`, "team.parent"},
		{"PATCH", "/v1/teams/development", `{"parent":"teams/development"}`, "team.parent"},
		{"DELETE", "/v1/teams/Bad_Id", ``, "name"},
		{"POST", "/v1/teams/development/members?teamMemberId=member", `{}`, "teamMember.role"},
		{"POST", "/v1/teams/development/members?teamMemberId=Bad_Id", `{"role":"ROLE_MEMBER"}`, "teamMemberId"},
		{"POST", "/v1/teams/development/members?teamMemberId=member", `{"role":99}`, "teamMember.role"},
		{"PATCH", "/v1/teams/development/members/lead?updateMask=role", `{"role":"ROLE_UNSPECIFIED"}`, "teamMember.role"},
		{"DELETE", "/v1/teams/development/members/Bad_Id", ``, "name"},
		{"POST", "/v1/teams/development/positions", `{"role":"ROLE_MEMBER"}`, "position.title"},
		{"POST", "/v1/teams/development/positions", `{"title":"x"}`, "position.role"},
		{"POST", "/v1/teams/development/positions", `{"title":"x","role":"ROLE_MEMBER","hoursPerMonth":1000}`, "position.hoursPerMonth"},
		{"POST", "/v1/teams/development/positions", `{"title":"x","role":"ROLE_MEMBER","state":"STATE_FILLED"}`, "position.state"},
		{"PATCH", "/v1/" + pos, `{"state":"STATE_FILLED"}`, "position.state"},
		{"PATCH", "/v1/" + pos, `{"skills":["a","a"]}`, "position.skills"},
		{"POST", "/v1/" + pos + ":fill", `{"person":"nobody"}`, "person"},
		{"POST", "/v1/" + pos + ":fill", `{"person":"people/ghost"}`, "person"},
		{"POST", "/v1/volunteers", `{"displayName":"x"}`, "volunteer.contact"},
		{"POST", "/v1/volunteers", `{"contact":"x@example.org"}`, "volunteer.displayName"},
		{"POST", "/v1/volunteers", `{"displayName":"x","contact":"not-an-email"}`, "volunteer.contact"},
		{"POST", "/v1/volunteers", `{"displayName":"x","contact":"x@example.org","hoursPerMonth":-1}`, "volunteer.hoursPerMonth"},
		{"POST", "/v1/" + vol + ":transition", `{}`, "state"},
		{"POST", "/v1/" + vol + ":transition", `{"state":"STATE_CONTACTED","person":"people/member"}`, "person"},
		{"POST", "/v1/" + vol + ":transition", `{"state":"STATE_CONTACTED","note":"` + strings.Repeat("x", 4001) + `"}`, "note"},
		{"POST", "/v1/packages?packageId=pkg", `{}`, "package.displayName"},
		{"POST", "/v1/packages?packageId=pkg", `{"displayName":"x","repositoryUrl":"not a url"}`, "package.repositoryUrl"},
		{"POST", "/v1/packages?packageId=pkg", `{"displayName":"x","maintainers":["people/ghost"]}`, "package.maintainers"},
		{"POST", "/v1/packages?packageId=pkg", `{"displayName":"x","lastReleaseDate":"2024-02-30"}`, "package.lastReleaseDate"},
		{"POST", "/v1/packages?packageId=pkg", `{"displayName":"x","state":"STATE_MAINTAINED"}`, "package.maintainers"},
		{"PATCH", "/v1/packages/mailstats", `{"lastReleaseDate":"2024-13-01"}`, "package.lastReleaseDate"},
		{"PATCH", "/v1/packages/mailstats?updateMask=maintainers", `{"maintainers":[]}`, "package.maintainers"},
		{"POST", "/v1/packages/mailstats:orphan", `{"maintainer":"member"}`, "maintainer"},
		{"POST", "/v1/packages/Bad_Id:adopt", `{}`, "name"},
		{"POST", "/v1/packages/mailstats:approveAdoption", `{"person":"member"}`, "person"},
		{"POST", "/v1/people/member/tokens", `{"expireTime":"2000-01-01T00:00:00Z"}`, "token.expireTime"},
		{"POST", "/v1/people/Bad_Id/tokens", `{}`, "parent"},
		{"POST", "/v1/" + tok + "x_y:revoke", `{}`, "name"},
	}
	for _, c := range cases {
		res := admin.Do(t, c.method, c.path, c.body)
		if res.Status != http.StatusBadRequest {
			t.Errorf("%s %s %s: HTTP %d, want 400: %s", c.method, c.path, c.body, res.Status, res.Body)
			continue
		}
		if st := res.RPCStatus(t); !fieldViolated(st, c.field) {
			t.Errorf("%s %s %s: violations %v, want %s: %s", c.method, c.path, c.body, st.Fields(), c.field, res.Body)
		}
	}

	// ReportActivity (gRPC only).
	_, err := membershipv1.NewMembershipServiceClient(env.Conn).ReportActivity(apptest.Outgoing(context.Background(), a.Admin),
		&membershipv1.ReportActivityRequest{Activities: []*membershipv1.Activity{{Person: "people/member", Kind: "vote"}}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "event_id") {
		t.Errorf("ReportActivity without event id: %v", err)
	}

	after := snapshot()
	for table, sum := range before {
		if after[table] != sum {
			t.Errorf("bad input changed table %s", table)
		}
	}
}
