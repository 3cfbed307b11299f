package finance_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
)

// publicView reads every public endpoint of the three services as an
// anonymous caller: each collection, each resource it lists, each team's
// members and positions, and the reports of this month, the last and the
// year to date. It returns body by path.
func publicView(t *testing.T, env *apptest.Env) map[string]string {
	t.Helper()
	anon := env.WithToken("")
	now := env.Clock.Now()
	cur, prev := now.Format("2006-01"), now.AddDate(0, -1, 0).Format("2006-01")
	out := map[string]string{}
	get := func(path string) map[string]any {
		res := anon.Do(t, "GET", path, "")
		out[path] = fmt.Sprintf("%d %s", res.Status, res.Body)
		var m map[string]any
		_ = json.Unmarshal(res.Body, &m)
		return m
	}
	for _, p := range []string{"/v1/reports/monthly?month=" + cur, "/v1/reports/monthly?month=" + prev,
		"/v1/reports/monthly:range?from=" + now.AddDate(-1, 0, 0).Format("2006-01") + "&to=" + cur, "/v1/reports/recurring",
		"/v1/transactions", "/v1/transactions:export", "/v1/expenses", "/v1/subscriptions", "/v1/volunteers", "/v1/volunteers:stats",
		"/v1/people:drift", "/v1/roadmap", "/v1/caller"} {
		get(p)
	}
	for _, coll := range []string{"accounts", "budgets", "donations", "goals", "tiers", "sponsorships", "people", "teams", "packages",
		"items", "releases", "proposals"} {
		list := get("/v1/" + coll + "?pageSize=1000")
		for _, v := range list {
			items, _ := v.([]any)
			for _, it := range items {
				name, _ := it.(map[string]any)["name"].(string)
				if name == "" {
					continue
				}
				get("/v1/" + name)
				if coll == "teams" {
					get("/v1/" + name + "/members")
					get("/v1/" + name + "/positions")
				}
			}
		}
	}
	return out
}

