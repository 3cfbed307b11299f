package finance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
)

// 1,000 concurrent creates with one request_id make one donation and one
// entry, and every caller gets the same reply.
func TestDonationConcurrentDuplicates(t *testing.T) {
	f := start(t)
	id := rid()
	body := `{"amount":{"currencyCode":"USD","minorUnits":"2500"},"donorName":"Jean","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL","externalReference":"PP-1"}`
	const workers, each = 50, 20
	replies := make([][]byte, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				res := f.admin.Do(t, "POST", "/v1/donations?requestId="+id, body)
				if res.Status != http.StatusOK {
					t.Errorf("HTTP %d %s", res.Status, res.Body)
					return
				}
				replies[w*each+i] = res.Body
			}
		}(w)
	}
	wg.Wait()
	for i, r := range replies {
		if !bytes.Equal(r, replies[0]) {
			t.Fatalf("reply %d differs:\n%s\n%s", i, r, replies[0])
		}
	}
	// What was returned is what was stored.
	var first map[string]any
	_ = json.Unmarshal(replies[0], &first)
	if got := f.admin.Do(t, "GET", "/v1/"+first["name"].(string), ""); !bytes.Equal(got.Body, replies[0]) {
		t.Errorf("stored donation differs from the reply:\n%s\n%s", got.Body, replies[0])
	}
	db := f.env.DB(t, "finance")
	var donations, entries int
	_ = db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM donations), (SELECT count(*) FROM transactions)`).Scan(&donations, &entries)
	if donations != 1 || entries != 1 {
		t.Errorf("%d donations and %d entries, want 1 and 1", donations, entries)
	}
	// Same id, different body: ABORTED with REQUEST_ID_REUSED.
	res := f.admin.Do(t, "POST", "/v1/donations?requestId="+id, `{"amount":{"currencyCode":"USD","minorUnits":"2600"},"donorName":"Jean","channel":"CHANNEL_PAYPAL"}`)
	if res.Status != http.StatusConflict || res.RPCStatus(t).Reason() != "REQUEST_ID_REUSED" {
		t.Errorf("reused id: %d %s", res.Status, res.Body)
	}
	f.checkLedger(t)
}

func TestDonationBadInput(t *testing.T) {
	f := start(t)
	cases := []struct{ name, body, field string }{
		{"negative", `{"amount":{"currencyCode":"USD","minorUnits":"-5"},"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.amount.minor_units"},
		{"unknown currency", `{"amount":{"currencyCode":"XXQ","minorUnits":"5"},"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.amount.currency_code"},
		{"lower-case currency", `{"amount":{"currencyCode":"usd","minorUnits":"5"},"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.amount.currency_code"},
		{"currency not the account's", `{"amount":{"currencyCode":"EUR","minorUnits":"5"},"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.deposit_account"},
		{"JPY into a USD account", `{"amount":{"currencyCode":"JPY","minorUnits":"500"},"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.deposit_account"},
		{"no amount", `{"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.amount"},
		{"no channel", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"donorName":"J"}`, "donation.channel"},
		{"no donor", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"channel":"CHANNEL_BANK"}`, "donation.donor"},
		{"unknown person", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"donor":"people/nobody","channel":"CHANNEL_BANK"}`, "donation.donor"},
		{"bad email", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"donorName":"J","donorEmail":"nope","channel":"CHANNEL_BANK"}`, "donation.donor_email"},
		{"in kind without description", `{"amount":{"currencyCode":"USD","minorUnits":"0"},"donorName":"J","channel":"CHANNEL_IN_KIND"}`, "donation.description"},
		{"unknown goal", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"donorName":"J","channel":"CHANNEL_BANK","goal":"goals/nope"}`, "donation.goal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.admin.Do(t, "POST", "/v1/donations", c.body)
			if res.Status != http.StatusBadRequest {
				t.Fatalf("HTTP %d %s", res.Status, res.Body)
			}
			if fields := res.RPCStatus(t).Fields(); !contains(fields, c.field) {
				t.Errorf("fields %v, want %s", fields, c.field)
			}
		})
	}
	// Decimals are not minor units: the gateway refuses them.
	if res := f.admin.Do(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"12.50"},"donorName":"J","channel":"CHANNEL_BANK"}`); res.Status != http.StatusBadRequest {
		t.Errorf("fractional minor units: HTTP %d %s", res.Status, res.Body)
	}
	var n int
	_ = f.env.DB(t, "finance").QueryRow(context.Background(), `SELECT (SELECT count(*) FROM donations) + (SELECT count(*) FROM transactions)`).Scan(&n)
	if n != 0 {
		t.Errorf("bad input stored %d rows", n)
	}
}

// Public lists show only what the donor allowed.
func TestDonationVisibility(t *testing.T) {
	f := start(t)
	for _, v := range []string{"PUBLIC", "ANONYMOUS", "PRIVATE"} {
		f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"1000"},"donor":"people/member","visibility":"VISIBILITY_`+v+`","channel":"CHANNEL_CASH","externalReference":"r"}`)
	}
	// An in-kind gift posts nothing.
	kind := f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"0"},"donorName":"Acme","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_IN_KIND","description":"A rack server"}`)
	if present(kind["transaction"]) {
		t.Errorf("in-kind gift posted %v", kind["transaction"])
	}
	type view struct {
		token  string
		donor  [3]bool // per visibility: donor shown
		amount [3]bool
	}
	views := map[string]view{
		"anonymous":    {"", [3]bool{true, false, false}, [3]bool{true, true, false}},
		"other member": {f.actors.Lead, [3]bool{true, false, false}, [3]bool{true, true, false}},
		"the donor":    {f.actors.Member, [3]bool{true, true, true}, [3]bool{true, true, true}},
		"finance":      {f.actors.FinanceTeam, [3]bool{true, true, true}, [3]bool{true, true, true}},
	}
	for who, v := range views {
		list := f.env.WithToken(v.token).Do(t, "GET", "/v1/donations", "").JSON(t)["donations"].([]any)
		if len(list) != 4 {
			t.Fatalf("%s sees %d donations", who, len(list))
		}
		for i := 0; i < 3; i++ {
			d := list[i].(map[string]any)
			if present(d["donor"]) != v.donor[i] || present(d["amount"]) != v.amount[i] {
				t.Errorf("%s, donation %d (%v): donor %v amount %v", who, i, d["visibility"], d["donor"], d["amount"])
			}
			if who == "anonymous" && present(d["externalReference"]) {
				t.Errorf("external reference leaked: %v", d)
			}
		}
	}
	f.checkLedger(t)
}

// present reports a JSON value that is set (the gateway emits unset fields too).
func present(v any) bool { return v != nil && v != "" }
