package transparency_test

import (
	"net/http"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	transparencyv1 "github.com/guildhall/guildhall/gen/go/guildhall/transparency/v1"
)

// TestReportWithMembershipStopped stops the membership service: its four
// parts are marked unavailable and empty, the rest of the report answers,
// and items are read without their staffing (GetItem too), never a 500.
func TestReportWithMembershipStopped(t *testing.T) {
	env := apptest.StartWith(t, apptest.Extras{MembershipApart: true})
	admin := env.WithToken(apptest.AdminToken)
	env.Team(t, "dev")
	item := must(t, admin, "POST", "/v1/items", `{"title":"LDAP","ownerTeam":"teams/dev","state":"STATE_IN_PROGRESS"}`)["name"].(string)
	must(t, admin, "POST", "/v1/teams/dev/positions", `{"title":"Tester","role":"ROLE_MEMBER","roadmapItem":"`+item+`"}`)
	must(t, admin, "POST", "/v1/goals?goalId=ldap", `{"displayName":"LDAP","target":{"currencyCode":"USD","minorUnits":"1000"},"period":"PERIOD_ONE_OFF","roadmapItem":"`+item+`"}`)
	before := &roadmapv1.Item{}
	get(t, env, "/v1/"+item, before)
	if before.StaffedPercent == nil || before.FundedPercent == nil {
		t.Fatalf("before the stop: %v", before)
	}

	env.StopMembership(t)
	r, _ := report(t, env)
	const up, down = transparencyv1.Availability_AVAILABILITY_AVAILABLE, transparencyv1.Availability_AVAILABILITY_UNAVAILABLE
	for name, c := range map[string]struct {
		got, want transparencyv1.Availability
		empty     bool
	}{
		"roster":     {r.GetRoster().GetAvailability(), down, len(r.GetRoster().GetTeams()) == 0 && r.GetRoster().GetTeamCount() == 0},
		"vacancies":  {r.GetVacancies().GetAvailability(), down, len(r.GetVacancies().GetPositions()) == 0 && r.GetVacancies().GetOpenCount() == 0},
		"volunteers": {r.GetVolunteers().GetAvailability(), down, r.GetVolunteers().GetStats() == nil},
		"packages":   {r.GetPackages().GetAvailability(), down, len(r.GetPackages().GetSeekingMaintainer()) == 0},
		"roadmap":    {r.GetRoadmap().GetAvailability(), up, true},
		"decisions":  {r.GetDecisions().GetAvailability(), up, true},
		"money":      {r.GetMoney().GetAvailability(), up, true},
	} {
		if c.got != c.want || !c.empty {
			t.Errorf("part %s: %v (want %v), emptied %v", name, c.got, c.want, c.empty)
		}
	}
	if len(r.GetMoney().GetGoals()) != 1 || r.GetMoney().GetMonth() == "" {
		t.Errorf("money without membership: %v", r.GetMoney())
	}
	in := findItem(r, item)
	if in == nil || in.StaffedPercent != nil || in.FundedPercent == nil || *in.FundedPercent != *before.FundedPercent || in.GetDonePercent() != 50 {
		t.Errorf("the item in the report without membership: %v", in)
	}
	after := &roadmapv1.Item{}
	get(t, env, "/v1/"+item, after)
	if after.StaffedPercent != nil || after.GetOpenPositions() != 0 || after.FundedPercent == nil || after.GetDonePercent() != 50 {
		t.Errorf("GetItem without membership: staffed %v, funded %v, done %d", after.StaffedPercent, after.FundedPercent, after.GetDonePercent())
	}
}

// TestReportHidesPrivateGifts records a PRIVATE gift this month: the
// report, read first by an admin (so the cached report is the one the
// admin's request assembled), shows the public figures only: this month's
// income and the goal's progress without it, as finance shows anyone.
func TestReportHidesPrivateGifts(t *testing.T) {
	env := apptest.Start(t)
	admin := env.WithToken(apptest.AdminToken)
	item := must(t, admin, "POST", "/v1/items", `{"title":"LDAP","state":"STATE_PLANNED"}`)["name"].(string)
	// Bank gifts are deposited in accounts/bank, which a fresh chart lacks.
	must(t, admin, "POST", "/v1/accounts?accountId=bank", `{"displayName":"Bank","type":"TYPE_ASSET","currencyCode":"USD"}`)
	must(t, admin, "POST", "/v1/goals?goalId=ldap", `{"displayName":"LDAP","target":{"currencyCode":"USD","minorUnits":"10000"},"period":"PERIOD_ONE_OFF","roadmapItem":"`+item+`"}`)
	must(t, admin, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"2000"},"donorName":"A friend","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_BANK","goal":"goals/ldap"}`)
	must(t, admin, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"7000"},"donor":"people/admin","visibility":"VISIBILITY_PRIVATE","channel":"CHANNEL_BANK","goal":"goals/ldap"}`)

	month := env.Clock.Now().UTC().Format("2006-01")
	books := &financev1.MonthlyReport{}
	get(t, admin, "/v1/reports/monthly?month="+month, books)
	public := &financev1.MonthlyReport{}
	get(t, env, "/v1/reports/monthly?month="+month, public)
	income := func(m *financev1.MonthlyReport) int64 {
		for _, c := range m.GetCurrencies() {
			if c.GetCurrencyCode() == "USD" {
				return c.GetIncomeTotal()
			}
		}
		return -1
	}
	// The monthly report holds public figures for every caller: the
	// PRIVATE 7000 joins them when the month ends.
	if income(books) != 2000 || income(public) != 2000 {
		t.Fatalf("finance: the monthly report shows the admin %d, the public %d; want 2000 for both", income(books), income(public))
	}

	res := admin.Do(t, http.MethodGet, reportPath, "")
	if res.Status != http.StatusOK {
		t.Fatalf("report as admin: %d %s", res.Status, res.Body)
	}
	for who, e := range map[string]*apptest.Env{"admin": admin, "anonymous": env} {
		r := &transparencyv1.TransparencyReport{}
		get(t, e, reportPath, r)
		var usd *transparencyv1.CurrencyMoney
		for _, c := range r.GetMoney().GetCurrencies() {
			if c.GetCurrencyCode() == "USD" {
				usd = c
			}
		}
		if usd == nil || usd.GetMonths()[11].GetIncome() != 2000 || usd.GetCash() != public.GetCurrencies()[0].GetCash() {
			t.Errorf("%s: USD this month %v; want income 2000 and the public cash %d", who, usd, public.GetCurrencies()[0].GetCash())
		}
		if g := r.GetMoney().GetGoals(); len(g) != 1 || g[0].GetProgress().GetMinorUnits() != 2000 {
			t.Errorf("%s: goals %v; want progress 2000", who, g)
		}
		if it := findItem(r, item); it == nil || it.FundedPercent == nil || *it.FundedPercent != 20 {
			t.Errorf("%s: the item %v; want 20%% funded", who, it)
		}
	}
	one := &roadmapv1.Item{}
	get(t, admin, "/v1/"+item, one)
	if one.FundedPercent == nil || *one.FundedPercent != 20 {
		t.Errorf("GetItem as admin: funded %v; want the public 20%%", one.FundedPercent)
	}
}
