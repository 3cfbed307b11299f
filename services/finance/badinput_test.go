package finance_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
)

// Bad input on every other write route: 400 with the field named, nothing stored.
func TestBadInputEverywhere(t *testing.T) {
	f := start(t)
	sub := f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"A","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)["name"].(string)
	sp := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"O","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"500"},"period":"INTERVAL_YEAR"}`)["name"].(string)
	exp := f.must(t, "POST", "/v1/expenses", `{"payee":"X","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"100"},"description":"d"}`)["name"].(string)
	f.must(t, "POST", "/v1/goals?goalId=g", `{"displayName":"G","target":{"currencyCode":"USD","minorUnits":"100"},"period":"PERIOD_YEARLY"}`)
	cases := []struct{ name, method, path, body, field string }{
		{"tier negative", "POST", "/v1/tiers?tierId=t", `{"displayName":"x","amount":{"currencyCode":"USD","minorUnits":"-5"},"interval":"INTERVAL_MONTH"}`, "tier.amount.minorUnits"},
		{"tier no interval", "POST", "/v1/tiers?tierId=t", `{"displayName":"x","amount":{"currencyCode":"USD","minorUnits":"5"}}`, "tier.interval"},
		{"tier bad id", "POST", "/v1/tiers?tierId=T!", `{"displayName":"x","amount":{"currencyCode":"USD","minorUnits":"5"},"interval":"INTERVAL_MONTH"}`, "tierId"},
		{"subscription unknown currency", "POST", "/v1/subscriptions", `{"subscriberName":"x","amount":{"currencyCode":"QQQ","minorUnits":"5"},"interval":"INTERVAL_MONTH"}`, "subscription.amount.currencyCode"},
		{"subscription bad date", "POST", "/v1/subscriptions", `{"subscriberName":"x","amount":{"currencyCode":"USD","minorUnits":"5"},"interval":"INTERVAL_MONTH","nextDueDate":"2026-02-30"}`, "subscription.nextDueDate"},
		{"subscription payment without request id", "POST", "/v1/" + sub + ":recordPayment", `{}`, "requestId"},
		{"subscription payment bad account", "POST", "/v1/" + sub + ":recordPayment", `{"requestId":"` + rid() + `","depositAccount":"accounts/eur-bank"}`, "depositAccount"},
		{"sponsorship no organisation", "POST", "/v1/sponsorships", `{"kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"5"},"period":"INTERVAL_YEAR"}`, "sponsorship.organisation"},
		{"sponsorship ends before it starts", "POST", "/v1/sponsorships", `{"organisation":"o","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"5"},"period":"INTERVAL_YEAR","startDate":"2026-05-01","endDate":"2026-04-01"}`, "sponsorship.endDate"},
		{"sponsorship payment without request id", "POST", "/v1/" + sp + ":recordPayment", `{}`, "requestId"},
		{"reject without reason", "POST", "/v1/" + exp + ":reject", `{}`, "reason"},
		{"budget not an expense account", "POST", "/v1/budgets", `{"category":"accounts/bank","year":2026,"planned":{"currencyCode":"USD","minorUnits":"5"}}`, "budget.category"},
		{"budget negative", "POST", "/v1/budgets", `{"category":"accounts/hosting","year":2026,"planned":{"currencyCode":"USD","minorUnits":"-5"}}`, "budget.planned.minorUnits"},
		{"budget bad year", "POST", "/v1/budgets", `{"category":"accounts/hosting","year":1900,"planned":{"currencyCode":"USD","minorUnits":"5"}}`, "budget.year"},
		{"goal zero target", "POST", "/v1/goals?goalId=h", `{"displayName":"x","target":{"currencyCode":"USD","minorUnits":"0"},"period":"PERIOD_YEARLY"}`, "goal.target.minorUnits"},
		{"goal fund in another currency", "POST", "/v1/goals?goalId=h", `{"displayName":"x","target":{"currencyCode":"USD","minorUnits":"5"},"period":"PERIOD_YEARLY","fundAccount":"accounts/eur-bank"}`, "goal.fundAccount"},
		{"goal update changes currency", "PATCH", "/v1/goals/g", `{"target":{"currencyCode":"EUR","minorUnits":"5"}}`, "goal.target.currencyCode"},
		{"account unknown currency", "POST", "/v1/accounts?accountId=zz", `{"displayName":"x","type":"TYPE_ASSET","currencyCode":"ZZZ"}`, "account.currencyCode"},
		{"report bad month", "GET", "/v1/reports/monthly?month=2026-13", "", "month"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.admin.Do(t, c.method, c.path, c.body)
			if res.Status != http.StatusBadRequest || !contains(res.RPCStatus(t).Fields(), c.field) {
				t.Fatalf("HTTP %d %s, want field %s", res.Status, res.Body, c.field)
			}
		})
	}
	// Streaming errors come wrapped by the gateway as {"error": Status}.
	if res := f.admin.Do(t, "GET", "/v1/transactions:export?from=yesterday", ""); res.Status != http.StatusBadRequest || !bytes.Contains(res.Body, []byte(`"field":"from"`)) {
		t.Errorf("export with a bad date: %d %s", res.Status, res.Body)
	}
	var n int
	_ = f.env.DB(t, "finance").QueryRow(context.Background(), `SELECT (SELECT count(*) FROM tiers) + (SELECT count(*) FROM budgets)
		+ (SELECT count(*) FROM transactions) + (SELECT count(*) FROM goals WHERE id <> 'g') + (SELECT count(*) FROM subscriptions) - 1
		+ (SELECT count(*) FROM sponsorships) - 1`).Scan(&n)
	if n != 0 {
		t.Errorf("bad input stored %d rows", n)
	}
	// An account with postings cannot be deleted.
	f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"donorName":"x","channel":"CHANNEL_CASH"}`)
	if res := f.admin.Do(t, "DELETE", "/v1/accounts/cash", ""); res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "ACCOUNT_IN_USE" {
		t.Errorf("delete of a used account: %d %s", res.Status, res.Body)
	}
}
