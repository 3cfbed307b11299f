package membership_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guildhall/guildhall/app/apptest"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/mail"
)

const (
	ok   = http.StatusOK
	unau = http.StatusUnauthorized
	deny = http.StatusForbidden
	hide = http.StatusNotFound
)

// actorNames are the columns of the matrix, in env.Actors order.
var actorNames = []string{"anonymous", "member", "other-team lead", "team lead", "finance member", "admin"}

func tokens(a apptest.Actors) []string {
	return []string{a.Anonymous, a.Member, a.OtherLead, a.Lead, a.FinanceTeam, a.Admin}
}

// matrixRow is one RPC: req builds a fresh request for one cell (running any
// setup as admin), and want is the status each actor must get.
type matrixRow struct {
	rpc  string
	want [6]int
	req  func(t *testing.T, env *apptest.Env, admin *apptest.Env) (method, path, body string)
}

// Setup helpers, all as admin.
func newPerson(t *testing.T, admin *apptest.Env) string {
	id := uniq("p")
	mustOK(t, admin.Do(t, "POST", "/v1/people?personId="+id, `{"displayName":"P","email":"`+id+`@example.org"}`), "setup person")
	return id
}

func newDevMember(t *testing.T, admin *apptest.Env) string {
	id := newPerson(t, admin)
	mustOK(t, admin.Do(t, "POST", "/v1/teams/development/members?teamMemberId="+id, `{"role":"ROLE_MEMBER"}`), "setup member")
	return id
}

func newDevPosition(t *testing.T, admin *apptest.Env) string {
	p := mustOK(t, admin.Do(t, "POST", "/v1/teams/development/positions", `{"title":"Tester","role":"ROLE_MEMBER","skills":["testing"]}`), "setup position")
	return p["name"].(string)
}

func newPackage(t *testing.T, admin *apptest.Env, maintainers string) string {
	return newTeamPackage(t, admin, maintainers, "")
}

// newTeamPackage adds a package belonging to team ("" for none).
func newTeamPackage(t *testing.T, admin *apptest.Env, maintainers, team string) string {
	id := uniq("pkg")
	body := `{"displayName":"` + id + `","maintainers":[` + maintainers + `]`
	if team != "" {
		body += `,"team":"` + team + `"`
	}
	mustOK(t, admin.Do(t, "POST", "/v1/packages?packageId="+id, body+`}`), "setup package")
	return id
}

// pendingAdoption adds a package of team with a pending adopter and returns
// the package id and the adopter's name.
func pendingAdoption(t *testing.T, env, admin *apptest.Env, team string) (string, string) {
	pkg := newTeamPackage(t, admin, "", team)
	adopter := newPerson(t, admin)
	tok := mustOK(t, admin.Do(t, "POST", "/v1/people/"+adopter+"/tokens", `{"displayName":"t"}`), "setup token")["secret"].(string)
	mustOK(t, env.WithToken(tok).Do(t, "POST", "/v1/packages/"+pkg+":adopt", `{}`), "setup adopt")
	return pkg, "people/" + adopter
}

// matchedVolunteer returns an offer matched to a new position of team.
func matchedVolunteer(t *testing.T, env, admin *apptest.Env, team string) string {
	v := newVolunteer(t, env, admin)
	pos := mustOK(t, admin.Do(t, "POST", "/v1/teams/"+team+"/positions", `{"title":"Helper","role":"ROLE_MEMBER"}`), "setup position")["name"].(string)
	mustOK(t, admin.Do(t, "POST", "/v1/"+v+":transition", `{"state":"STATE_CONTACTED"}`), "setup contacted")
	mustOK(t, admin.Do(t, "POST", "/v1/"+v+":transition", `{"state":"STATE_MATCHED","position":"`+pos+`"}`), "setup matched")
	return v
}

