package finance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
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
		{"negative", `{"amount":{"currencyCode":"USD","minorUnits":"-5"},"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.amount.minorUnits"},
		{"unknown currency", `{"amount":{"currencyCode":"XXQ","minorUnits":"5"},"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.amount.currencyCode"},
		{"lower-case currency", `{"amount":{"currencyCode":"usd","minorUnits":"5"},"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.amount.currencyCode"},
		{"currency not the account's", `{"amount":{"currencyCode":"EUR","minorUnits":"5"},"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.depositAccount"},
		{"JPY into a USD account", `{"amount":{"currencyCode":"JPY","minorUnits":"500"},"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.depositAccount"},
		{"no amount", `{"donorName":"J","channel":"CHANNEL_BANK"}`, "donation.amount"},
		{"no channel", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"donorName":"J"}`, "donation.channel"},
		{"no donor", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"channel":"CHANNEL_BANK"}`, "donation.donor"},
		{"unknown person", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"donor":"people/nobody","channel":"CHANNEL_BANK"}`, "donation.donor"},
		{"bad email", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"donorName":"J","donorEmail":"nope","channel":"CHANNEL_BANK"}`, "donation.donorEmail"},
		{"in kind without description", `{"amount":{"currencyCode":"USD","minorUnits":"0"},"donorName":"J","channel":"CHANNEL_IN_KIND"}`, "donation.description"},
		{"unknown goal", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"donorName":"J","channel":"CHANNEL_BANK","goal":"goals/nope"}`, "donation.goal"},
		// JSON and protobuf allow U+0000; PostgreSQL text does not.
		{"NUL in a name", `{"amount":{"currencyCode":"USD","minorUnits":"5"},"donorName":"J\u0000","channel":"CHANNEL_BANK"}`, "donation.donorName"},
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

// Concurrent donations share statements and commits (group commit) and
// keep every guarantee of a single write: each reply is what was stored,
// request ids dedupe across and within batches, and a donation the database
// refuses fails alone.
func TestDonationsWrittenTogether(t *testing.T) {
	f := start(t)
	db := f.env.DB(t, "finance")
	ctx := context.Background()
	// A rule only this test has, so that the database refuses some donations
	// after every check in Go has passed.
	if _, err := db.Exec(ctx, `ALTER TABLE donations ADD CONSTRAINT test_refuse CHECK (donor_name <> 'Refused')`); err != nil {
		t.Fatal(err)
	}
	type call struct {
		requestID, body string
		wantStatus      int
	}
	donation := func(donor string, amount int) string {
		return fmt.Sprintf(`{"amount":{"currencyCode":"USD","minorUnits":"%d"},"donorName":%q,"visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL"}`, amount, donor)
	}
	var calls []call
	var wantSum int64
	for i := 1; i <= 120; i++ {
		calls = append(calls, call{rid(), donation("Plain", i), http.StatusOK})
		wantSum += int64(i)
	}
	for i := 0; i < 30; i++ { // no request id
		calls = append(calls, call{"", donation("Anonymous", 1000), http.StatusOK})
		wantSum += 1000
	}
	dup := rid() // the same request three times
	for i := 0; i < 3; i++ {
		calls = append(calls, call{dup, donation("Twice", 5000), http.StatusOK})
	}
	wantSum += 5000
	first := len(calls)
	// A second wave mixes in donations the database refuses.
	for i := 0; i < 10; i++ {
		calls = append(calls, call{rid(), donation("Refused", 7), http.StatusBadRequest})
		calls = append(calls, call{rid(), `{"amount":{"currencyCode":"USD","minorUnits":"0"},"donorName":"Acme","channel":"CHANNEL_IN_KIND","description":"a server"}`, http.StatusOK})
		calls = append(calls, call{rid(), donation("Second", 1), http.StatusOK})
		wantSum++
	}
	replies := make([]*apptest.Response, len(calls))
	for _, wave := range [][2]int{{0, first}, {first, len(calls)}} {
		var wg sync.WaitGroup
		for i := wave[0]; i < wave[1]; i++ {
			c := calls[i]
			wg.Add(1)
			go func() {
				defer wg.Done()
				path := "/v1/donations"
				if c.requestID != "" {
					path += "?requestId=" + c.requestID
				}
				replies[i] = f.admin.Do(t, "POST", path, c.body)
			}()
		}
		wg.Wait()
	}
	var dupReply []byte
	for i, c := range calls {
		res := replies[i]
		if res.Status != c.wantStatus {
			t.Errorf("call %d (%s): HTTP %d %s", i, c.body, res.Status, res.Body)
			continue
		}
		if res.Status != http.StatusOK {
			continue
		}
		if c.requestID == dup {
			if dupReply != nil && !bytes.Equal(dupReply, res.Body) {
				t.Errorf("replies to one request id differ:\n%s\n%s", dupReply, res.Body)
			}
			dupReply = res.Body
		}
		name := res.JSON(t)["name"].(string)
		if got := f.admin.Do(t, "GET", "/v1/"+name, ""); !bytes.Equal(got.Body, res.Body) {
			t.Errorf("stored %s differs from its reply:\n%s\n%s", name, got.Body, res.Body)
		}
	}
	var donations, entries, refused, paypal int64
	var commits int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM donations), (SELECT count(*) FROM transactions),
		(SELECT count(*) FROM donations WHERE donor_name = 'Refused'),
		(SELECT coalesce(sum(amount), 0) FROM postings WHERE account_id = 'paypal'),
		(SELECT count(DISTINCT t.create_time) FROM transactions t JOIN donations d ON d.transaction_id = t.id WHERE d.donor_name = 'Plain')`).Scan(&donations, &entries, &refused, &paypal, &commits); err != nil {
		t.Fatal(err)
	}
	if donations != 171 || entries != 161 || refused != 0 || paypal != wantSum {
		t.Errorf("%d donations, %d entries, %d refused stored, paypal %d; want 171, 161, 0, %d", donations, entries, refused, paypal, wantSum)
	}
	// Rows written by one statement share its transaction's start time. A
	// batch the database refuses is written again one by one, so count the
	// donations of the batches that never met a refused one.
	if commits >= 120 {
		t.Errorf("120 donations in %d database transactions: no two shared a write", commits)
	}
	t.Logf("120 donations in %d database transactions", commits)
	f.checkLedger(t)
}
