package membership_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
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

// People are found by any handle; privileged callers also by email.
func TestFindPeople(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	admin := env.WithToken(a.Admin)
	mustOK(t, admin.Do(t, "POST", "/v1/people?personId=jcrisp",
		`{"displayName":"Jean Crisp","email":"Jean@Example.org","handles":{"irc":"JCrisp","forum":"jean_c","github":"jcrisp"}}`), "person")
	mustOK(t, admin.Do(t, "POST", "/v1/people?personId=other", `{"displayName":"O","handles":{"irc":"someone"}}`), "person")
	found := func(tok, query string) []string {
		t.Helper()
		var out []string
		body := mustOK(t, env.WithToken(tok).Do(t, "GET", "/v1/people:find?"+query, ""), query)
		for _, p := range list(t, body, "people") {
			out = append(out, p["name"].(string))
			if tok == "" && p["email"] != nil && p["email"] != "" {
				t.Errorf("anonymous lookup shows an email: %v", p)
			}
		}
		return out
	}
	for q, want := range map[string][]string{
		"handle=jcrisp":              {"people/jcrisp"},
		"handle=JCRISP":              {"people/jcrisp"},
		"handle=%40jcrisp":           {"people/jcrisp"},
		"handle=jean_c":              {"people/jcrisp"},
		"handle=jean_c&system=irc":   nil,
		"handle=jean_c&system=forum": {"people/jcrisp"},
		"handle=nobody":              nil,
	} {
		if got := found("", q); !slices.Equal(got, want) {
			t.Errorf("lookup %s: %v, want %v", q, got, want)
		}
	}
	if got := found(a.Admin, "email=jean@example.org"); !slices.Equal(got, []string{"people/jcrisp"}) {
		t.Errorf("email lookup by admin: %v", got)
	}
	for _, tok := range []string{a.Lead, a.OtherLead, a.Member} {
		if st := env.WithToken(tok).Do(t, "GET", "/v1/people:find?email=jean@example.org", "").Status; st != deny {
			t.Errorf("email lookup by a non-admin: HTTP %d", st)
		}
	}
	for _, q := range []string{"", "handle=x&email=y@example.org"} {
		if st := admin.Do(t, "GET", "/v1/people:find?"+q, "").Status; st != http.StatusBadRequest {
			t.Errorf("lookup %q: HTTP %d, want 400", q, st)
		}
	}
}
