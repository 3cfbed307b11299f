package membership_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/auth/oidctest"
)

// TestOwnOffers: a volunteer who offered help while signed in (with a
// session from an email sign-in link) lists exactly their own offer and
// follows its state as a coordinator moves it; they read it, contact and
// all, but no one else's; others see none of it; anonymous callers are
// refused; their list pages like any other.
func TestOwnOffers(t *testing.T) {
	t.Parallel()
	env, smtp := signinEnv(t)
	db := env.DB(t, "membership")
	ctx := context.Background()
	env.Person(t, "ada", false)
	bob := env.WithToken(env.Person(t, "bob", false))
	env.Team(t, "welcome", "volunteers.coordinate")
	cora := env.WithToken(env.Person(t, "cora", false))
	env.Member(t, "welcome", "cora", "member")

	// Ada signs in by email and offers help with her session.
	mustOK(t, env.Do(t, http.MethodPost, "/v1/signIn:request", `{"email":"ada@example.org"}`), "request a link")
	res := mustOK(t, env.Do(t, http.MethodPost, "/v1/signIn:complete", `{"code":"`+linkFor(t, smtp, "ada@example.org", 1)+`"}`), "complete")
	ada := env.WithToken(res["secret"].(string))
	mustOK(t, ada.Do(t, http.MethodPost, "/v1/volunteers", `{"displayName":"Ada","contact":"irc:ada","skills":["perl"]}`), "ada offers")
	// Offers by others: anonymous (even with Ada's address), and Bob's.
	mustOK(t, env.Do(t, http.MethodPost, "/v1/volunteers", `{"displayName":"Ada?","contact":"ada@example.org"}`), "anonymous offer")
	mustOK(t, bob.Do(t, http.MethodPost, "/v1/volunteers", `{"displayName":"Bob","contact":"bob@example.org"}`), "bob offers")

	var stored string
	if err := db.QueryRow(ctx, `SELECT id FROM volunteers WHERE offered_by_person = 'ada'`).Scan(&stored); err != nil {
		t.Fatalf("ada's offer is not stored as hers: %v", err)
	}
	own := list(t, mustOK(t, ada.Do(t, http.MethodGet, "/v1/volunteers", ""), "ada lists"), "volunteers")
	if len(own) != 1 || own[0]["name"] != "volunteers/"+stored || own[0]["state"] != "STATE_NEW" || own[0]["contact"] != "irc:ada" {
		t.Fatalf("ada's own offers: %v", own)
	}
	name := own[0]["name"].(string)

	// A coordinator sees all three and moves Ada's on.
	all := list(t, mustOK(t, cora.Do(t, http.MethodGet, "/v1/volunteers", ""), "coordinator lists"), "volunteers")
	if len(all) != 3 {
		t.Fatalf("the coordinator sees %d offers, want 3", len(all))
	}
	mustOK(t, cora.Do(t, http.MethodPost, "/v1/"+name+":transition", `{"state":"STATE_CONTACTED","note":"said hello on IRC"}`), "contacted")
	own = list(t, mustOK(t, ada.Do(t, http.MethodGet, "/v1/volunteers", ""), "ada lists again"), "volunteers")
	if len(own) != 1 || own[0]["state"] != "STATE_CONTACTED" {
		t.Fatalf("ada's offer after the move: %v", own)
	}
	if h := list(t, own[0], "history"); len(h) != 1 || h[0]["toState"] != "STATE_CONTACTED" {
		t.Errorf("history: %v", h)
	}
	if got := list(t, mustOK(t, ada.Do(t, http.MethodGet, "/v1/volunteers?state=STATE_NEW", ""), "ada's new offers"), "volunteers"); len(got) != 0 {
		t.Errorf("ada's NEW offers: %v", got)
	}
	if got := list(t, mustOK(t, ada.Do(t, http.MethodGet, "/v1/volunteers?filter="+url.QueryEscape(`state = "STATE_CONTACTED"`), ""), "filtered"), "volunteers"); len(got) != 1 {
		t.Errorf("ada's CONTACTED offers by filter: %v", got)
	}
	if got := mustOK(t, ada.Do(t, http.MethodGet, "/v1/"+name, ""), "ada reads her offer"); got["state"] != "STATE_CONTACTED" || got["contact"] != "irc:ada" {
		t.Errorf("ada's offer read: %v", got)
	}

	// Bob sees only his; Ada's offer does not exist for him.
	bobs := list(t, mustOK(t, bob.Do(t, http.MethodGet, "/v1/volunteers", ""), "bob lists"), "volunteers")
	if len(bobs) != 1 || bobs[0]["displayName"] != "Bob" {
		t.Fatalf("bob's own offers: %v", bobs)
	}
	if r := bob.Do(t, http.MethodGet, "/v1/"+name, ""); r.Status != http.StatusNotFound {
		t.Errorf("bob reads ada's offer: HTTP %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"/v1/volunteers", "/v1/" + name} {
		if r := env.Do(t, http.MethodGet, path, ""); r.Status != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s: HTTP %d", path, r.Status)
		}
	}
	// Someone who is neither coordinator nor lead cannot move it.
	if r := ada.Do(t, http.MethodPost, "/v1/"+name+":transition", `{"state":"STATE_WITHDRAWN"}`); r.Status != http.StatusForbidden {
		t.Errorf("ada moves her own offer: HTTP %d", r.Status)
	}

	// Pages: two more offers make three; pages of two.
	for _, n := range []string{"Ada 2", "Ada 3"} {
		mustOK(t, ada.Do(t, http.MethodPost, "/v1/volunteers", `{"displayName":"`+n+`","contact":"ada@example.org"}`), n)
	}
	first := mustOK(t, ada.Do(t, http.MethodGet, "/v1/volunteers?pageSize=2", ""), "page 1")
	tok, _ := first["nextPageToken"].(string)
	if len(list(t, first, "volunteers")) != 2 || tok == "" {
		t.Fatalf("page 1: %v", first)
	}
	second := mustOK(t, ada.Do(t, http.MethodGet, "/v1/volunteers?pageSize=2&pageToken="+url.QueryEscape(tok), ""), "page 2")
	if got := list(t, second, "volunteers"); len(got) != 1 || got[0]["name"] != name || second["nextPageToken"] != "" {
		t.Fatalf("page 2: %v", second)
	}
	// Ada's page token is no good for Bob's list, nor the coordinator's.
	for who, e := range map[string]*apptest.Env{"bob": bob, "the coordinator": cora} {
		if r := e.Do(t, http.MethodGet, "/v1/volunteers?pageSize=2&pageToken="+url.QueryEscape(tok), ""); r.Status != http.StatusBadRequest {
			t.Errorf("%s with ada's page token: HTTP %d %s", who, r.Status, r.Body)
		}
	}

	// A coordinator who offers help follows their own offers with mine=true.
	mustOK(t, cora.Do(t, http.MethodPost, "/v1/volunteers", `{"displayName":"Cora","contact":"cora@example.org"}`), "cora offers")
	if got := list(t, mustOK(t, cora.Do(t, http.MethodGet, "/v1/volunteers?mine=true", ""), "cora's own"), "volunteers"); len(got) != 1 || got[0]["displayName"] != "Cora" {
		t.Fatalf("the coordinator's own offers: %v", got)
	}
	if got := list(t, mustOK(t, cora.Do(t, http.MethodGet, "/v1/volunteers", ""), "all again"), "volunteers"); len(got) != 6 {
		t.Fatalf("the coordinator sees %d offers, want 6", len(got))
	}
	if got := list(t, mustOK(t, ada.Do(t, http.MethodGet, "/v1/volunteers?mine=true", ""), "ada's own"), "volunteers"); len(got) != 3 {
		t.Fatalf("ada's own offers with mine=true: %d, want 3", len(got))
	}

	// Bad input: 400 naming the parameter.
	for _, c := range []struct{ query, field string }{
		{"pageSize=-1", "pageSize"},
		{"pageToken=not-a-token", "pageToken"},
		{"state=STATE_BOGUS", "state"},
		{"mine=perhaps", "mine"},
	} {
		r := ada.Do(t, http.MethodGet, "/v1/volunteers?"+c.query, "")
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s, want 400", c.query, r.Status, r.Body)
			continue
		}
		if st := r.RPCStatus(t); !fieldViolated(st, c.field) && !fieldViolated(st, camelToSnake(c.field)) {
			t.Errorf("%s: violations %v, want one on %s", c.query, st.Fields(), c.field)
		}
	}
}

