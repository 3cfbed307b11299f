package membership_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guildhall/guildhall/app/apptest"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/auth"
)

// TestPrivateFields: a person's email reaches only themself, admins and
// leads of their teams, in Get and in List.
func TestPrivateFields(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	subject := env.Person(t, "subject", false) // subject@example.org
	env.Member(t, "development", "subject", "member")

	callers := []struct {
		who   string
		token string
		sees  bool
	}{
		{"anonymous", a.Anonymous, false},
		{"plain member", a.Member, false},
		{"lead of another team", a.OtherLead, false},
		{"lead of the subject's team", a.Lead, true},
		{"finance member", a.FinanceTeam, false},
		{"admin", a.Admin, true},
		{"the subject", subject, true},
	}
	for _, c := range callers {
		e := env.WithToken(c.token)
		p := mustOK(t, e.Do(t, "GET", "/v1/people/subject", ""), "get")
		if got := p["email"] != ""; got != c.sees {
			t.Errorf("GET as %s: email shown %v, want %v (%v)", c.who, got, c.sees, p["email"])
		}
		if teams, _ := p["teams"].([]any); len(teams) != 1 || teams[0] != "teams/development" {
			t.Errorf("GET as %s: teams %v", c.who, p["teams"])
		}
		res := e.Do(t, "GET", "/v1/people?pageSize=1000", "")
		body := mustOK(t, res, "list")
		for _, q := range list(t, body, "people") {
			if q["name"] == "people/subject" {
				if got := q["email"] != ""; got != c.sees {
					t.Errorf("LIST as %s: subject's email shown %v, want %v", c.who, got, c.sees)
				}
			}
		}
		// Nobody but an admin sees everyone's email; anonymous callers see none at all.
		if c.token == a.Anonymous && strings.Contains(string(res.Body), "@example.org") {
			t.Errorf("anonymous list leaks an email: %s", res.Body)
		}
		if c.token == a.Lead && strings.Contains(string(res.Body), "financer@example.org") {
			t.Errorf("a lead sees the email of someone outside their team: %s", res.Body)
		}
	}

	// Only admins may change admin; the person may change the rest.
	self := env.WithToken(subject)
	if res := self.Do(t, "PATCH", "/v1/people/subject", `{"admin":true}`); res.Status != http.StatusForbidden {
		t.Fatalf("self-promotion: HTTP %d %s", res.Status, res.Body)
	}
	p := mustOK(t, self.Do(t, "PATCH", "/v1/people/subject", `{"bio":"Tester"}`), "self edit")
	if p["admin"] != false || p["bio"] != "Tester" || p["lastActiveTime"] == nil {
		t.Fatalf("self edit: %v (own writes count as activity)", p)
	}
	p = mustOK(t, env.WithToken(a.Admin).Do(t, "PATCH", "/v1/people/subject", `{"admin":true}`), "grant admin")
	if p["admin"] != true {
		t.Fatalf("admin grant: %v", p)
	}
	// Nobody but an admin creates an admin (and leads create no people at all).
	if res := env.WithToken(a.Lead).Do(t, "POST", "/v1/people?personId=boss", `{"displayName":"Boss","admin":true}`); res.Status != http.StatusForbidden {
		t.Fatalf("lead creates an admin: HTTP %d %s", res.Status, res.Body)
	}
}

// TestRevokedTokenStopsWorking: a revoked token is refused once the
// services' authentication cache entry expires.
func TestRevokedTokenStopsWorking(t *testing.T) {
	env := apptest.Start(t)
	env.Person(t, "jcrisp", false)
	admin := env.WithToken(apptest.AdminToken)
	created := mustOK(t, admin.Do(t, "POST", "/v1/people/jcrisp/tokens", `{"displayName":"laptop"}`), "create token")
	secret := created["secret"].(string)
	name := created["token"].(map[string]any)["name"].(string)
	if res := admin.Do(t, "GET", "/v1/people/jcrisp/tokens", ""); !strings.HasPrefix(secret, "gh_") || strings.Contains(string(res.Body), secret) {
		t.Fatalf("secret %q listed: %s", secret, res.Body)
	}
	user := env.WithToken(secret)
	// Works right before revocation, for a protected write.
	if res := user.Do(t, "PATCH", "/v1/people/jcrisp", `{"bio":"before"}`); res.Status != http.StatusOK {
		t.Fatalf("before revocation: HTTP %d %s", res.Status, res.Body)
	}
	if c := mustOK(t, user.Do(t, "GET", "/v1/caller", ""), "caller"); c["person"] != "people/jcrisp" {
		t.Fatalf("caller %v", c)
	}
	r := mustOK(t, user.Do(t, "POST", "/v1/"+name+":revoke", `{}`), "revoke")
	if r["revokeTime"] == nil {
		t.Fatalf("revoke: %v", r)
	}
	env.Clock.Advance(auth.DefaultTTL + time.Second)
	if res := user.Do(t, "PATCH", "/v1/people/jcrisp", `{"bio":"after"}`); res.Status != http.StatusUnauthorized {
		t.Fatalf("after revocation: HTTP %d %s", res.Status, res.Body)
	}
	if res := user.Do(t, "GET", "/v1/caller", ""); res.Status != http.StatusUnauthorized {
		t.Fatalf("caller after revocation: HTTP %d %s", res.Status, res.Body)
	}
}

// TestTokenExpires: a token with an expiry works until then and is refused
// after it, in the REST API and over gRPC alike.
func TestTokenExpires(t *testing.T) {
	env := apptest.Start(t)
	self := env.WithToken(env.Person(t, "jcrisp", false))
	expire := env.Clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	created := mustOK(t, self.Do(t, "POST", "/v1/people/jcrisp/tokens", `{"displayName":"ci","expireTime":"`+expire+`"}`), "create token")
	user := env.WithToken(created["secret"].(string))
	if c := mustOK(t, user.Do(t, "GET", "/v1/caller", ""), "caller"); c["person"] != "people/jcrisp" {
		t.Fatalf("caller %v", c)
	}
	env.Clock.Advance(time.Hour + auth.DefaultTTL)
	if res := user.Do(t, "GET", "/v1/caller", ""); res.Status != http.StatusUnauthorized {
		t.Fatalf("after expiry: HTTP %d %s", res.Status, res.Body)
	}
	_, err := membershipv1.NewMembershipServiceClient(env.Conn).GetCaller(
		apptest.Outgoing(context.Background(), created["secret"].(string)), &membershipv1.GetCallerRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("gRPC after expiry: %v", err)
	}
}