// changed lists the paths whose bodies differ between two views, or that
// only one has.
func changed(before, after map[string]string) []string {
	var out []string
	for p, b := range after {
		if before[p] != b {
			out = append(out, p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// waitDelivered waits until finance has delivered its queued activity to
// membership, so a view taken afterwards shows every activity report.
func waitDelivered(t *testing.T, f *fixture) {
	t.Helper()
	db := f.env.DB(t, "finance")
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM outbox`).Scan(&n); err == nil && n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d activity reports still queued", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The rule: an anonymous caller who reads every public endpoint before and
// after a PRIVATE or an ANONYMOUS gift learns neither the donor nor (for a
// PRIVATE gift) the amount. The only public change a PRIVATE gift makes is
// its own redacted record (no donor, no amount); its amount joins the public
// figures when the month it was recorded in closes. An ANONYMOUS gift shows
// its amount but nothing about its donor: no person's public fields move.
func TestPublicObserverLearnsNeitherDonorNorAmount(t *testing.T) {
	f := start(t)
	f.must(t, "POST", "/v1/accounts?accountId=dev-fund", `{"displayName":"Development fund","type":"TYPE_LIABILITY","currencyCode":"USD","earmarked":true}`)
	f.must(t, "POST", "/v1/goals?goalId=dev", `{"displayName":"Development","target":{"currencyCode":"USD","minorUnits":"500000"},"period":"PERIOD_MONTHLY","fundAccount":"accounts/dev-fund"}`)
	f.must(t, "POST", "/v1/goals?goalId=hosting", `{"displayName":"Hosting","target":{"currencyCode":"USD","minorUnits":"90000"},"period":"PERIOD_YEARLY"}`)
	f.must(t, "POST", "/v1/budgets", fmt.Sprintf(`{"category":"accounts/hosting","year":%d,"planned":{"currencyCode":"USD","minorUnits":"100000"}}`, f.env.Clock.Now().Year()))
	// Some public history, so that the recorder (the admin) was active
	// today before the observer's first look.
	f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"1000"},"donor":"people/otherlead","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL","goal":"goals/dev"}`)
	f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"2000"},"donorName":"A friend","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_BANK","goal":"goals/hosting"}`)
	waitDelivered(t, f)
	exact := func(person string) string { // what the books see of a person's activity
		return fmt.Sprint(f.must(t, "GET", "/v1/people/"+person, "")["lastActiveTime"])
	}
	memberBefore, leadBefore := exact("member"), exact("lead")

	donorsInferred, amountsInferred := 0, 0
	before := publicView(t, f.env)

	// Two PRIVATE gifts naming people/member: to a goal with a fund, and to
	// one counted from its earmarked gifts; then one is refunded.
	private := []string{
		`{"amount":{"currencyCode":"USD","minorUnits":"12345"},"donor":"people/member","visibility":"VISIBILITY_PRIVATE","channel":"CHANNEL_PAYPAL","goal":"goals/dev"}`,
		`{"amount":{"currencyCode":"USD","minorUnits":"777"},"donor":"people/member","visibility":"VISIBILITY_PRIVATE","channel":"CHANNEL_BANK","goal":"goals/hosting"}`,
		`{"amount":{"currencyCode":"USD","minorUnits":"4242"},"donor":"people/member","visibility":"VISIBILITY_PRIVATE","channel":"CHANNEL_CASH"}`,
		// The first EUR gift without a goal creates accounts/donations-eur,
		// which must not tell the public that a EUR gift arrived.
		`{"amount":{"currencyCode":"EUR","minorUnits":"9898"},"donor":"people/member","visibility":"VISIBILITY_PRIVATE","channel":"CHANNEL_BANK","depositAccount":"accounts/eur-bank"}`,
	}
	var refund string
	for i, body := range private {
		d := f.must(t, "POST", "/v1/donations?requestId="+rid(), body)
		if i == 2 {
			refund = d["transaction"].(string)
		}
	}
	f.must(t, "POST", "/v1/"+refund+":reverse", `{"requestId":"`+rid()+`","reason":"sent back"}`)
	waitDelivered(t, f)
	after := publicView(t, f.env)
	for _, p := range changed(before, after) {
		body := after[p]
		switch {
		case strings.HasPrefix(p, "/v1/donations"):
			// The gifts' own records: redacted. Their ids are random UUIDs,
			// which may hold a secret's digits by chance ("…-777c-…").
			redacted := uuidPattern.ReplaceAllString(body, "")
			for _, secret := range []string{"member", "12345", "777", "4242", "9898", "EUR"} {
				if strings.Contains(strings.ToLower(redacted), strings.ToLower(secret)) {
					t.Errorf("%s shows %q of a PRIVATE gift: %s", p, secret, body)
					if secret == "member" {
						donorsInferred++
					} else {
						amountsInferred++
					}
				}
			}
		case strings.HasPrefix(p, "/v1/people"), strings.HasPrefix(p, "/v1/teams"):
			t.Errorf("a PRIVATE gift changed %s:\nbefore %s\nafter  %s", p, before[p], body)
			donorsInferred++
		default:
			t.Errorf("a PRIVATE gift changed %s:\nbefore %s\nafter  %s", p, before[p], body)
			amountsInferred++
		}
	}

	// An ANONYMOUS gift naming people/lead: its amount is public, its donor is not.
	before = after
	f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"3131"},"donor":"people/lead","visibility":"VISIBILITY_ANONYMOUS","channel":"CHANNEL_PAYPAL","goal":"goals/hosting"}`)
	waitDelivered(t, f)
	after = publicView(t, f.env)
	for _, p := range changed(before, after) {
		if strings.HasPrefix(p, "/v1/people") || strings.HasPrefix(p, "/v1/teams") || strings.Contains(after[p], "people/lead") {
			t.Errorf("an ANONYMOUS gift changed %s:\nbefore %s\nafter  %s", p, before[p], after[p])
			donorsInferred++
		}
	}
	// Neither donor's activity moved, even as the books see it: a hidden
	// gift is not its donor's activity.
	if m, l := exact("member"), exact("lead"); m != memberBefore || l != leadBefore {
		t.Errorf("hidden gifts moved their donors' last activity: member %s → %s, lead %s → %s", memberBefore, m, leadBefore, l)
		donorsInferred++
	}
	t.Logf("public endpoints read: %d; donors inferred: %d; amounts inferred: %d", len(after), donorsInferred, amountsInferred)

	// When the month closes, the public figures take the private gifts in:
	// public and books agree again.
	now := f.env.Clock.Now()
	f.env.Clock.Set(time.Date(now.Year(), now.Month()+1, 1, 0, 0, 1, 0, time.UTC))
	for _, p := range []string{"/v1/accounts/paypal", "/v1/accounts/donations", "/v1/accounts/dev-fund", "/v1/accounts/donations-eur", "/v1/accounts?pageSize=1000", "/v1/goals/hosting", "/v1/reports/monthly?month=" + now.Format("2006-01")} {
		pub, books := f.env.Do(t, "GET", p, ""), f.admin.Do(t, "GET", p, "")
		if pub.Status != http.StatusOK || string(pub.Body) != string(books.Body) {
			t.Errorf("%s after the month closed:\npublic %s\nbooks  %s", p, pub.Body, books.Body)
		}
	}
}

// uuidPattern matches a resource id (a UUID).
var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
