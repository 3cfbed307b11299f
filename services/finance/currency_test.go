package finance_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
)

// Each currency's gifts and payments are booked to income accounts of that
// currency: accounts/donations when it is in the currency, otherwise
// accounts/donations-{currency}, created on first use. Asset defaults
// (deposits by channel, payments from accounts/bank) are never invented: a
// write without one is refused on the field that names the account, saying
// which to create. The chart is USD, with accounts/eur-bank in EUR.
func TestCurrencyDefaults(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	db := f.env.DB(t, "finance")
	count := func(table string) (n int) {
		t.Helper()
		if err := db.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	refused := func(res *apptest.Response, field, says string) {
		t.Helper()
		if res.Status != http.StatusBadRequest || !contains(res.RPCStatus(t).Fields(), field) {
			t.Fatalf("HTTP %d %s, want 400 on %s", res.Status, res.Body, field)
		}
		if !strings.Contains(string(res.Body), says) {
			t.Errorf("%s does not say %q", res.Body, says)
		}
	}

	// A EUR gift without a goal, deposited in a EUR account: income of
	// accounts/donations-eur, created for it; a second one reuses it.
	for i := 0; i < 2; i++ {
		res := f.admin.Do(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"EUR","minorUnits":"2500"},"donorName":"Jean","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_BANK","depositAccount":"accounts/eur-bank"}`)
		if res.Status != http.StatusOK {
			t.Fatalf("EUR gift without a goal: HTTP %d %s", res.Status, res.Body)
		}
	}
	acct := f.must(t, "GET", "/v1/accounts/donations-eur", "")
	if acct["type"] != "TYPE_INCOME" || acct["currencyCode"] != "EUR" || fmt.Sprint(acct["balance"].(map[string]any)["minorUnits"]) != "-5000" {
		t.Errorf("accounts/donations-eur: %v", acct)
	}
	// USD gifts stay in accounts/donations.
	f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"100"},"donorName":"Ann","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL"}`)
	if res := f.admin.Do(t, "GET", "/v1/accounts/donations-usd", ""); res.Status != http.StatusNotFound {
		t.Errorf("a USD gift created accounts/donations-usd: HTTP %d", res.Status)
	}

	// A EUR gift by PayPal, whose default account is USD: refused on the
	// deposit account, naming the account to create; nothing is stored.
	gifts := count("donations")
	paypal := `{"amount":{"currencyCode":"EUR","minorUnits":"700"},"donorName":"Jo","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL"}`
	res := f.admin.Do(t, "POST", "/v1/donations", paypal)
	refused(res, "donation.depositAccount", "accounts/paypal-eur")
	if count("donations") != gifts {
		t.Errorf("a refused gift was stored")
	}
	f.must(t, "POST", "/v1/accounts?accountId=paypal-eur", `{"displayName":"PayPal EUR","type":"TYPE_ASSET","currencyCode":"EUR"}`)
	if d := f.must(t, "POST", "/v1/donations", paypal); d["depositAccount"] != "accounts/paypal-eur" {
		t.Errorf("EUR PayPal gift deposited in %v, want accounts/paypal-eur", d["depositAccount"])
	}

	// An id taken by another kind of account is not used as a default: the
	// gift is refused on the currency the caller sent.
	f.must(t, "POST", "/v1/accounts?accountId=donations-gbp", `{"displayName":"Not income","type":"TYPE_ASSET","currencyCode":"GBP"}`)
	f.must(t, "POST", "/v1/accounts?accountId=gbp-bank", `{"displayName":"GBP bank","type":"TYPE_ASSET","currencyCode":"GBP"}`)
	res = f.admin.Do(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"GBP","minorUnits":"700"},"donorName":"Jo","channel":"CHANNEL_BANK","depositAccount":"accounts/gbp-bank"}`)
	refused(res, "donation.amount.currencyCode", "accounts/donations-gbp")

	// A EUR expense paid without naming an account: accounts/bank is USD.
	f.must(t, "POST", "/v1/accounts?accountId=eur-hosting", `{"displayName":"Hosting EUR","type":"TYPE_EXPENSE","currencyCode":"EUR"}`)
	second := f.env.Person(t, "treasurer", false)
	f.env.Member(t, "finance", "treasurer", "member")
	e := f.env.WithToken(f.actors.Member).Do(t, "POST", "/v1/expenses", `{"payee":"Hetzner","category":"accounts/eur-hosting","amount":{"currencyCode":"EUR","minorUnits":"4000"},"description":"Server"}`).JSON(t)["name"].(string)
	f.env.WithToken(second).Do(t, "POST", "/v1/"+e+":approve", `{}`)
	res = f.env.WithToken(second).Do(t, "POST", "/v1/"+e+":pay", `{}`)
	refused(res, "paymentAccount", "accounts/bank-eur")
	if p := f.env.WithToken(second).Do(t, "POST", "/v1/"+e+":pay", `{"paymentAccount":"accounts/eur-bank"}`).JSON(t); p["state"] != "STATE_PAID" {
		t.Errorf("EUR expense paid from accounts/eur-bank: %v", p)
	}

	// EUR subscription and sponsorship payments: income accounts for EUR
	// are created; the deposit must be named (or accounts/bank-eur made).
	sub := f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"Fan","amount":{"currencyCode":"EUR","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)["name"].(string)
	res = f.admin.Do(t, "POST", "/v1/"+sub+":recordPayment", `{"requestId":"`+rid()+`"}`)
	refused(res, "depositAccount", "accounts/bank-eur")
	f.must(t, "POST", "/v1/"+sub+":recordPayment", `{"depositAccount":"accounts/eur-bank","requestId":"`+rid()+`"}`)
	sp := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"Koozali","package":"banner","kind":"KIND_ADVERTISING","amount":{"currencyCode":"EUR","minorUnits":"10000"},"period":"INTERVAL_MONTH"}`)["name"].(string)
	res = f.admin.Do(t, "POST", "/v1/"+sp+":recordPayment", `{"requestId":"`+rid()+`"}`)
	refused(res, "depositAccount", "accounts/bank-eur")
	// With accounts/bank-eur in the chart it is the EUR default.
	f.must(t, "POST", "/v1/accounts?accountId=bank-eur", `{"displayName":"Bank EUR","type":"TYPE_ASSET","currencyCode":"EUR"}`)
	f.must(t, "POST", "/v1/"+sp+":recordPayment", `{"requestId":"`+rid()+`"}`)
	for id, want := range map[string]string{"subscriptions-eur": "-500", "advertising-eur": "-10000", "bank-eur": "10000"} {
		a := f.must(t, "GET", "/v1/accounts/"+id, "")
		if a["currencyCode"] != "EUR" || fmt.Sprint(a["balance"].(map[string]any)["minorUnits"]) != want {
			t.Errorf("accounts/%s: %v, want a EUR balance of %s", id, a, want)
		}
	}
	f.checkLedger(t)
}