func newVolunteer(t *testing.T, env, admin *apptest.Env) string {
	mustOK(t, env.Do(t, "POST", "/v1/volunteers", `{"displayName":"V","contact":"v@example.org"}`), "setup offer")
	vs := list(t, mustOK(t, admin.Do(t, "GET", "/v1/volunteers?pageSize=1", ""), "list offers"), "volunteers")
	return vs[0]["name"].(string)
}

var matrix = []matrixRow{
	// People belong to no team: leading one does not create them.
	{rpc: "CreatePerson", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "POST", "/v1/people?personId=" + uniq("np"), `{"displayName":"New"}`
		}},
	{rpc: "UpdatePerson", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/people/" + newPerson(t, admin), `{"bio":"x"}`
		}},
	// The person themself ("member") may edit their profile.
	{rpc: "UpdatePerson (self)", want: [6]int{unau, ok, deny, deny, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/people/member", `{"bio":"mine"}`
		}},
	// ...but not make themself an admin.
	{rpc: "UpdatePerson (admin flag)", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/people/member?updateMask=admin", `{"admin":false}`
		}},
	// ...nor change their email: sign-in links go to it.
	{rpc: "UpdatePerson (email)", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/people/member?updateMask=email", `{"email":"` + uniq("member") + `@example.org"}`
		}},
	// What mail someone gets is theirs (and admins').
	{rpc: "UpdateNotificationSettings", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/people/" + newPerson(t, admin) + "/notificationSettings", `{"mutedKinds":["NOTIFICATION_KIND_ITEM_STALE"]}`
		}},
	{rpc: "UpdateNotificationSettings (self)", want: [6]int{unau, ok, deny, deny, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/people/member/notificationSettings", `{"mutedKinds":[]}`
		}},
	// An opt-out link works for anyone holding it: its token is the credential.
	{rpc: "UnsubscribeNotifications", want: [6]int{ok, ok, ok, ok, ok, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			tok := mail.NewOptOut("gh_internal-test-token").Token("people/"+newPerson(t, admin), "drift_nudge")
			return "POST", "/v1/notifications:unsubscribe?token=" + url.QueryEscape(tok), ""
		}},
	{rpc: "DeletePerson", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "DELETE", "/v1/people/" + newPerson(t, admin), ""
		}},
	{rpc: "CreateTeam", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "POST", "/v1/teams?teamId=" + uniq("t"), `{"displayName":"T"}`
		}},
	{rpc: "UpdateTeam", want: [6]int{unau, deny, deny, ok, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/teams/development", `{"charter":"` + uniq("c") + `"}`
		}},
	{rpc: "UpdateTeam (permissions)", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/teams/development", `{"permissions":["roadmap.edit"]}`
		}},
	{rpc: "DeleteTeam", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			id := uniq("t")
			mustOK(t, admin.Do(t, "POST", "/v1/teams?teamId="+id, `{"displayName":"T"}`), "setup team")
			return "DELETE", "/v1/teams/" + id, ""
		}},
	{rpc: "CreateTeamMember", want: [6]int{unau, deny, deny, ok, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "POST", "/v1/teams/development/members?teamMemberId=" + newPerson(t, admin), `{"role":"ROLE_MEMBER"}`
		}},
	{rpc: "UpdateTeamMember", want: [6]int{unau, deny, deny, ok, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/teams/development/members/" + newDevMember(t, admin), `{"role":"ROLE_MODERATOR"}`
		}},
	{rpc: "DeleteTeamMember", want: [6]int{unau, deny, deny, ok, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "DELETE", "/v1/teams/development/members/" + newDevMember(t, admin), ""
		}},
	{rpc: "CreatePosition", want: [6]int{unau, deny, deny, ok, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "POST", "/v1/teams/development/positions", `{"title":"Tester","role":"ROLE_MEMBER"}`
		}},
	{rpc: "UpdatePosition", want: [6]int{unau, deny, deny, ok, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/" + newDevPosition(t, admin), `{"hoursPerMonth":12}`
		}},
	{rpc: "FillPosition", want: [6]int{unau, deny, deny, ok, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "POST", "/v1/" + newDevPosition(t, admin) + ":fill", `{"person":"people/` + newPerson(t, admin) + `"}`
		}},
	{rpc: "OfferHelp", want: [6]int{ok, ok, ok, ok, ok, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "POST", "/v1/volunteers", `{"displayName":"Helper","contact":"helper@example.org"}`
		}},
	// An offer not yet matched is the coordinators' (and admins').
	{rpc: "TransitionVolunteer", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, env, admin *apptest.Env) (string, string, string) {
			return "POST", "/v1/" + newVolunteer(t, env, admin) + ":transition", `{"state":"STATE_CONTACTED"}`
		}},
	// Once matched to a development position, development's lead takes it on.
	{rpc: "TransitionVolunteer (matched to the team)", want: [6]int{unau, deny, deny, ok, deny, ok},
		req: func(t *testing.T, env, admin *apptest.Env) (string, string, string) {
			return "POST", "/v1/" + matchedVolunteer(t, env, admin, "development") + ":transition", `{"state":"STATE_ONBOARDING"}`
		}},
	{rpc: "TransitionVolunteer (matched to another team)", want: [6]int{unau, deny, ok, deny, deny, ok},
		req: func(t *testing.T, env, admin *apptest.Env) (string, string, string) {
			return "POST", "/v1/" + matchedVolunteer(t, env, admin, "forums") + ":transition", `{"state":"STATE_DECLINED"}`
		}},
	{rpc: "CreatePackage", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "POST", "/v1/packages?packageId=" + uniq("pkg"), `{"displayName":"x"}`
		}},
	{rpc: "CreatePackage (for the team)", want: [6]int{unau, deny, deny, ok, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "POST", "/v1/packages?packageId=" + uniq("pkg"), `{"displayName":"x","team":"teams/development"}`
		}},
	// "member" maintains the package, so may change it.
	{rpc: "UpdatePackage", want: [6]int{unau, ok, deny, deny, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/packages/" + newPackage(t, admin, `"people/member"`), `{"description":"d"}`
		}},
	{rpc: "UpdatePackage (the team's)", want: [6]int{unau, ok, deny, ok, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/packages/" + newTeamPackage(t, admin, `"people/member"`, "teams/development"), `{"description":"d"}`
		}},
	// Moving a package to another team takes leading that team too.
	{rpc: "UpdatePackage (move to forums)", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/packages/" + newTeamPackage(t, admin, `"people/member"`, "teams/development"), `{"team":"teams/forums"}`
		}},
	{rpc: "UpdatePackage (state)", want: [6]int{unau, http.StatusBadRequest, deny, http.StatusBadRequest, deny, http.StatusBadRequest},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "PATCH", "/v1/packages/" + newTeamPackage(t, admin, `"people/member"`, "teams/development"), `{"state":"STATE_OBSOLETE"}`
		}},
	{rpc: "OrphanPackage", want: [6]int{unau, ok, deny, deny, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "POST", "/v1/packages/" + newPackage(t, admin, `"people/member"`) + ":orphan", `{"maintainer":"people/member"}`
		}},
	{rpc: "OrphanPackage (the team's)", want: [6]int{unau, ok, deny, ok, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "POST", "/v1/packages/" + newTeamPackage(t, admin, `"people/member"`, "teams/development") + ":orphan", `{"maintainer":"people/member"}`
		}},
	{rpc: "TransitionPackage", want: [6]int{unau, ok, deny, deny, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "POST", "/v1/packages/" + newPackage(t, admin, `"people/member"`) + ":transition", `{"state":"STATE_SEEKING_MAINTAINER"}`
		}},
	{rpc: "TransitionPackage (the team's)", want: [6]int{unau, deny, deny, ok, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "POST", "/v1/packages/" + newTeamPackage(t, admin, "", "teams/development") + ":transition", `{"state":"STATE_OBSOLETE"}`
		}},
	{rpc: "AdoptPackage", want: [6]int{unau, ok, ok, ok, ok, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			return "POST", "/v1/packages/" + newPackage(t, admin, "") + ":adopt", `{}`
		}},
	// The Media lead approving an adoption of a package not Media's: refused.
	{rpc: "ApproveAdoption", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, env, admin *apptest.Env) (string, string, string) {
			pkg, adopter := pendingAdoption(t, env, admin, "")
			return "POST", "/v1/packages/" + pkg + ":approveAdoption", `{"person":"` + adopter + `"}`
		}},
	{rpc: "ApproveAdoption (the team's)", want: [6]int{unau, deny, deny, ok, deny, ok},
		req: func(t *testing.T, env, admin *apptest.Env) (string, string, string) {
			pkg, adopter := pendingAdoption(t, env, admin, "teams/development")
			return "POST", "/v1/packages/" + pkg + ":approveAdoption", `{"person":"` + adopter + `"}`
		}},
	{rpc: "CreateToken", want: [6]int{unau, ok, deny, deny, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "POST", "/v1/people/member/tokens", `{"displayName":"cli"}`
		}},
	{rpc: "RevokeToken", want: [6]int{unau, ok, deny, deny, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			tok := mustOK(t, admin.Do(t, "POST", "/v1/people/member/tokens", `{"displayName":"t"}`), "setup token")["token"].(map[string]any)
			return "POST", "/v1/" + tok["name"].(string) + ":revoke", `{}`
		}},
	// Linking identities is admins' (or a first verified email's); a person
	// removes their own.
	{rpc: "CreateIdentity", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "POST", "/v1/people/member/identities", `{"issuer":"` + matrixIssuer + `","subject":"` + uniq("sub") + `"}`
		}},
	{rpc: "DeleteIdentity", want: [6]int{unau, ok, deny, deny, deny, ok},
		req: func(t *testing.T, _, admin *apptest.Env) (string, string, string) {
			id := mustOK(t, admin.Do(t, "POST", "/v1/people/member/identities",
				`{"issuer":"`+matrixIssuer+`","subject":"`+uniq("sub")+`"}`), "setup identity")
			return "DELETE", "/v1/" + id["name"].(string), ""
		}},
	// Signing in is for anyone; renewing a session is its owner's.
	{rpc: "RequestSignIn", want: [6]int{ok, ok, ok, ok, ok, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "POST", "/v1/signIn:request", `{"email":"` + uniq("who") + `@example.org"}`
		}},
	{rpc: "CompleteSignIn", want: [6]int{ok, ok, ok, ok, ok, ok},
		req: func(t *testing.T, env, _ *apptest.Env) (string, string, string) {
			return "POST", "/v1/signIn:complete", `{"code":"` + signInCode(t, env, "member") + `"}`
		}},
	{rpc: "RenewToken", want: [6]int{unau, ok, deny, deny, deny, ok},
		req: func(t *testing.T, env, _ *apptest.Env) (string, string, string) {
			s := mustOK(t, env.WithToken("").Do(t, "POST", "/v1/signIn:complete", `{"code":"`+signInCode(t, env, "member")+`"}`), "setup session")
			return "POST", "/v1/" + s["token"].(map[string]any)["name"].(string) + ":renew", `{}`
		}},
	// Protected reads.
	{rpc: "FindPeople (handle)", want: [6]int{ok, ok, ok, ok, ok, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "GET", "/v1/people:find?handle=nobody-has-this", ""
		}},
	{rpc: "FindPeople (email)", want: [6]int{unau, deny, deny, deny, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "GET", "/v1/people:find?email=member@example.org", ""
		}},
	{rpc: "ListDriftEvents", want: [6]int{unau, deny, ok, ok, deny, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) { return "GET", "/v1/people:drift", "" }},
	// Anyone signed in lists offers: their own, or all for leads and coordinators.
	{rpc: "ListVolunteers", want: [6]int{unau, ok, ok, ok, ok, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) { return "GET", "/v1/volunteers", "" }},
	// A private resource: hidden (NOT_FOUND) from people who may not see it.
	{rpc: "GetVolunteer", want: [6]int{unau, hide, ok, ok, hide, ok},
		req: func(t *testing.T, env, admin *apptest.Env) (string, string, string) {
			return "GET", "/v1/" + newVolunteer(t, env, admin), ""
		}},
	{rpc: "SuggestPositions", want: [6]int{unau, deny, ok, ok, deny, ok},
		req: func(t *testing.T, env, admin *apptest.Env) (string, string, string) {
			return "GET", "/v1/" + newVolunteer(t, env, admin) + ":suggest", ""
		}},
	{rpc: "GetVolunteerStats", want: [6]int{ok, ok, ok, ok, ok, ok},
		req: func(t *testing.T, _, _ *apptest.Env) (string, string, string) {
			return "GET", "/v1/volunteers:stats", ""
		}},
}

