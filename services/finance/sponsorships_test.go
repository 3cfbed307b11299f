package finance_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// storedSponsorship is a deal's row as stored.
type storedSponsorship struct {
	organisation, pkg, currency, period, end string
	amount, paid, version                    int64
}

func (f *fixture) sponsorshipRow(t *testing.T, name string) storedSponsorship {
	t.Helper()
	var r storedSponsorship
	if err := f.env.DB(t, "finance").QueryRow(context.Background(),
		`SELECT organisation, package, currency_code, period, coalesce(end_date::text, ''), amount, paid, version
		 FROM sponsorships WHERE id::text = $1`, strings.TrimPrefix(name, "sponsorships/")).
		Scan(&r.organisation, &r.pkg, &r.currency, &r.period, &r.end, &r.amount, &r.paid, &r.version); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestUpdateSponsorship(t *testing.T) {
	f := start(t)
	created := f.must(t, "POST", "/v1/sponsorships",
		`{"organisation":"Koozali Hosting","package":"website banner","kind":"KIND_ADVERTISING","amount":{"currencyCode":"USD","minorUnits":"10000"},"period":"INTERVAL_MONTH","startDate":"2026-01-01"}`)
	name := created["name"].(string)
	if created["etag"] != "1" || created["updateTime"] == nil {
		t.Fatalf("created deal lacks etag or update time: %v", created)
	}
	// A payment changes the deal (state, paid), so it changes the etag.
	paid := f.must(t, "POST", "/v1/"+name+":recordPayment", `{"requestId":"`+rid()+`"}`)
	if paid["state"] != "STATE_ACTIVE" || paid["etag"] != "2" {
		t.Fatalf("after a payment: %v", paid)
	}

	// The mask limits the change: package is sent but not in the mask.
	res := f.admin.Do(t, "PATCH", "/v1/"+name+"?updateMask=organisation,amount,end_date",
		`{"organisation":"Koozali Hosting Ltd","package":"ignored","amount":{"currencyCode":"USD","minorUnits":"12000"},"endDate":"2026-12-31","etag":"2"}`)
	if res.Status != http.StatusOK {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	got := res.JSON(t)
	if got["organisation"] != "Koozali Hosting Ltd" || got["package"] != "website banner" || units(got["amount"]) != "12000" ||
		got["endDate"] != "2026-12-31" || got["state"] != "STATE_ACTIVE" || units(got["paid"]) != "10000" || got["etag"] != "3" {
		t.Fatalf("updated deal: %v", got)
	}
	want := storedSponsorship{organisation: "Koozali Hosting Ltd", pkg: "website banner", currency: "USD", period: "month",
		end: "2026-12-31", amount: 12000, paid: 10000, version: 3}
	if row := f.sponsorshipRow(t, name); row != want {
		t.Fatalf("stored %+v, want %+v", row, want)
	}
	// The next payment is of the new amount; the one posted stays as it was.
	f.must(t, "POST", "/v1/"+name+":recordPayment", `{"requestId":"`+rid()+`"}`)
	var amounts []int64
	rows, err := f.env.DB(t, "finance").Query(context.Background(),
		`SELECT p.amount FROM postings p JOIN payments y ON y.transaction_id = p.transaction_id WHERE p.amount > 0 ORDER BY p.amount`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a int64
		_ = rows.Scan(&a)
		amounts = append(amounts, a)
	}
	rows.Close()
	if !slices.Equal(amounts, []int64{10000, 12000}) {
		t.Fatalf("payments posted %v, want [10000 12000]", amounts)
	}
	want.paid, want.version = 22000, 4

	// A stale etag loses: 409 and nothing changes.
	res = f.admin.Do(t, "PATCH", "/v1/"+name, `{"package":"late","etag":"2"}`)
	if res.Status != http.StatusConflict || res.RPCStatus(t).Reason() != "ETAG_MISMATCH" {
		t.Fatalf("stale etag: %d %s", res.Status, res.Body)
	}

	cases := []struct{ name, path, body, field string }{
		{"kind is fixed", "?updateMask=kind", `{"kind":"KIND_SPONSORSHIP"}`, "updateMask"},
		{"start date is fixed", "?updateMask=start_date", `{"startDate":"2025-01-01"}`, "updateMask"},
		{"currency is fixed", "", `{"amount":{"currencyCode":"EUR","minorUnits":"700"}}`, "sponsorship.amount.currencyCode"},
		{"zero amount", "", `{"amount":{"currencyCode":"USD","minorUnits":"0"}}`, "sponsorship.amount.minorUnits"},
		{"amount cleared", "?updateMask=amount", `{}`, "sponsorship.amount"},
		{"organisation cleared", "?updateMask=organisation", `{}`, "sponsorship.organisation"},
		{"period cleared", "?updateMask=period", `{}`, "sponsorship.period"},
		{"ends before it starts", "", `{"endDate":"2025-12-31"}`, "sponsorship.endDate"},
		{"not a date", "", `{"endDate":"2026-02-30"}`, "sponsorship.endDate"},
		{"organisation with NUL", "", `{"organisation":"K\u0000"}`, "sponsorship.organisation"},
		{"output-only field", "?updateMask=paid", `{}`, "updateMask"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.admin.Do(t, "PATCH", "/v1/"+name+c.path, c.body)
			if res.Status != http.StatusBadRequest || !slices.Contains(res.RPCStatus(t).Fields(), c.field) {
				t.Fatalf("HTTP %d %s, want 400 on %s", res.Status, res.Body, c.field)
			}
			if row := f.sponsorshipRow(t, name); row != want {
				t.Fatalf("bad input changed the deal: %+v", row)
			}
		})
	}
	if res := f.admin.Do(t, "PATCH", "/v1/sponsorships/00000000-0000-0000-0000-000000000000", `{"package":"x"}`); res.Status != http.StatusNotFound {
		t.Fatalf("update of a missing deal: %d %s", res.Status, res.Body)
	}
	if res := f.env.WithToken(f.actors.Member).Do(t, "PATCH", "/v1/"+name, `{"package":"x"}`); res.Status != http.StatusForbidden {
		t.Fatalf("update by a plain member: %d %s", res.Status, res.Body)
	}
	// Ending the deal changes it too.
	if ended := f.must(t, "POST", "/v1/"+name+":end", `{}`); ended["state"] != "STATE_ENDED" || ended["etag"] != "5" {
		t.Fatalf("ended: %v", ended)
	}
}
