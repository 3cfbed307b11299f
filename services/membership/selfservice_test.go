package membership_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
)

// TestSelfServiceProfile: a signed-in person edits their own profile
// (display name, bio, handles) but not their email, which only an admin
// changes; nor anyone else's profile. Refusals store nothing.
func TestSelfServiceProfile(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	db := env.DB(t, "membership")
	ctx := context.Background()
	ada := env.WithToken(env.Person(t, "ada", false))
	env.Person(t, "bob", false)
	admin := env.WithToken(apptest.AdminToken)

	got := mustOK(t, ada.Do(t, http.MethodPatch, "/v1/people/ada?updateMask=displayName,bio,handles",
		`{"displayName":"Ada Lovelace","bio":"Notes on the engine","handles":{"irc":"ada","github":"ada-l"}}`), "edit own profile")
	handles, _ := got["handles"].(map[string]any)
	if got["displayName"] != "Ada Lovelace" || got["bio"] != "Notes on the engine" || handles["irc"] != "ada" || handles["github"] != "ada-l" {
		t.Fatalf("own profile after the edit: %v", got)
	}
	// Without a mask, the fields sent are the ones changed.
	if got := mustOK(t, ada.Do(t, http.MethodPatch, "/v1/people/ada", `{"bio":"Poetical science"}`), "edit bio"); got["bio"] != "Poetical science" || got["displayName"] != "Ada Lovelace" {
		t.Fatalf("bio edit: %v", got)
	}
	// Sending the email back unchanged (a read-modify-write) is no change.
	if got := mustOK(t, ada.Do(t, http.MethodPatch, "/v1/people/ada?updateMask=displayName,email",
		`{"displayName":"Ada L.","email":"ada@example.org"}`), "edit with the same email"); got["displayName"] != "Ada L." || got["email"] != "ada@example.org" {
		t.Fatalf("edit keeping the email: %v", got)
	}

	email := func() string {
		var e string
		if err := db.QueryRow(ctx, `SELECT email FROM people WHERE id = 'ada'`).Scan(&e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	for _, c := range []struct{ what, path, body string }{
		{"own email", "/v1/people/ada", `{"email":"ada@evil.example"}`},
		{"own email, masked", "/v1/people/ada?updateMask=email", `{"email":"ada@evil.example"}`},
		{"own email cleared", "/v1/people/ada?updateMask=email", `{}`},
		{"own email with other fields", "/v1/people/ada?updateMask=bio,email", `{"bio":"new","email":"ADA@example.org"}`},
		{"every field", "/v1/people/ada?updateMask=*", `{"displayName":"Ada"}`},
		{"someone else's profile", "/v1/people/bob", `{"bio":"hijacked"}`},
		{"someone else's email", "/v1/people/bob?updateMask=email", `{"email":"ada@example.org"}`},
	} {
		if res := ada.Do(t, http.MethodPatch, c.path, c.body); res.Status != http.StatusForbidden {
			t.Errorf("%s: HTTP %d %s, want 403", c.what, res.Status, res.Body)
		} else if st := res.RPCStatus(t); !strings.Contains(st.Message, "email") {
			t.Errorf("%s: the refusal does not say email is not theirs to change: %q", c.what, st.Message)
		}
	}
	if e := email(); e != "ada@example.org" {
		t.Fatalf("a refused update changed the email to %q", e)
	}
	var bio string
	if err := db.QueryRow(ctx, `SELECT bio FROM people WHERE id = 'ada'`).Scan(&bio); err != nil || bio != "Poetical science" {
		t.Fatalf("a refused update changed the bio: %q %v", bio, err)
	}
	if err := db.QueryRow(ctx, `SELECT bio FROM people WHERE id = 'bob'`).Scan(&bio); err != nil || bio != "" {
		t.Fatalf("bob's bio: %q %v", bio, err)
	}
	if res := env.Do(t, http.MethodPatch, "/v1/people/ada", `{"bio":"anon"}`); res.Status != http.StatusUnauthorized {
		t.Errorf("anonymous edit: HTTP %d, want 401", res.Status)
	}

	// An admin changes it; sign-in links then go to the new address.
	if got := mustOK(t, admin.Do(t, http.MethodPatch, "/v1/people/ada?updateMask=email", `{"email":"ada@new.example"}`), "admin changes the email"); got["email"] != "ada@new.example" {
		t.Fatalf("admin's email change: %v", got)
	}

	// Bad input from the person themself: 400 naming the field, nothing stored.
	for _, c := range []struct{ what, path, body, field string }{
		{"handle system", "/v1/people/ada", `{"handles":{"Not A System":"x"}}`, "person.handles"},
		{"empty display name", "/v1/people/ada?updateMask=displayName", `{"displayName":""}`, "person.displayName"},
		{"unknown mask path", "/v1/people/ada?updateMask=shoeSize", `{"bio":"x"}`, "update_mask"},
	} {
		res := ada.Do(t, http.MethodPatch, c.path, c.body)
		if res.Status != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s, want 400", c.what, res.Status, res.Body)
			continue
		}
		if st := res.RPCStatus(t); !fieldViolated(st, c.field) && !fieldViolated(st, snakeToCamel(c.field)) && !fieldViolated(st, camelToSnake(c.field)) {
			t.Errorf("%s: violations %v, want one on %s", c.what, st.Fields(), c.field)
		}
	}
	got = mustOK(t, ada.Do(t, http.MethodGet, "/v1/people/ada", ""), "read own profile")
	if got["displayName"] != "Ada L." || got["bio"] != "Poetical science" || len(got["handles"].(map[string]any)) != 2 {
		t.Fatalf("bad input changed the profile: %v", got)
	}
}

// camelToSnake turns "person.displayName" into "person.display_name".
func camelToSnake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestSelfServiceTokensAndSettings: a person makes, lists and revokes their
// own tokens and reads and sets their own notification settings, and none
// of someone else's.
func TestSelfServiceTokensAndSettings(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ada := env.WithToken(env.Person(t, "ada", false))
	bobToken := env.Person(t, "bob", false)
	bob := env.WithToken(bobToken)

	made := mustOK(t, ada.Do(t, http.MethodPost, "/v1/people/ada/tokens", `{"displayName":"laptop"}`), "create own token")
	secret, _ := made["secret"].(string)
	name, _ := made["token"].(map[string]any)["name"].(string)
	if secret == "" || !strings.HasPrefix(name, "people/ada/tokens/") {
		t.Fatalf("own token: %v", made)
	}
	if p := mustOK(t, env.WithToken(secret).Do(t, http.MethodGet, "/v1/caller", ""), "the new token"); p["person"] != "people/ada" {
		t.Fatalf("the new token acts as %v", p["person"])
	}
	names := func(e *apptest.Env, parent string) []string {
		var out []string
		for _, tk := range list(t, mustOK(t, e.Do(t, http.MethodGet, "/v1/"+parent+"/tokens", ""), "list tokens"), "tokens") {
			out = append(out, tk["name"].(string))
		}
		return out
	}
	if ns := names(ada, "people/ada"); !contains(ns, name) {
		t.Fatalf("own tokens %v lack %s", ns, name)
	}
	bobs := names(bob, "people/bob")
	if len(bobs) == 0 {
		t.Fatal("bob has no tokens")
	}

	for _, c := range []struct{ what, method, path, body string }{
		{"list someone else's tokens", http.MethodGet, "/v1/people/bob/tokens", ""},
		{"make a token for someone else", http.MethodPost, "/v1/people/bob/tokens", `{"displayName":"mine now"}`},
		{"revoke someone else's token", http.MethodPost, "/v1/" + bobs[0] + ":revoke", `{}`},
		{"read someone else's notification settings", http.MethodGet, "/v1/people/bob/notificationSettings", ""},
		{"set someone else's notification settings", http.MethodPatch, "/v1/people/bob/notificationSettings", `{"mutedKinds":["NOTIFICATION_KIND_DRIFT_NUDGE"]}`},
	} {
		if res := ada.Do(t, c.method, c.path, c.body); res.Status != http.StatusForbidden {
			t.Errorf("%s: HTTP %d %s, want 403", c.what, res.Status, res.Body)
		}
		if res := env.Do(t, c.method, c.path, c.body); res.Status != http.StatusUnauthorized {
			t.Errorf("anonymous: %s: HTTP %d, want 401", c.what, res.Status)
		}
	}
	if ns := names(bob, "people/bob"); len(ns) != len(bobs) {
		t.Fatalf("bob's tokens changed: %v -> %v", bobs, ns)
	}
	mustOK(t, bob.Do(t, http.MethodGet, "/v1/caller", ""), "bob's token still works")

	// Bad input: a token that would expire in the past, 400 and nothing made.
	before := len(names(ada, "people/ada"))
	if res := ada.Do(t, http.MethodPost, "/v1/people/ada/tokens", `{"displayName":"old","expireTime":"2001-01-01T00:00:00Z"}`); res.Status != http.StatusBadRequest {
		t.Errorf("token expiring in the past: HTTP %d %s", res.Status, res.Body)
	} else if st := res.RPCStatus(t); !fieldViolated(st, "token.expireTime") && !fieldViolated(st, "token.expire_time") {
		t.Errorf("token expiring in the past: violations %v", st.Fields())
	}
	if n := len(names(ada, "people/ada")); n != before {
		t.Errorf("a refused token was stored: %d -> %d", before, n)
	}

	// Own notification settings.
	got := mustOK(t, ada.Do(t, http.MethodPatch, "/v1/people/ada/notificationSettings?updateMask=mutedKinds",
		`{"mutedKinds":["NOTIFICATION_KIND_DRIFT_NUDGE"]}`), "set own settings")
	if fmt.Sprint(got["mutedKinds"]) != "[NOTIFICATION_KIND_DRIFT_NUDGE]" {
		t.Fatalf("own settings: %v", got)
	}
	if got := mustOK(t, ada.Do(t, http.MethodGet, "/v1/people/ada/notificationSettings", ""), "read own settings"); fmt.Sprint(got["mutedKinds"]) != "[NOTIFICATION_KIND_DRIFT_NUDGE]" {
		t.Fatalf("own settings read back: %v", got)
	}
	if got := mustOK(t, bob.Do(t, http.MethodGet, "/v1/people/bob/notificationSettings", ""), "bob's settings"); fmt.Sprint(got["mutedKinds"]) != "[]" {
		t.Fatalf("bob's settings changed: %v", got)
	}

	// Revoking one's own token ends it.
	mustOK(t, ada.Do(t, http.MethodPost, "/v1/"+name+":revoke", `{}`), "revoke own token")
	env.Clock.Advance(11e9) // past the authentication cache
	if res := env.WithToken(secret).Do(t, http.MethodGet, "/v1/caller", ""); res.Status != http.StatusUnauthorized {
		t.Fatalf("revoked token: HTTP %d", res.Status)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