// TestAccessMatrix holds every membership write RPC (and the protected
// reads) against each of the six actors.
func TestAccessMatrix(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) {
		c.VolunteerRatePerMinute = 1000
		c.OIDCIssuers = []config.OIDCIssuer{{URL: matrixIssuer, Audience: "guildhall"}}
	})
	actors := env.Actors(t)
	admin := env.WithToken(actors.Admin)
	for _, row := range matrix {
		t.Run(row.rpc, func(t *testing.T) {
			for i, tok := range tokens(actors) {
				method, path, body := row.req(t, env, admin)
				res := env.WithToken(tok).Do(t, method, path, body)
				if res.Status != row.want[i] {
					t.Errorf("%s as %s: HTTP %d, want %d: %s", row.rpc, actorNames[i], res.Status, row.want[i], res.Body)
				}
				if res.Status >= 400 {
					res.RPCStatus(t) // errors are google.rpc.Status
				}
			}
		})
	}

	// ReportActivity has no REST route: it is for Guildhall's services.
	t.Run("ReportActivity", func(t *testing.T) {
		want := []codes.Code{codes.Unauthenticated, codes.PermissionDenied, codes.PermissionDenied,
			codes.PermissionDenied, codes.PermissionDenied, codes.OK}
		c := membershipv1.NewMembershipServiceClient(env.Conn)
		for i, tok := range tokens(actors) {
			_, err := c.ReportActivity(apptest.Outgoing(context.Background(), tok), &membershipv1.ReportActivityRequest{
				Activities: []*membershipv1.Activity{{EventId: uniq("e"), Person: "people/member", Kind: "vote"}},
			})
			if got := status.Code(err); got != want[i] {
				t.Errorf("ReportActivity as %s: %v, want %v", actorNames[i], err, want[i])
			}
		}
	})
}

