package finance_test

import (
	"fmt"
	"net/http"
	"testing"
)

// The access matrix: every finance write (and private read) route for each
// of the six callers, against the declared policy. An allowed call may still
// fail on state (4xx), but never with 401/403; a refused one always does.
func TestAccessMatrix(t *testing.T) {
	f := start(t)
	a := f.actors
	tx := f.must(t, "POST", "/v1/transactions", `{"postings":[{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"100"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-100"}}]}`)["name"]
	sub := f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"A","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)["name"]
	sp := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"O","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"500"},"period":"INTERVAL_YEAR"}`)["name"]
	exp := f.must(t, "POST", "/v1/expenses", `{"payee":"X","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"100"},"description":"d"}`)["name"]
	f.must(t, "POST", "/v1/goals?goalId=g", `{"displayName":"G","target":{"currencyCode":"USD","minorUnits":"100"},"period":"PERIOD_YEARLY"}`)
	f.must(t, "POST", "/v1/tiers?tierId=tm", `{"displayName":"T","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)
	bud := f.must(t, "POST", "/v1/budgets", `{"category":"accounts/travel","year":2027,"planned":{"currencyCode":"USD","minorUnits":"500"}}`)["name"]

	type who struct {
		name  string
		token string
	}
	actors := []who{{"anonymous", a.Anonymous}, {"member", a.Member}, {"other lead", a.OtherLead}, {"lead", a.Lead}, {"finance", a.FinanceTeam}, {"admin", a.Admin}}
	financeOnly := map[string]bool{"finance": true, "admin": true}
	persons := map[string]bool{"member": true, "other lead": true, "lead": true, "finance": true, "admin": true}
	n := 0
	uniq := func() string { n++; return fmt.Sprint(n) }
	routes := []struct {
		method, path string
		body         func() string
		allowed      map[string]bool
	}{
		{"POST", "/v1/accounts?accountId=acct-", func() string { return `{"displayName":"x","type":"TYPE_ASSET","currencyCode":"USD"}` }, financeOnly},
		{"PATCH", "/v1/accounts/bank", func() string { return `{"description":"x"}` }, financeOnly},
		{"DELETE", "/v1/accounts/cash", nil, financeOnly},
		{"POST", "/v1/transactions", func() string {
			return `{"postings":[{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"1"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-1"}}]}`
		}, financeOnly},
		{"POST", "/v1/" + tx.(string) + ":reverse", func() string { return `{}` }, financeOnly},
		{"GET", "/v1/" + tx.(string), nil, financeOnly},
		{"GET", "/v1/transactions", nil, financeOnly},
		{"GET", "/v1/transactions:export", nil, financeOnly},
		{"POST", "/v1/donations", func() string {
			return `{"amount":{"currencyCode":"USD","minorUnits":"5"},"donorName":"x","channel":"CHANNEL_CASH"}`
		}, financeOnly},
		{"POST", "/v1/tiers?tierId=t", func() string {
			return `{"displayName":"x","amount":{"currencyCode":"USD","minorUnits":"5"},"interval":"INTERVAL_MONTH"}`
		}, financeOnly},
		{"PATCH", "/v1/tiers/tm", func() string { return `{"description":"x"}` }, financeOnly},
		{"DELETE", "/v1/tiers/tm", nil, financeOnly},
		{"POST", "/v1/subscriptions", func() string {
			return `{"subscriberName":"x","amount":{"currencyCode":"USD","minorUnits":"5"},"interval":"INTERVAL_MONTH"}`
		}, financeOnly},
		{"GET", "/v1/" + sub.(string), nil, financeOnly},
		{"GET", "/v1/subscriptions", nil, financeOnly},
		{"POST", "/v1/" + sub.(string) + ":pause", func() string { return `{}` }, financeOnly},
		{"POST", "/v1/" + sub.(string) + ":resume", func() string { return `{}` }, financeOnly},
		{"POST", "/v1/" + sub.(string) + ":recordPayment", func() string { return `{"requestId":"` + rid() + `"}` }, financeOnly},
		{"POST", "/v1/" + sub.(string) + ":cancel", func() string { return `{}` }, financeOnly},
		{"POST", "/v1/sponsorships", func() string {
			return `{"organisation":"x","kind":"KIND_ADVERTISING","amount":{"currencyCode":"USD","minorUnits":"5"},"period":"INTERVAL_MONTH"}`
		}, financeOnly},
		{"PATCH", "/v1/" + sp.(string), func() string { return `{"package":"banner ` + uniq() + `"}` }, financeOnly},
		{"POST", "/v1/" + sp.(string) + ":recordPayment", func() string { return `{"requestId":"` + rid() + `"}` }, financeOnly},
		{"POST", "/v1/" + sp.(string) + ":end", func() string { return `{}` }, financeOnly},
		{"POST", "/v1/expenses", func() string {
			return `{"payee":"x","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"5"},"description":"d` + uniq() + `"}`
		}, persons},
		{"GET", "/v1/" + exp.(string), nil, financeOnly},
		{"GET", "/v1/expenses", nil, financeOnly},
		{"POST", "/v1/" + exp.(string) + ":approve", func() string { return `{}` }, financeOnly},
		{"POST", "/v1/" + exp.(string) + ":pay", func() string { return `{}` }, financeOnly},
		{"POST", "/v1/" + exp.(string) + ":reject", func() string { return `{"reason":"no"}` }, financeOnly},
		{"POST", "/v1/" + exp.(string) + ":cancel", func() string { return `{}` }, financeOnly},
		{"POST", "/v1/budgets", func() string {
			return `{"category":"accounts/hosting","year":2026,"planned":{"currencyCode":"USD","minorUnits":"5"}}`
		}, financeOnly},
		{"PATCH", "/v1/" + bud.(string), func() string { return `{"planned":{"currencyCode":"USD","minorUnits":"7"}}` }, financeOnly},
		{"DELETE", "/v1/" + bud.(string), nil, financeOnly},
		{"POST", "/v1/goals?goalId=goal-", func() string {
			return `{"displayName":"x","target":{"currencyCode":"USD","minorUnits":"5"},"period":"PERIOD_MONTHLY"}`
		}, financeOnly},
		{"PATCH", "/v1/goals/g", func() string { return `{"priority":3}` }, financeOnly},
		// Public reads.
		{"GET", "/v1/reports/monthly?month=2026-01", nil, nil},
		{"GET", "/v1/reports/recurring", nil, nil},
		{"GET", "/v1/goals", nil, nil},
		{"GET", "/v1/donations", nil, nil},
		{"GET", "/v1/accounts/bank", nil, nil},
	}
	for _, r := range routes {
		for _, w := range actors {
			path := r.path
			if path[len(path)-1] == '-' {
				path += uniq()
			}
			body := ""
			if r.body != nil {
				body = r.body()
			}
			res := f.env.WithToken(w.token).Do(t, r.method, path, body)
			allowed := r.allowed == nil || r.allowed[w.name]
			denied := res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden
			switch {
			case allowed && denied:
				t.Errorf("%s %s by %s: refused (%d) but the policy allows it: %s", r.method, r.path, w.name, res.Status, res.Body)
			case !allowed && !denied:
				t.Errorf("%s %s by %s: HTTP %d, want 401/403", r.method, r.path, w.name, res.Status)
			case !allowed && w.name == "anonymous" && res.Status != http.StatusUnauthorized:
				t.Errorf("%s %s anonymously: HTTP %d, want 401", r.method, r.path, res.Status)
			case allowed && res.Status >= 500:
				t.Errorf("%s %s by %s: HTTP %d %s", r.method, r.path, w.name, res.Status, res.Body)
			}
		}
	}
	f.checkLedger(t)
}