// TestGuestFollowsOwnOffer: an OpenID Connect guest (an identity linked to
// no one) lists and reads the offer they made under that identity, and no
// one else's; once an admin links the identity to a person, the person's
// own token lists it too.
func TestGuestFollowsOwnOffer(t *testing.T) {
	t.Parallel()
	idp := oidctest.Start(t)
	env := oidcEnv(t, idp)
	linus := env.WithToken(env.Person(t, "linus", false))
	idp.AddUser("sub-guest", "someone@example.net", false)
	idp.AddUser("sub-other", "other@example.net", false)
	guest := env.WithToken(idp.IDToken(t, "sub-guest", "guildhall", time.Hour))
	other := env.WithToken(idp.IDToken(t, "sub-other", "guildhall", time.Hour))

	mustOK(t, guest.Do(t, http.MethodPost, "/v1/volunteers", `{"displayName":"Guest","contact":"someone@example.net"}`), "guest offers")
	mustOK(t, env.Do(t, http.MethodPost, "/v1/volunteers", `{"displayName":"Anon","contact":"someone@example.net"}`), "anonymous offer")

	own := list(t, mustOK(t, guest.Do(t, http.MethodGet, "/v1/volunteers", ""), "guest lists"), "volunteers")
	if len(own) != 1 || own[0]["displayName"] != "Guest" || own[0]["contact"] != "someone@example.net" || own[0]["state"] != "STATE_NEW" {
		t.Fatalf("the guest's own offers: %v", own)
	}
	name := own[0]["name"].(string)
	mustOK(t, guest.Do(t, http.MethodGet, "/v1/"+name, ""), "guest reads their offer")
	if got := list(t, mustOK(t, other.Do(t, http.MethodGet, "/v1/volunteers", ""), "another guest lists"), "volunteers"); len(got) != 0 {
		t.Fatalf("another guest sees %v", got)
	}
	if r := other.Do(t, http.MethodGet, "/v1/"+name, ""); r.Status != http.StatusNotFound {
		t.Errorf("another guest reads the offer: HTTP %d", r.Status)
	}
	if got := list(t, mustOK(t, linus.Do(t, http.MethodGet, "/v1/volunteers", ""), "linus lists"), "volunteers"); len(got) != 0 {
		t.Fatalf("linus sees %v before the link", got)
	}

	mustOK(t, env.WithToken(apptest.AdminToken).Do(t, http.MethodPost, "/v1/people/linus/identities",
		`{"issuer":"`+idp.Issuer+`","subject":"sub-guest"}`), "link the identity to linus")
	if got := list(t, mustOK(t, linus.Do(t, http.MethodGet, "/v1/volunteers", ""), "linus lists"), "volunteers"); len(got) != 1 || got[0]["name"] != name {
		t.Fatalf("linus's own offers once linked: %v", got)
	}
}
