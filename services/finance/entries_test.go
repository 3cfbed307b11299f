package finance_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/guildhall/guildhall/internal/events"
)

// manualEntry is the body of a manual entry moving amount from equity to
// account (USD).
func manualEntry(desc string, amount int64, account string) string {
	return fmt.Sprintf(`{"description":%q,"postings":[{"account":"accounts/%s","amount":{"currencyCode":"USD","minorUnits":"%d"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"%d"}}]}`,
		desc, account, amount, -amount)
}

// The manual entries of a shared transaction go in as one statement. A
// wave of concurrent entries, some refused by the database (a constraint,
// an account deleted under the service's cache, a balance taken beyond its
// bound) and some by the service's own checks, commits every good entry,
// each stored as its reply says, with exact balances, and refuses each bad
// one with the error it gets when written alone. Replaying every request id
// afterwards, all at once, returns the first answers byte for byte; the
// same id with another body is refused.
func TestManualEntriesInOneStatement(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.refuseDescriptions(t)
	ctx := context.Background()
	db := f.env.DB(t, "finance")
	// An account the service has seen (its currency is cached) and that is
	// then deleted behind its back: only the database notices.
	f.must(t, "POST", "/v1/accounts?accountId=doomed", `{"displayName":"Doomed","type":"TYPE_EXPENSE","currencyCode":"USD"}`)
	if res := f.admin.Do(t, "POST", "/v1/transactions", `{"description":"unbalanced","postings":[{"account":"accounts/doomed","amount":{"currencyCode":"USD","minorUnits":"1"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-2"}}]}`); res.Status != http.StatusBadRequest {
		t.Fatalf("unbalanced entry: HTTP %d %s", res.Status, res.Body)
	}
	if _, err := db.Exec(ctx, `DELETE FROM accounts WHERE id = 'doomed'`); err != nil {
		t.Fatal(err)
	}
	// Travel near its bound (10^15 minor units): 2*10^14 more is refused.
	const near = 900_000_000_000_000
	f.must(t, "POST", "/v1/transactions", manualEntry("Near", near, "travel"))

	// Good entries alone first: some share a statement.
	var calls []batchCall
	var wantBank int64
	for i := int64(1); i <= 24; i++ {
		calls = append(calls, batchCall{path: "/v1/transactions?requestId=" + rid(), body: manualEntry("Plain", i, "bank"), wantStatus: http.StatusOK})
		wantBank += i
	}
	once := rid()
	for range 3 {
		calls = append(calls, batchCall{path: "/v1/transactions?requestId=" + once, body: manualEntry("Twice", 4000, "bank"), wantStatus: http.StatusOK, group: once})
	}
	wantBank += 4000
	first := f.wave(t, calls)
	// Rows one statement inserted share its transaction and command id.
	most := f.count(t, `SELECT coalesce(max(n), 0)::int FROM (SELECT count(*) AS n FROM transactions WHERE description = 'Plain' GROUP BY xmin::text, cmin::text) x`)
	if most < 2 {
		t.Errorf("no two of 24 concurrent manual entries were written by one statement")
	}
	t.Logf("up to %d manual entries in one statement", most)

	// Then good and bad ones together.
	for i := int64(25); i <= 48; i++ {
		calls = append(calls, batchCall{path: "/v1/transactions?requestId=" + rid(), body: manualEntry("Plain", i, "bank"), wantStatus: http.StatusOK})
		wantBank += i
		if i%12 == 0 {
			calls = append(calls, batchCall{path: "/v1/transactions", body: manualEntry("Plain", i, "bank"), wantStatus: http.StatusOK})
			wantBank += i
		}
	}
	dup := rid()
	for range 3 {
		calls = append(calls, batchCall{path: "/v1/transactions?requestId=" + dup, body: manualEntry("Twice", 5000, "bank"), wantStatus: http.StatusOK, group: dup})
	}
	wantBank += 5000
	good := len(calls)
	calls = append(calls,
		batchCall{path: "/v1/transactions?requestId=" + rid(), body: manualEntry("Refused", 7, "bank"), wantStatus: http.StatusBadRequest, wantReason: "LEDGER_RULE"},
		batchCall{path: "/v1/transactions?requestId=" + rid(), body: manualEntry("Gone", 7, "doomed"), wantStatus: http.StatusBadRequest, wantReason: "ACCOUNT_NOT_FOUND"},
		batchCall{path: "/v1/transactions?requestId=" + rid(), body: manualEntry("Beyond", 200_000_000_000_000, "travel"), wantStatus: http.StatusBadRequest, wantReason: "AMOUNT_OUT_OF_RANGE"},
		batchCall{path: "/v1/transactions?requestId=" + rid(), body: `{"description":"Unbalanced","postings":[{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"3"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-2"}}]}`,
			wantStatus: http.StatusBadRequest, wantField: "transaction.postings"})
	replies := append(first, f.wave(t, calls[len(first):])...)

	for i, r := range replies[:good] {
		if r == nil {
			continue
		}
		name := field(t, r, "name")
		if res := f.admin.Do(t, "GET", "/v1/"+name, ""); !bytes.Equal(res.Body, r) {
			t.Errorf("call %d: stored %s differs from its reply:\n%s\n%s", i, name, res.Body, r)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM transactions WHERE description IN ('Plain', 'Twice')`); n != 52 {
		t.Errorf("%d entries stored, want 52 (50 + one for each request id sent three times)", n)
	}
	if n := f.count(t, `SELECT count(*) FROM transactions WHERE description IN ('Refused', 'Gone', 'Beyond', 'Unbalanced')`); n != 0 {
		t.Errorf("%d refused entries stored", n)
	}
	if n := f.count(t, `SELECT coalesce(sum(amount), 0)::bigint FROM postings WHERE account_id = 'bank'`); int64(n) != wantBank {
		t.Errorf("bank %d, want %d", n, wantBank)
	}
	if got := units(f.admin.Do(t, "GET", "/v1/accounts/bank", "").JSON(t)["balance"]); got != fmt.Sprint(wantBank) {
		t.Errorf("bank balance %s, want %d", got, wantBank)
	}
	if got := units(f.admin.Do(t, "GET", "/v1/accounts/travel", "").JSON(t)["balance"]); got != fmt.Sprint(near) {
		t.Errorf("travel balance %s, want %d", got, near)
	}
	// Each good entry's event reaches the event log through the outbox;
	// the refused entries' events do not.
	var names []string
	for _, r := range replies[:good] {
		if r != nil {
			names = append(names, field(t, r, "name"))
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	evdb := f.env.DB(t, "events")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var n int
		if err := evdb.QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1`, events.TransactionCreated).Scan(&n); err != nil {
			t.Fatal(err)
		}
		var mine int
		if err := evdb.QueryRow(ctx, `SELECT count(DISTINCT subject) FROM events WHERE type = $1 AND EXISTS (SELECT FROM unnest($2::text[]) s WHERE subject LIKE '%' || s)`,
			events.TransactionCreated, names).Scan(&mine); err != nil {
			t.Fatal(err)
		}
		// Every entry stored: the wave's, the one near the bound.
		if mine == len(names) && n == len(names)+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d TransactionCreated events for the wave's %d entries, %d in all (want %d)", mine, len(names), n, len(names)+1)
		}
	}
	f.checkLedger(t)

	// Every request id again, all at once: the first answers.
	var again []batchCall
	var want [][]byte
	for i, c := range calls[:good] {
		if c.path != "/v1/transactions" {
			again = append(again, c)
			want = append(want, replies[i])
		}
	}
	reused := calls[0]
	reused.body, reused.wantStatus, reused.wantReason = manualEntry("Plain", 999, "bank"), http.StatusConflict, "REQUEST_ID_REUSED"
	for i, r := range f.wave(t, append(again, reused))[:len(again)] {
		if r != nil && !bytes.Equal(r, want[i]) {
			t.Errorf("replay of %s: got\n%s\nwant the first answer\n%s", again[i].path, r, want[i])
		}
	}
	if n := f.count(t, `SELECT count(*) FROM transactions WHERE description IN ('Plain', 'Twice')`); n != 52 {
		t.Errorf("%d entries stored after the replays, want 52", n)
	}
}

