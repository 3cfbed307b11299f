package membership_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/auth/oidctest"
	"github.com/guildhall/guildhall/internal/config"
)

// oidcEnv runs Guildhall accepting tokens of p with audience "guildhall".
func oidcEnv(t *testing.T, p *oidctest.Provider) *apptest.Env {
	t.Helper()
	return apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) {
		c.OIDCIssuers = []config.OIDCIssuer{{URL: p.Issuer, Audience: "guildhall"}}
	})
}

// caller asks who token is: the HTTP status and, on 200, the principal.
func caller(t *testing.T, env *apptest.Env, token string) (int, map[string]any) {
	t.Helper()
	res := env.WithToken(token).Do(t, "GET", "/v1/caller", "")
	if res.Status != http.StatusOK {
		return res.Status, nil
	}
	return res.Status, res.JSON(t)
}

// TestOIDCTokens checks tokens minted by a real provider (zitadel/oidc on
// loopback) against the checks of go-oidc: a linked identity is its
// person; a wrong audience, an unknown issuer, an expired token, an
// unsigned (alg none) token and a token of a withdrawn key are 401; a new
// key works from its first token.
func TestOIDCTokens(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t)
	other := oidctest.Start(t) // an issuer Guildhall does not trust
	env := oidcEnv(t, idp)
	admin := env.WithToken(apptest.AdminToken)
	env.Person(t, "ada", false)
	idp.AddUser("sub-ada", "", false)
	other.AddUser("sub-ada", "", false)

	// Linked by an admin, an ID token and a JWT access token act as Ada.
	mustOK(t, admin.Do(t, "POST", "/v1/people/ada/identities",
		`{"issuer":"`+idp.Issuer+`","subject":"sub-ada"}`), "link")
	for name, tok := range map[string]string{
		"ID token":     idp.IDToken(t, "sub-ada", "guildhall", time.Hour),
		"access token": idp.AccessToken(t, "sub-ada", "guildhall", time.Hour),
	} {
		status, p := caller(t, env, tok)
		if status != http.StatusOK || p["person"] != "people/ada" || p["issuer"] != idp.Issuer || p["subject"] != "sub-ada" {
			t.Fatalf("%s: HTTP %d %v, want people/ada", name, status, p)
		}
	}
	// Ada may now do what she may do with a Guildhall token.
	mustOK(t, env.WithToken(idp.IDToken(t, "sub-ada", "guildhall", time.Hour)).Do(t, "GET", "/v1/people/ada/tokens", ""), "own tokens")

	valid := idp.IDToken(t, "sub-ada", "guildhall", time.Hour)
	refused := map[string]string{
		"wrong audience": idp.IDToken(t, "sub-ada", "another-app", time.Hour),
		"wrong issuer":   other.IDToken(t, "sub-ada", "guildhall", time.Hour),
		"alg none":       oidctest.Unsigned(t, valid),
		"garbage":        "a.b.c",
	}
	for name, tok := range refused {
		if status, _ := caller(t, env, tok); status != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d, want 401", name, status)
		}
	}

	// Expiry: refused once exp plus the leeway (30s) has passed.
	short := idp.IDToken(t, "sub-ada", "guildhall", time.Minute)
	env.Clock.Advance(time.Minute + 10*time.Second)
	if status, _ := caller(t, env, short); status != http.StatusOK {
		t.Errorf("a token 10s past exp (within the leeway): HTTP %d, want 200", status)
	}
	env.Clock.Advance(40 * time.Second) // also past the 10s authentication cache
	if status, _ := caller(t, env, short); status != http.StatusUnauthorized {
		t.Errorf("expired token: HTTP %d, want 401", status)
	}

	// Rotation: the provider withdraws its key. Once keys are fetched again
	// (at the latest after the key refresh, 10m), the old key's tokens fail
	// and the new key's work.
	old := idp.IDToken(t, "sub-ada", "guildhall", time.Hour)
	if status, _ := caller(t, env, old); status != http.StatusOK {
		t.Fatalf("before rotation: HTTP %d", status)
	}
	idp.RotateKey()
	env.Clock.Advance(11 * time.Minute)
	if status, _ := caller(t, env, old); status != http.StatusUnauthorized {
		t.Errorf("token of a withdrawn key after the key refresh: HTTP %d, want 401", status)
	}
	second := idp.IDToken(t, "sub-ada", "guildhall", time.Hour)
	if status, p := caller(t, env, second); status != http.StatusOK || p["person"] != "people/ada" {
		t.Errorf("token of the new key: HTTP %d %v", status, p)
	}
	// A token signed by a key the verifier has not seen fetches the keys at
	// once, so the new key works and the withdrawn one fails right away.
	idp.RotateKey()
	third := idp.IDToken(t, "sub-ada", "guildhall", time.Hour)
	if status, p := caller(t, env, third); status != http.StatusOK || p["person"] != "people/ada" {
		t.Errorf("token of the next key: HTTP %d %v", status, p)
	}
	env.Clock.Advance(11 * time.Second) // past the authentication cache only
	if status, _ := caller(t, env, second); status != http.StatusUnauthorized {
		t.Errorf("token of the key withdrawn by the last rotation: HTTP %d, want 401", status)
	}
}

