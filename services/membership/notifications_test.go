package membership_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/mail"
)

func mutedKinds(t *testing.T, body map[string]any) []string {
	t.Helper()
	var out []string
	for _, k := range body["mutedKinds"].([]any) {
		out = append(out, k.(string))
	}
	return out
}

func TestNotificationSettings(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	jane := env.WithToken(env.Person(t, "jane", false))
	bob := env.WithToken(env.Person(t, "bob", false))
	admin := env.WithToken(apptest.AdminToken)
	const path = "/v1/people/jane/notificationSettings"

	got := mustOK(t, jane.Do(t, http.MethodGet, path, ""), "get own settings")
	if got["name"] != "people/jane/notificationSettings" || len(mutedKinds(t, got)) != 0 {
		t.Errorf("fresh settings: %v", got)
	}
	for who, e := range map[string]*apptest.Env{"another person": bob, "anonymous": env} {
		if res := e.Do(t, http.MethodGet, path, ""); res.Status != http.StatusForbidden && res.Status != http.StatusUnauthorized {
			t.Errorf("%s reads jane's settings: HTTP %d", who, res.Status)
		}
		if res := e.Do(t, http.MethodPatch, path, `{"mutedKinds":["NOTIFICATION_KIND_DRIFT_NUDGE"]}`); res.Status != http.StatusForbidden && res.Status != http.StatusUnauthorized {
			t.Errorf("%s changes jane's settings: HTTP %d", who, res.Status)
		}
	}

	got = mustOK(t, jane.Do(t, http.MethodPatch, path+"?updateMask=mutedKinds", `{"mutedKinds":["NOTIFICATION_KIND_DRIFT_NUDGE","NOTIFICATION_KIND_ITEM_STALE"]}`), "mute two kinds")
	if k := mutedKinds(t, got); !slices.Equal(k, []string{"NOTIFICATION_KIND_DRIFT_NUDGE", "NOTIFICATION_KIND_ITEM_STALE"}) {
		t.Errorf("muted: %v", k)
	}
	etag := got["etag"].(string)
	mustOK(t, admin.Do(t, http.MethodGet, path, ""), "an admin reads them")

	// Bad updates: a 4xx naming the field, and nothing stored.
	for _, c := range []struct{ name, query, body, field string }{
		{"unspecified kind", "", `{"mutedKinds":["NOTIFICATION_KIND_UNSPECIFIED"]}`, "notification_settings.muted_kinds"},
		{"unknown number", "", `{"mutedKinds":[99]}`, "notification_settings.muted_kinds"},
		{"kind twice", "", `{"mutedKinds":["NOTIFICATION_KIND_VOLUNTEER","NOTIFICATION_KIND_VOLUNTEER"]}`, "notification_settings.muted_kinds"},
		{"unknown mask path", "?updateMask=email", `{"mutedKinds":[]}`, "update_mask"},
	} {
		res := jane.Do(t, http.MethodPatch, path+c.query, c.body)
		if res.Status != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s, want 400", c.name, res.Status, res.Body)
			continue
		}
		st := res.RPCStatus(t)
		if !fieldViolated(st, c.field) && !fieldViolated(st, snakeToCamel(c.field)) {
			t.Errorf("%s: violations %v, want one on %s", c.name, st.Fields(), c.field)
		}
	}
	if res := jane.Do(t, http.MethodPatch, path, `{"mutedKinds":[],"etag":"12345"}`); res.Status != http.StatusConflict {
		t.Errorf("stale etag: HTTP %d, want 409", res.Status)
	}
	got = mustOK(t, jane.Do(t, http.MethodGet, path, ""), "settings after bad updates")
	if got["etag"] != etag || len(mutedKinds(t, got)) != 2 {
		t.Errorf("a refused update changed the settings: %v", got)
	}
	if res := jane.Do(t, http.MethodGet, "/v1/people/nobody/notificationSettings", ""); res.Status != http.StatusForbidden {
		t.Errorf("someone else's (missing) settings: HTTP %d", res.Status)
	}
	if res := admin.Do(t, http.MethodGet, "/v1/people/nobody/notificationSettings", ""); res.Status != http.StatusNotFound {
		t.Errorf("admin reads a missing person's settings: HTTP %d, want 404", res.Status)
	}
}