// Manual entries batched with other money-moving writes (subscription
// payments here) go in as one statement inside the shared transaction, the
// payments one by one after it; a refused entry among them fails alone.
// Batches form by timing, so waves are sent until one transaction held both
// a payment and a statement of several entries (up to five waves), each
// wave checked.
func TestManualEntriesBesideOtherWrites(t *testing.T) {
	t.Parallel()
	f := start(t)
	f.refuseDescriptions(t)
	var wantBank int64
	for wave := 1; ; wave++ {
		var subs []string
		for i := 1; i <= 8; i++ {
			subs = append(subs, f.must(t, "POST", "/v1/subscriptions", fmt.Sprintf(`{"subscriberName":"S%d","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`, i))["name"].(string))
		}
		var calls []batchCall
		for i, sub := range subs {
			calls = append(calls,
				batchCall{path: "/v1/" + sub + ":recordPayment", body: `{"requestId":"` + rid() + `"}`, wantStatus: http.StatusOK},
				batchCall{path: "/v1/transactions?requestId=" + rid(), body: manualEntry("Beside", int64(i+1), "bank"), wantStatus: http.StatusOK},
				batchCall{path: "/v1/transactions?requestId=" + rid(), body: manualEntry("Beside", int64(i+1), "bank"), wantStatus: http.StatusOK})
			wantBank += 2 * int64(i+1)
		}
		calls = append(calls, batchCall{path: "/v1/transactions?requestId=" + rid(), body: manualEntry("Refused", 7, "bank"), wantStatus: http.StatusBadRequest, wantReason: "LEDGER_RULE"})
		f.storedAsReplied(t, calls, f.wave(t, calls))
		if n := f.count(t, `SELECT count(*) FROM transactions WHERE description = 'Beside'`); n != 16*wave {
			t.Fatalf("%d entries stored, want %d", n, 16*wave)
		}
		if n := f.count(t, `SELECT count(*) FROM transactions WHERE source = 'subscription'`); n != 8*wave {
			t.Fatalf("%d subscription payments stored, want %d", n, 8*wave)
		}
		if n := f.count(t, `SELECT count(*) FROM transactions WHERE description = 'Refused'`); n != 0 {
			t.Fatalf("%d refused entries stored", n)
		}
		if n := f.count(t, `SELECT coalesce(sum(p.amount), 0)::bigint FROM postings p JOIN transactions t ON t.id = p.transaction_id
			WHERE p.account_id = 'bank' AND t.description = 'Beside'`); int64(n) != wantBank {
			t.Fatalf("bank %d from the entries, want %d", n, wantBank)
		}
		f.checkLedger(t)
		mixed := f.count(t, `SELECT count(*) FROM (SELECT xmin::text FROM transactions WHERE description = 'Beside'
			GROUP BY xmin::text, cmin::text HAVING count(*) > 1) s
			WHERE EXISTS (SELECT FROM transactions r WHERE r.source = 'subscription' AND r.xmin::text = s.xmin)`)
		if mixed > 0 {
			t.Logf("wave %d: %d transactions held subscription payments and a statement of several entries", wave, mixed)
			return
		}
		if wave == 5 {
			t.Fatalf("in five waves, no transaction held both subscription payments and a statement of several entries")
		}
	}
}
