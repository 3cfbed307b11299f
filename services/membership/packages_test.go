package membership_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
)

// TestPackages: maintainers step down and adopters are approved; lists filter by state.
func TestPackages(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	lead := env.WithToken(a.Lead)
	member := env.WithToken(a.Member)       // maintains mailstats
	finance := env.WithToken(a.FinanceTeam) // will adopt it

	p := mustOK(t, lead.Do(t, "POST", "/v1/packages?packageId=mailstats",
		`{"displayName":"mailstats","team":"teams/development","repositoryUrl":"https://example.org/mailstats.git","maintainers":["people/member"],"lastReleaseVersion":"1.2","lastReleaseDate":"2012-03-01"}`), "create")
	if p["state"] != "STATE_MAINTAINED" || !slices.Equal(toStrings(p["maintainers"]), []string{"people/member"}) {
		t.Fatalf("created %v", p)
	}
	mustOK(t, lead.Do(t, "POST", "/v1/packages?packageId=old-ldap", `{"displayName":"old ldap","state":"STATE_OBSOLETE","team":"teams/development"}`), "create obsolete")
	// A lead of another team edits nothing of it (the lead of a brand-new team editing mailstats).
	if res := env.WithToken(a.OtherLead).Do(t, "PATCH", "/v1/packages/mailstats", `{"description":"mine now"}`); res.Status != http.StatusForbidden {
		t.Fatalf("another team's lead edits the package: HTTP %d", res.Status)
	}
	mustOK(t, member.Do(t, "PATCH", "/v1/packages/mailstats", `{"lastReleaseVersion":"1.3"}`), "maintainer updates")

	// A person who does not maintain it cannot step down from it.
	res := finance.Do(t, "POST", "/v1/packages/mailstats:orphan", `{}`)
	if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "NOT_A_MAINTAINER" {
		t.Fatalf("orphan by non-maintainer: HTTP %d %s", res.Status, res.Body)
	}
	p = mustOK(t, member.Do(t, "POST", "/v1/packages/mailstats:orphan", `{}`), "orphan")
	if p["state"] != "STATE_UNMAINTAINED" || len(toStrings(p["maintainers"])) != 0 {
		t.Fatalf("orphaned %v", p)
	}
	byState := func(state string) []string {
		var out []string
		for _, q := range list(t, mustOK(t, env.Do(t, "GET", "/v1/packages?state="+state, ""), "list"), "packages") {
			out = append(out, q["name"].(string))
		}
		return out
	}
	if got := byState("STATE_UNMAINTAINED"); !slices.Equal(got, []string{"packages/mailstats"}) {
		t.Fatalf("unmaintained %v", got)
	}
	if got := byState("STATE_OBSOLETE"); !slices.Equal(got, []string{"packages/old-ldap"}) {
		t.Fatalf("obsolete %v", got)
	}

	// Adoption: asked (twice: recorded once), then approved by a lead.
	for range 2 {
		p = mustOK(t, finance.Do(t, "POST", "/v1/packages/mailstats:adopt", `{}`), "adopt")
	}
	if !slices.Equal(toStrings(p["pendingAdopters"]), []string{"people/financer"}) || p["state"] != "STATE_UNMAINTAINED" {
		t.Fatalf("pending %v", p)
	}
	if res := lead.Do(t, "POST", "/v1/packages/mailstats:approveAdoption", `{"person":"people/member"}`); res.Status != http.StatusBadRequest ||
		res.RPCStatus(t).Reason() != "NO_PENDING_ADOPTION" {
		t.Fatalf("approve without request: HTTP %d %s", res.Status, res.Body)
	}
	p = mustOK(t, lead.Do(t, "POST", "/v1/packages/mailstats:approveAdoption", `{"person":"people/financer"}`), "approve")
	if p["state"] != "STATE_MAINTAINED" || !slices.Equal(toStrings(p["maintainers"]), []string{"people/financer"}) || len(toStrings(p["pendingAdopters"])) != 0 {
		t.Fatalf("approved %v", p)
	}
	if res := finance.Do(t, "POST", "/v1/packages/old-ldap:adopt", `{}`); res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "PACKAGE_OBSOLETE" {
		t.Fatalf("adopt obsolete: HTTP %d %s", res.Status, res.Body)
	}
	if res := env.Do(t, "GET", "/v1/packages/nope", ""); res.Status != http.StatusNotFound {
		t.Fatalf("missing package: HTTP %d", res.Status)
	}
}

func toStrings(v any) []string {
	raw, _ := v.([]any)
	out := []string{}
	for _, r := range raw {
		out = append(out, r.(string))
	}
	return out
}

// Deleting a person steps them down everywhere: a package they alone
// maintained is UNMAINTAINED (open to adoption); one with another
// maintainer stays MAINTAINED; an obsolete one stays OBSOLETE.
func TestDeletingAPersonOrphansTheirPackages(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	admin := env.WithToken(a.Admin)
	mustOK(t, admin.Do(t, "POST", "/v1/people?personId=leaver", `{"displayName":"Leaver"}`), "person")
	mustOK(t, admin.Do(t, "POST", "/v1/packages?packageId=solo", `{"displayName":"solo","maintainers":["people/leaver"]}`), "solo")
	mustOK(t, admin.Do(t, "POST", "/v1/packages?packageId=shared", `{"displayName":"shared","maintainers":["people/leaver","people/member"]}`), "shared")
	mustOK(t, admin.Do(t, "POST", "/v1/packages?packageId=relic", `{"displayName":"relic","state":"STATE_OBSOLETE","maintainers":["people/leaver"]}`), "relic")
	if res := admin.Do(t, "DELETE", "/v1/people/leaver", ""); res.Status != http.StatusOK {
		t.Fatalf("delete: HTTP %d %s", res.Status, res.Body)
	}
	for pkg, want := range map[string]struct {
		state       string
		maintainers []string
	}{
		"solo":   {"STATE_UNMAINTAINED", nil},
		"shared": {"STATE_MAINTAINED", []string{"people/member"}},
		"relic":  {"STATE_OBSOLETE", nil},
	} {
		p := mustOK(t, env.Do(t, "GET", "/v1/packages/"+pkg, ""), pkg)
		if p["state"] != want.state || !slices.Equal(toStrings(p["maintainers"]), want.maintainers) {
			t.Errorf("%s after its maintainer was deleted: %v %v, want %s %v", pkg, p["state"], p["maintainers"], want.state, want.maintainers)
		}
	}
}