// TestOIDCLinkByVerifiedEmail: the first token with a verified email that
// is a person's links the identity to them (stored); an unverified email
// links nothing and the caller is a guest, who may offer help under that
// identity and then see the offer, but nothing a person may do.
func TestOIDCLinkByVerifiedEmail(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t)
	env := oidcEnv(t, idp)
	env.Person(t, "grace", false) // email grace@example.org
	env.Person(t, "linus", false)
	idp.AddUser("sub-grace", "Grace@Example.org", true)
	idp.AddUser("sub-mallory", "linus@example.org", false)

	status, p := caller(t, env, idp.IDToken(t, "sub-grace", "guildhall", time.Hour))
	if status != http.StatusOK || p["person"] != "people/grace" {
		t.Fatalf("verified email: HTTP %d %v, want people/grace", status, p)
	}
	var origin, subject string
	if err := env.DB(t, "membership").QueryRow(context.Background(),
		`SELECT origin, subject FROM identities WHERE person_id = 'grace'`).Scan(&origin, &subject); err != nil || origin != "email" || subject != "sub-grace" {
		t.Fatalf("stored link: %q %q %v", origin, subject, err)
	}
	admin := env.WithToken(apptest.AdminToken)
	if ids := list(t, mustOK(t, admin.Do(t, "GET", "/v1/people/grace/identities", ""), "list"), "identities"); len(ids) != 1 || ids[0]["origin"] != "email" {
		t.Fatalf("identities: %v", ids)
	}

	// Unverified: a guest, not Linus.
	mallory := env.WithToken(idp.IDToken(t, "sub-mallory", "guildhall", time.Hour))
	status, p = caller(t, env, idp.IDToken(t, "sub-mallory", "guildhall", time.Hour))
	if status != http.StatusOK || p["person"] != "" || p["subject"] != "sub-mallory" {
		t.Fatalf("unverified email: HTTP %d %v, want a guest", status, p)
	}
	if res := mallory.Do(t, "GET", "/v1/people/linus/tokens", ""); res.Status != http.StatusForbidden {
		t.Fatalf("guest reading Linus's tokens: HTTP %d %s", res.Status, res.Body)
	}
	if res := mallory.Do(t, "POST", "/v1/people/linus/tokens", `{"displayName":"x"}`); res.Status != http.StatusForbidden {
		t.Fatalf("guest making a token for Linus: HTTP %d %s", res.Status, res.Body)
	}
	// A guest may do what anonymous callers may, and offer help as themself.
	mustOK(t, mallory.Do(t, "GET", "/v1/teams", ""), "guest reads teams")
	mustOK(t, mallory.Do(t, "POST", "/v1/volunteers", `{"displayName":"Mallory","contact":"m@example.net"}`), "guest offers help")
	var issuer string
	if err := env.DB(t, "membership").QueryRow(context.Background(),
		`SELECT offered_by_issuer FROM volunteers WHERE offered_by_subject = 'sub-mallory'`).Scan(&issuer); err != nil || issuer != idp.Issuer {
		t.Fatalf("offer under the guest identity: %q %v", issuer, err)
	}
	var links int
	if err := env.DB(t, "membership").QueryRow(context.Background(),
		`SELECT count(*) FROM identities WHERE subject = 'sub-mallory'`).Scan(&links); err != nil || links != 0 {
		t.Fatalf("unverified email linked: %d %v", links, err)
	}
}

