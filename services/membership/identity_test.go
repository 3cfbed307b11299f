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