func snakeToCamel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// unsubscribe posts to an opt-out link as a mail client does (RFC 8058):
// no credentials, a form body.
func unsubscribe(t *testing.T, env *apptest.Env, token string) *apptest.Response {
	t.Helper()
	return env.Do(t, http.MethodPost, "/v1/notifications:unsubscribe?token="+url.QueryEscape(token), "List-Unsubscribe=One-Click",
		"Content-Type", "application/x-www-form-urlencoded")
}

func TestOneClickOptOut(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	jane := env.WithToken(env.Person(t, "jane", false))
	links := mail.NewOptOut("gh_internal-test-token") // apptest's GUILDHALL_INTERNAL_TOKEN
	const path = "/v1/people/jane/notificationSettings"

	res := unsubscribe(t, env, links.Token("people/jane", "drift_team"))
	if body := mustOK(t, res, "one-click opt-out"); body["kind"] != "NOTIFICATION_KIND_DRIFT_TEAM" {
		t.Errorf("opt-out answer: %v", body)
	}
	got := mustOK(t, jane.Do(t, http.MethodGet, path, ""), "settings after opt-out")
	if k := mutedKinds(t, got); !slices.Equal(k, []string{"NOTIFICATION_KIND_DRIFT_TEAM"}) {
		t.Errorf("muted after opt-out: %v", k)
	}
	// The same link again: still fine, and nothing changes.
	mustOK(t, unsubscribe(t, env, links.Token("people/jane", "drift_team")), "the same link again")
	again := mustOK(t, jane.Do(t, http.MethodGet, path, ""), "settings after the second click")
	if again["etag"] != got["etag"] {
		t.Errorf("a second click changed the settings: %v then %v", got, again)
	}

	// Links not signed by this Guildhall do nothing.
	forged := mail.NewOptOut("another-secret").Token("people/jane", "drift_nudge")
	good := links.Token("people/jane", "item_stale")
	for name, tok := range map[string]string{
		"other key":    forged,
		"tampered":     strings.Replace(good, good[:4], "AAAA", 1),
		"unknown kind": links.Token("people/jane", "everything"),
		"no token":     "",
	} {
		res := unsubscribe(t, env, tok)
		if res.Status != http.StatusBadRequest || !fieldViolated(res.RPCStatus(t), "token") {
			t.Errorf("%s: HTTP %d %s, want 400 on token", name, res.Status, res.Body)
		}
	}
	// A link for someone who is gone says nothing about them.
	mustOK(t, unsubscribe(t, env, links.Token("people/ghost", "drift_nudge")), "a departed person's link")
	final := mustOK(t, jane.Do(t, http.MethodGet, path, ""), "settings at the end")
	if final["etag"] != got["etag"] {
		t.Errorf("refused links changed the settings: %v", final)
	}

	// A volunteer (not a person) opts out of the mail about their offer.
	res = env.Do(t, http.MethodPost, "/v1/volunteers", `{"displayName":"Vic","contact":"vic@example.org"}`)
	mustOK(t, res, "offer help")
	var id string
	if err := env.DB(t, "membership").QueryRow(context.Background(), `SELECT id FROM volunteers WHERE contact = 'vic@example.org'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	mustOK(t, unsubscribe(t, env, links.Token("volunteers/"+id, "volunteer")), "volunteer opt-out")
	var n int
	if err := env.DB(t, "membership").QueryRow(context.Background(), `SELECT count(*) FROM volunteer_mail_optouts WHERE volunteer_id = $1`, id).Scan(&n); err != nil || n != 1 {
		t.Errorf("volunteer opt-out stored: %d, %v", n, err)
	}
}