// matrixIssuer is configured for the matrix; no token of it is ever checked.
const matrixIssuer = "https://id.example.org"

// signInCode stores a live sign-in code of person, as a mailed link would
// carry it, and returns it.
func signInCode(t *testing.T, env *apptest.Env, person string) string {
	t.Helper()
	code := uniq("code")
	sum := sha256.Sum256([]byte(code))
	if _, err := env.DB(t, "membership").Exec(context.Background(),
		`INSERT INTO sign_in_codes (code_hash, person_id, expire_time, create_time) VALUES ($1, $2, $3, $4)`,
		sum[:], person, env.Clock.Now().Add(time.Hour), env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	return code
}

// TestMatrixCoversEveryWrite checks that the matrix covers every write RPC.
// (A method without an access rule stops start-up; see package app.)
func TestMatrixCoversEveryWrite(t *testing.T) {
	covered := map[string]bool{"ReportActivity": true}
	for _, r := range matrix {
		covered[strings.Fields(r.rpc)[0]] = true
	}
	for _, m := range membershipv1.MembershipService_ServiceDesc.Methods {
		read := slices.ContainsFunc([]string{"Get", "List", "Authenticate"}, func(p string) bool { return strings.HasPrefix(m.MethodName, p) })
		if !read && !covered[m.MethodName] {
			t.Errorf("write RPC %s is missing from the access matrix", m.MethodName)
		}
	}
}
