package finance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/guildhall/guildhall/internal/resource"
)

// batchCall is one request of a concurrent wave.
type batchCall struct {
	path, body string
	wantStatus int
	wantReason string
	// wantField, if set, must be among the refusal's field violations.
	wantField string
	// group names calls that must get the same reply (one request id).
	group string
}

// wave sends calls all at once and checks each status; calls of a group
// must get byte-identical replies. It returns the replies.
func (f *fixture) wave(t *testing.T, calls []batchCall) [][]byte {
	t.Helper()
	replies := make([][]byte, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			res := f.admin.Do(t, "POST", c.path, c.body)
			if res.Status != c.wantStatus {
				t.Errorf("call %d %s %s: HTTP %d, want %d\n%s", i, c.path, c.body, res.Status, c.wantStatus, res.Body)
				return
			}
			if c.wantReason != "" {
				if got := res.RPCStatus(t).Reason(); got != c.wantReason {
					t.Errorf("call %d %s: reason %s, want %s", i, c.path, got, c.wantReason)
				}
			}
			if c.wantField != "" {
				if got := res.RPCStatus(t).Fields(); !slices.Contains(got, c.wantField) {
					t.Errorf("call %d %s: fields %v, want %s among them", i, c.path, got, c.wantField)
				}
			}
			replies[i] = res.Body
		})
	}
	wg.Wait()
	first := map[string][]byte{}
	for i, c := range calls {
		if c.group == "" || replies[i] == nil {
			continue
		}
		if prev, ok := first[c.group]; ok && !bytes.Equal(prev, replies[i]) {
			t.Errorf("replies to one request id (%s) differ:\n%s\n%s", c.group, prev, replies[i])
		}
		first[c.group] = replies[i]
	}
	return replies
}

