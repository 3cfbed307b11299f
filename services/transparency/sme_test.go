package transparency_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	transparencyv1 "github.com/guildhall/guildhall/gen/go/guildhall/transparency/v1"
)

// TestReportMatchesTheServices reads the report on the SME seed and checks
// every part against the services' own public answers.
func TestReportMatchesTheServices(t *testing.T) {
	env := apptest.Start(t)
	seedSME(t, env)
	r, res := report(t, env)
	for name, a := range map[string]transparencyv1.Availability{
		"roadmap": r.GetRoadmap().GetAvailability(), "decisions": r.GetDecisions().GetAvailability(),
		"money": r.GetMoney().GetAvailability(), "roster": r.GetRoster().GetAvailability(),
		"vacancies": r.GetVacancies().GetAvailability(), "volunteers": r.GetVolunteers().GetAvailability(),
		"packages": r.GetPackages().GetAvailability(),
	} {
		if a != transparencyv1.Availability_AVAILABILITY_AVAILABLE {
			t.Errorf("part %s is %v", name, a)
		}
	}

	// Roadmap: the horizons of GET /v1/roadmap, items with their figures.
	rm := &roadmapv1.Roadmap{}
	get(t, env, "/v1/roadmap?hideEndOfLife=true", rm)
	names := func(items []*roadmapv1.Item) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.GetName())
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	for _, h := range []struct {
		name  string
		got   []*roadmapv1.Item
		count int32
		want  []string
	}{
		{"now", r.GetRoadmap().GetNow(), r.GetRoadmap().GetNowCount(), rm.GetHorizons().GetNow()},
		{"next", r.GetRoadmap().GetNext(), r.GetRoadmap().GetNextCount(), rm.GetHorizons().GetNext()},
		{"later", r.GetRoadmap().GetLater(), r.GetRoadmap().GetLaterCount(), rm.GetHorizons().GetLater()},
	} {
		if !slices.Equal(names(h.got), sorted(h.want)) || int(h.count) != len(h.want) {
			t.Errorf("horizon %s: report %v (count %d), roadmap %v", h.name, names(h.got), h.count, h.want)
		}
	}
	if len(r.GetRoadmap().GetNow())+len(r.GetRoadmap().GetNext()) == 0 {
		t.Fatal("the SME roadmap has nothing now or next")
	}
	for _, it := range r.GetRoadmap().GetNow() {
		want := &roadmapv1.Item{}
		get(t, env, "/v1/"+it.GetName(), want)
		want.Description = ""
		equal(t, "item "+it.GetName(), it, want)
	}
	if len(r.GetRoadmap().GetReleases()) != len(rm.GetReleases()) {
		t.Errorf("%d releases, roadmap has %d", len(r.GetRoadmap().GetReleases()), len(rm.GetReleases()))
	}
	for i, rel := range r.GetRoadmap().GetReleases() {
		want := rm.GetReleases()[i].GetRelease()
		want.History = nil
		equal(t, "release "+want.GetName(), rel, want)
	}

	// Money: twelve months of GET /v1/reports/monthly:range, and the goals.
	months := r.GetMoney()
	if months.GetMonth() != env.Clock.Now().UTC().Format("2006-01") {
		t.Errorf("money month %q", months.GetMonth())
	}
	from := env.Clock.Now().UTC().AddDate(0, -11, 0)
	rng := &financev1.GetReportRangeResponse{}
	get(t, env, "/v1/reports/monthly:range?from="+time0(from)+"&to="+months.GetMonth(), rng)
	if len(months.GetCurrencies()) == 0 {
		t.Fatal("no currency in the money part")
	}
	for _, c := range months.GetCurrencies() {
		if len(c.GetMonths()) != 12 {
			t.Fatalf("%s: %d months", c.GetCurrencyCode(), len(c.GetMonths()))
		}
		for i, m := range c.GetMonths() {
			var income, costs int64
			for _, cur := range rng.GetReports()[i].GetCurrencies() {
				if cur.GetCurrencyCode() == c.GetCurrencyCode() {
					income, costs = cur.GetIncomeTotal(), cur.GetExpenseTotal()
					if i == 11 && (c.GetCash() != cur.GetCash() || c.GetRunwayMonths() != cur.GetRunwayMonths() ||
						len(c.GetBalances()) != len(cur.GetClosingBalances())) {
						t.Errorf("%s now: report cash %d runway %v, finance %d %v", c.GetCurrencyCode(), c.GetCash(), c.GetRunwayMonths(), cur.GetCash(), cur.GetRunwayMonths())
					}
				}
			}
			if m.GetMonth() != rng.GetReports()[i].GetMonth() || m.GetIncome() != income || m.GetCosts() != costs || m.GetNet() != income-costs {
				t.Errorf("%s %s: report %d/%d, finance %s %d/%d", c.GetCurrencyCode(), m.GetMonth(), m.GetIncome(), m.GetCosts(),
					rng.GetReports()[i].GetMonth(), income, costs)
			}
		}
	}
	goals := &financev1.ListGoalsResponse{}
	get(t, env, "/v1/goals", goals)
	equal(t, "goals", &financev1.ListGoalsResponse{Goals: months.GetGoals()}, &financev1.ListGoalsResponse{Goals: goals.GetGoals()})

	// Roster, vacancies, the funnel and packages: membership's lists.
	teams := &membershipv1.ListTeamsResponse{}
	get(t, env, "/v1/teams?pageSize=1000", teams)
	leads := &membershipv1.ListTeamMembersResponse{}
	get(t, env, "/v1/teams/-/members?role=ROLE_LEAD&pageSize=1000", leads)
	if int(r.GetRoster().GetTeamCount()) != len(teams.GetTeams()) || len(r.GetRoster().GetTeams()) != len(teams.GetTeams()) {
		t.Errorf("roster: %d teams (count %d), membership %d", len(r.GetRoster().GetTeams()), r.GetRoster().GetTeamCount(), len(teams.GetTeams()))
	}
	nLeads := 0
	for _, team := range r.GetRoster().GetTeams() {
		for _, l := range team.GetLeads() {
			nLeads++
			if !slices.ContainsFunc(leads.GetTeamMembers(), func(m *membershipv1.TeamMember) bool {
				return m.GetName() == team.GetTeam()+"/members/"+l.GetPerson()[len("people/"):] && m.GetDisplayName() == l.GetDisplayName()
			}) {
				t.Errorf("roster: %s is no lead of %s", l.GetPerson(), team.GetTeam())
			}
		}
	}
	if nLeads != len(leads.GetTeamMembers()) || nLeads == 0 {
		t.Errorf("roster: %d leads, membership %d", nLeads, len(leads.GetTeamMembers()))
	}
	open := &membershipv1.ListPositionsResponse{}
	get(t, env, "/v1/teams/-/positions?state=STATE_OPEN&pageSize=1000", open)
	equal(t, "vacancies", &membershipv1.ListPositionsResponse{Positions: r.GetVacancies().GetPositions()}, open)
	if int(r.GetVacancies().GetOpenCount()) != len(open.GetPositions()) || len(open.GetPositions()) == 0 {
		t.Errorf("vacancies: count %d, membership %d", r.GetVacancies().GetOpenCount(), len(open.GetPositions()))
	}
	stats := &membershipv1.VolunteerStats{}
	get(t, env, "/v1/volunteers:stats", stats)
	equal(t, "volunteer funnel", r.GetVolunteers().GetStats(), stats)
	if stats.GetTotal() == 0 {
		t.Error("the SME funnel is empty")
	}
	pkgs := &membershipv1.ListPackagesResponse{}
	get(t, env, "/v1/packages?state=STATE_SEEKING_MAINTAINER&pageSize=1000", pkgs)
	equal(t, "packages", &membershipv1.ListPackagesResponse{Packages: r.GetPackages().GetSeekingMaintainer()}, pkgs)

	// Cheap to ask again: an ETag, a public max-age, and 304 while unchanged.
	etag := res.Header.Get("ETag")
	if etag == "" || res.Header.Get("Cache-Control") != "public, max-age=10" {
		t.Fatalf("headers: ETag %q, Cache-Control %q", etag, res.Header.Get("Cache-Control"))
	}
	again := env.Do(t, http.MethodGet, reportPath, "", "If-None-Match", etag)
	if again.Status != http.StatusNotModified || len(again.Body) != 0 || again.Header.Get("ETag") != etag ||
		again.Header.Get("Cache-Control") != "public, max-age=10" {
		t.Errorf("If-None-Match %s: %d %q, ETag %q, Cache-Control %q", etag, again.Status, again.Body, again.Header.Get("ETag"), again.Header.Get("Cache-Control"))
	}
	stale := env.Do(t, http.MethodGet, reportPath, "", "If-None-Match", `"something-else"`)
	if stale.Status != http.StatusOK || stale.Header.Get("ETag") != etag {
		t.Errorf("a stale If-None-Match: %d, ETag %q", stale.Status, stale.Header.Get("ETag"))
	}
}