// TestCreateIdentityBadInput: admins only; missing fields, an issuer that is
// not configured and an identity linked already are refused, and nothing is
// stored.
func TestCreateIdentityBadInput(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t)
	env := oidcEnv(t, idp)
	admin := env.WithToken(apptest.AdminToken)
	ada := env.WithToken(env.Person(t, "ada", false))
	env.Person(t, "bob", false)

	if res := ada.Do(t, "POST", "/v1/people/ada/identities", `{"issuer":"`+idp.Issuer+`","subject":"s"}`); res.Status != http.StatusForbidden {
		t.Fatalf("a person linking an identity to themself: HTTP %d", res.Status)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"subject":"s"}`, "identity.issuer"},
		{`{"issuer":"` + idp.Issuer + `"}`, "identity.subject"},
		{`{"issuer":"https://not-configured.example","subject":"s"}`, "identity.issuer"},
		{`{"issuer":"not a url","subject":"s"}`, "identity.issuer"},
	} {
		res := admin.Do(t, "POST", "/v1/people/ada/identities", tc.body)
		if res.Status != http.StatusBadRequest || !fieldViolated(res.RPCStatus(t), tc.field) {
			t.Errorf("%s: HTTP %d %s, want 400 on %s", tc.body, res.Status, res.Body, tc.field)
		}
	}
	if res := admin.Do(t, "POST", "/v1/people/nobody/identities", `{"issuer":"`+idp.Issuer+`","subject":"s"}`); res.Status != http.StatusNotFound {
		t.Errorf("unknown person: HTTP %d", res.Status)
	}
	var n int
	if err := env.DB(t, "membership").QueryRow(context.Background(), `SELECT count(*) FROM identities`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("stored after refusals: %d %v", n, err)
	}
	mustOK(t, admin.Do(t, "POST", "/v1/people/ada/identities", `{"issuer":"`+idp.Issuer+`","subject":"s"}`), "link")
	if res := admin.Do(t, "POST", "/v1/people/bob/identities", `{"issuer":"`+idp.Issuer+`","subject":"s"}`); res.Status != http.StatusConflict {
		t.Fatalf("identity linked twice: HTTP %d", res.Status)
	}
	// Ada sees and removes her own link; Bob may not see hers.
	if res := env.WithToken(env.Person(t, "bob", false)).Do(t, "GET", "/v1/people/ada/identities", ""); res.Status != http.StatusForbidden {
		t.Fatalf("another person's identities: HTTP %d", res.Status)
	}
	ids := list(t, mustOK(t, ada.Do(t, "GET", "/v1/people/ada/identities", ""), "own identities"), "identities")
	if len(ids) != 1 {
		t.Fatalf("identities: %v", ids)
	}
	if res := ada.Do(t, "DELETE", "/v1/"+ids[0]["name"].(string), ""); res.Status != http.StatusOK {
		t.Fatalf("unlink: HTTP %d %s", res.Status, res.Body)
	}
	if err := env.DB(t, "membership").QueryRow(context.Background(), `SELECT count(*) FROM identities`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after unlink: %d %v", n, err)
	}
}