// refuseDescriptions makes the database refuse entries described "Refused",
// after every check in Go has passed, as a constraint only this test has.
func (f *fixture) refuseDescriptions(t *testing.T) {
	t.Helper()
	if _, err := f.env.DB(t, "finance").Exec(context.Background(),
		`ALTER TABLE transactions ADD CONSTRAINT test_refuse CHECK (description NOT LIKE '%Refused%')`); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.env.DB(t, "finance").QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Concurrent manual entries share transactions; a duplicated request id
// posts once and replays; entries the database refuses, and entries that
// fail their checks, fail alone.
func TestManualEntriesWrittenTogether(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.refuseDescriptions(t)
	entry := func(desc string, amount int, account string) string {
		return fmt.Sprintf(`{"description":%q,"postings":[{"account":"accounts/%s","amount":{"currencyCode":"USD","minorUnits":"%d"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-%d"}}]}`,
			desc, account, amount, amount)
	}
	var calls []batchCall
	var wantBank int64
	for i := 1; i <= 60; i++ {
		calls = append(calls, batchCall{path: "/v1/transactions?requestId=" + rid(), body: entry("Plain", i, "bank"), wantStatus: http.StatusOK})
		wantBank += int64(i)
	}
	dup := rid()
	for range 3 {
		calls = append(calls, batchCall{path: "/v1/transactions?requestId=" + dup, body: entry("Twice", 5000, "bank"), wantStatus: http.StatusOK, group: dup})
	}
	wantBank += 5000
	for range 8 {
		calls = append(calls,
			batchCall{path: "/v1/transactions?requestId=" + rid(), body: entry("Refused", 7, "bank"), wantStatus: http.StatusBadRequest},
			batchCall{path: "/v1/transactions?requestId=" + rid(), body: entry("Nowhere", 7, "nowhere"), wantStatus: http.StatusBadRequest},
			batchCall{path: "/v1/transactions", body: entry("Second", 1, "bank"), wantStatus: http.StatusOK})
		wantBank++
	}
	f.storedAsReplied(t, calls, f.wave(t, calls))
	if n := f.count(t, `SELECT count(*) FROM transactions WHERE source = 'manual'`); n != 69 {
		t.Errorf("%d manual entries, want 69 (60 + 1 replayed + 8)", n)
	}
	if n := f.count(t, `SELECT count(*) FROM transactions WHERE description IN ('Refused', 'Nowhere')`); n != 0 {
		t.Errorf("%d refused entries stored", n)
	}
	if n := f.count(t, `SELECT coalesce(sum(amount), 0)::int FROM postings WHERE account_id = 'bank'`); int64(n) != wantBank {
		t.Errorf("bank %d, want %d", n, wantBank)
	}
	f.shared(t, "manual entries", 60, `description = 'Plain'`)
	f.checkLedger(t)
}

// shared checks that the n entries query selects were not all written in
// transactions of their own: entries of one transaction share its start time.
func (f *fixture) shared(t *testing.T, what string, n int, where string) {
	t.Helper()
	commits := f.count(t, `SELECT count(DISTINCT create_time) FROM transactions WHERE `+where)
	if commits >= n {
		t.Errorf("%d %s in %d database transactions: no two shared a commit", n, what, commits)
	}
	t.Logf("%d %s in %d database transactions", n, what, commits)
}

// field is a string field of a JSON reply.
func field(t *testing.T, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	v, _ := m[name].(string)
	return v
}

// Concurrent reversals share transactions and statements, each stored as
// its reply says; reversing one entry twice reverses it once (the later one
// is refused, or replays its request id).
func TestReversalsWrittenTogether(t *testing.T) {
	t.Parallel()
	f := start(t)
	var entries []string
	for i := 1; i <= 20; i++ {
		entries = append(entries, f.must(t, "POST", "/v1/transactions", fmt.Sprintf(
			`{"description":"to reverse","postings":[{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"%d"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-%d"}}]}`, i, i))["name"].(string))
	}
	var calls []batchCall
	for _, e := range entries[:15] {
		calls = append(calls, batchCall{path: "/v1/" + e + ":reverse", body: `{"requestId":"` + rid() + `","reason":"batch"}`, wantStatus: http.StatusOK})
	}
	dup := rid()
	for range 3 {
		calls = append(calls, batchCall{path: "/v1/" + entries[15] + ":reverse", body: `{"requestId":"` + dup + `"}`, wantStatus: http.StatusOK, group: dup})
	}
	calls = append(calls, batchCall{path: "/v1/transactions/00000000-0000-7000-8000-000000000000:reverse", body: `{"requestId":"` + rid() + `"}`, wantStatus: http.StatusNotFound})
	first := f.wave(t, calls)
	f.storedAsReplied(t, calls, first)
	// A retry of a reversal that was written answers as it did.
	if res := f.admin.Do(t, "POST", "/v1/"+entries[15]+":reverse", `{"requestId":"`+dup+`"}`); res.Status != http.StatusOK || !bytes.Equal(res.Body, first[15]) {
		t.Errorf("retried reversal: HTTP %d %s, want the first answer %s", res.Status, res.Body, first[15])
	}
	// Then the same entries again, with new request ids, beside new ones.
	calls = nil
	for _, e := range entries[:5] {
		calls = append(calls, batchCall{path: "/v1/" + e + ":reverse", body: `{"requestId":"` + rid() + `"}`, wantStatus: http.StatusBadRequest, wantReason: "ALREADY_REVERSED"})
	}
	for _, e := range entries[16:] {
		calls = append(calls, batchCall{path: "/v1/" + e + ":reverse", body: `{"requestId":"` + rid() + `"}`, wantStatus: http.StatusOK})
	}
	f.wave(t, calls)
	if n := f.count(t, `SELECT count(*) FROM transactions WHERE reverses_id IS NOT NULL`); n != 20 {
		t.Errorf("%d reversals, want 20", n)
	}
	if n := f.count(t, `SELECT coalesce(sum(amount), 0)::int FROM postings WHERE account_id = 'bank'`); n != 0 {
		t.Errorf("bank %d after reversing everything", n)
	}
	f.shared(t, "reversals", 20, `reverses_id IS NOT NULL`)
	// Reversals are written as manual entries are: several in one statement.
	most := f.count(t, `SELECT coalesce(max(n), 0)::int FROM (SELECT count(*) AS n FROM transactions WHERE reverses_id IS NOT NULL GROUP BY xmin::text, cmin::text) x`)
	if most < 2 {
		t.Errorf("no two of the concurrent reversals were written by one statement")
	}
	f.checkLedger(t)
}

// Concurrent expense payments share transactions and statements, each
// stored as its reply says; an unapproved expense fails alone (and its
// failure does not keep the others from sharing a statement), and a
// payment's request id replays.
func TestExpensePaymentsWrittenTogether(t *testing.T) {
	t.Parallel()
	f := start(t)
	fin := f.env.WithToken(f.actors.FinanceTeam)
	submit := func() string {
		res := fin.Do(t, "POST", "/v1/expenses", `{"payee":"Hetzner","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"400"},"description":"Server"}`)
		if res.Status != http.StatusOK {
			t.Fatalf("submit: %d %s", res.Status, res.Body)
		}
		return res.JSON(t)["name"].(string)
	}
	var approved []string
	for range 16 {
		e := submit()
		f.must(t, "POST", "/v1/"+e+":approve", `{}`)
		approved = append(approved, e)
	}
	unapproved := submit()
	var calls []batchCall
	for _, e := range approved[:15] {
		calls = append(calls, batchCall{path: "/v1/" + e + ":pay", body: `{"requestId":"` + rid() + `"}`, wantStatus: http.StatusOK})
	}
	dup := rid()
	for range 3 {
		calls = append(calls, batchCall{path: "/v1/" + approved[15] + ":pay", body: `{"requestId":"` + dup + `"}`, wantStatus: http.StatusOK, group: dup})
	}
	for range 4 {
		calls = append(calls, batchCall{path: "/v1/" + unapproved + ":pay", body: `{"requestId":"` + rid() + `"}`, wantStatus: http.StatusBadRequest, wantReason: "ILLEGAL_TRANSITION"})
	}
	f.storedAsReplied(t, calls, f.wave(t, calls))
	if n := f.count(t, `SELECT count(*) FROM transactions WHERE source = 'expense'`); n != 16 {
		t.Errorf("%d expense entries, want 16", n)
	}
	if n := f.count(t, `SELECT count(*) FROM expenses WHERE state = 'paid'`); n != 16 {
		t.Errorf("%d paid expenses, want 16", n)
	}
	f.shared(t, "expense payments", 16, `source = 'expense'`)
	most := f.count(t, `SELECT coalesce(max(n), 0)::int FROM (SELECT count(*) AS n FROM transactions WHERE source = 'expense' GROUP BY xmin::text, cmin::text) x`)
	if most < 2 {
		t.Errorf("no two of the concurrent expense payments were written by one statement")
	}
	// A paid expense paid again is returned as it is, and posts nothing.
	if res := f.admin.Do(t, "POST", "/v1/"+approved[0]+":pay", `{"requestId":"`+rid()+`"}`); res.Status != http.StatusOK || field(t, res.Body, "state") != "STATE_PAID" {
		t.Errorf("paying a paid expense: HTTP %d %s", res.Status, res.Body)
	}
	if n := f.count(t, `SELECT count(*) FROM transactions WHERE source = 'expense'`); n != 16 {
		t.Errorf("%d expense entries after paying a paid one, want 16", n)
	}
	f.checkLedger(t)
}

// Concurrent subscription and sponsorship payments share transactions:
// each payment of one subscription moves its due date on once, a request id
// replays, and a cancelled subscription's payment fails alone.
func TestRecurringPaymentsWrittenTogether(t *testing.T) {
	t.Parallel()
	f := start(t)
	sub := f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"A","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)
	due := sub["nextDueDate"]
	cancelled := f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"B","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)["name"].(string)
	f.must(t, "POST", "/v1/"+cancelled+":cancel", `{}`)
	sp := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"O","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"700"},"period":"INTERVAL_YEAR"}`)["name"].(string)
	var calls []batchCall
	for range 12 {
		calls = append(calls,
			batchCall{path: "/v1/" + sub["name"].(string) + ":recordPayment", body: `{"requestId":"` + rid() + `"}`, wantStatus: http.StatusOK},
			batchCall{path: "/v1/" + sp + ":recordPayment", body: `{"requestId":"` + rid() + `"}`, wantStatus: http.StatusOK})
	}
	dupSub, dupSp := rid(), rid()
	for range 3 {
		calls = append(calls,
			batchCall{path: "/v1/" + sub["name"].(string) + ":recordPayment", body: `{"requestId":"` + dupSub + `"}`, wantStatus: http.StatusOK, group: dupSub},
			batchCall{path: "/v1/" + sp + ":recordPayment", body: `{"requestId":"` + dupSp + `"}`, wantStatus: http.StatusOK, group: dupSp})
	}
	calls = append(calls, batchCall{path: "/v1/" + cancelled + ":recordPayment", body: `{"requestId":"` + rid() + `"}`, wantStatus: http.StatusBadRequest, wantReason: "ILLEGAL_TRANSITION"})
	f.wave(t, calls)
	if n := f.count(t, `SELECT count(*) FROM transactions WHERE source = 'subscription'`); n != 13 {
		t.Errorf("%d subscription payments, want 13", n)
	}
	if n := f.count(t, `SELECT count(*) FROM transactions WHERE source = 'sponsorship'`); n != 13 {
		t.Errorf("%d sponsorship payments, want 13", n)
	}
	f.shared(t, "subscription and sponsorship payments", 26, `source IN ('subscription', 'sponsorship')`)
	// Thirteen payments move the due date on by thirteen months.
	got := f.admin.Do(t, "GET", "/v1/"+sub["name"].(string), "").JSON(t)["nextDueDate"]
	d, err := time.Parse(time.DateOnly, fmt.Sprint(due))
	if err != nil {
		t.Fatalf("due date %v: %v", due, err)
	}
	g, err := time.Parse(time.DateOnly, fmt.Sprint(got))
	if err != nil {
		t.Fatalf("due date %v: %v", got, err)
	}
	if months := (g.Year()-d.Year())*12 + int(g.Month()-d.Month()); months != 13 {
		t.Errorf("next due date %v after 13 payments from %v: %d months on, want 13", got, due, months)
	}
	// However they were written (in the entries statement, or again under
	// the deal's row lock when another payment changed it first).
	if n := f.count(t, `SELECT payment_count FROM subscriptions WHERE id = $1`, resource.ID("subscriptions", sub["name"].(string))); n != 13 {
		t.Errorf("subscription counts %d payments, want 13", n)
	}
	if paid := f.count(t, `SELECT paid::int FROM sponsorships WHERE id = $1`, resource.ID("sponsorships", sp)); paid != 13*700 {
		t.Errorf("sponsorship paid %d, want %d", paid, 13*700)
	}
	f.checkLedger(t)
}

// storedAsReplied checks that each call of a wave that succeeded is stored
// as its reply says, byte for byte.
func (f *fixture) storedAsReplied(t *testing.T, calls []batchCall, replies [][]byte) {
	t.Helper()
	for i, r := range replies {
		if r == nil || calls[i].wantStatus != http.StatusOK {
			continue
		}
		name := field(t, r, "name")
		if res := f.admin.Do(t, "GET", "/v1/"+name, ""); !bytes.Equal(res.Body, r) {
			t.Errorf("stored %s differs from its reply:\n%s\n%s", name, res.Body, r)
		}
	}
}
