package finance_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

// Payments of different subscriptions and sponsorships, made at once, are
// written together in one statement, each stored as its reply says: a
// subscription's next due date and payment count, a deal's paid total,
// update time and etag, computed before the write, are what a read finds
// after it. A deal's first payment (it becomes ACTIVE) is made beside them,
// and a request id replays its first answer.
func TestPaymentsOfManyDealsWrittenTogether(t *testing.T) {
	t.Parallel()
	f := start(t)
	var calls []batchCall
	var subs, deals []string
	for range 12 {
		sub := f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"S","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH","nextDueDate":"2026-01-31"}`)["name"].(string)
		subs = append(subs, sub)
		calls = append(calls, batchCall{path: "/v1/" + sub + ":recordPayment", body: `{"requestId":"` + rid() + `"}`, wantStatus: http.StatusOK})
	}
	for i := range 12 {
		deal := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"O","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"700"},"period":"INTERVAL_YEAR"}`)["name"].(string)
		if i%3 != 0 { // the others' payment below is their first
			f.must(t, "POST", "/v1/"+deal+":recordPayment", `{"requestId":"`+rid()+`"}`)
		}
		deals = append(deals, deal)
		calls = append(calls, batchCall{path: "/v1/" + deal + ":recordPayment", body: `{"requestId":"` + rid() + `"}`, wantStatus: http.StatusOK})
	}
	replies := f.wave(t, calls)
	f.storedAsReplied(t, calls, replies)
	for i, sub := range subs {
		if due, n := field(t, replies[i], "nextDueDate"), f.count(t, `SELECT payment_count FROM subscriptions WHERE id = $1`, resource.ID("subscriptions", sub)); due != "2026-02-28" || n != 1 {
			t.Errorf("%s after one payment: due %s, %d payments; want 2026-02-28, 1", sub, due, n)
		}
	}
	for i, deal := range deals {
		want := 1400
		if i%3 == 0 {
			want = 700
		}
		if paid := f.count(t, `SELECT paid::int FROM sponsorships WHERE id = $1`, resource.ID("sponsorships", deal)); paid != want {
			t.Errorf("%s paid %d, want %d", deal, paid, want)
		}
	}
	if n := f.count(t, `SELECT count(*) FROM payments pm JOIN transactions t ON t.id = pm.transaction_id`); n != 32 {
		t.Errorf("%d payments, want 32 (12 subscriptions', 8 first and 12 next sponsorship payments)", n)
	}
	// Several went in by one statement (entries.go).
	most := f.count(t, `SELECT coalesce(max(n), 0)::int FROM (SELECT count(*) AS n FROM transactions
		WHERE source IN ('subscription', 'sponsorship') GROUP BY xmin::text, cmin::text) x`)
	if most < 2 {
		t.Errorf("no two of the concurrent payments were written by one statement")
	}
	// A retry answers as the first time, and pays nothing more.
	if res := f.admin.Do(t, "POST", calls[0].path, calls[0].body); res.Status != http.StatusOK || string(res.Body) != string(replies[0]) {
		t.Errorf("retried payment: HTTP %d %s, want the first answer %s", res.Status, res.Body, replies[0])
	}
	if n := f.count(t, `SELECT payment_count FROM subscriptions WHERE id = $1`, resource.ID("subscriptions", subs[0])); n != 1 {
		t.Errorf("%s has %d payments after a retry, want 1", subs[0], n)
	}
	f.checkLedger(t)
}

// A payment prepared from a row (subscription, sponsorship, expense) that
// has changed since is refused by the statement that moves the row on
// (GHL02, migration 00015), and its transaction writes nothing: the service
// then makes it under the row's lock instead.
func TestPaymentOfChangedRowStops(t *testing.T) {
	t.Parallel()
	f := start(t)
	db := f.env.DB(t, "finance")
	ctx := context.Background()
	q := store.New()
	sub := resource.ID("subscriptions", f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"S","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)["name"].(string))
	deal := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"O","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"700"},"period":"INTERVAL_YEAR"}`)["name"].(string)
	f.must(t, "POST", "/v1/"+deal+":recordPayment", `{"requestId":"`+rid()+`"}`)
	deal = resource.ID("sponsorships", deal)
	fin := f.env.WithToken(f.actors.FinanceTeam)
	res := fin.Do(t, "POST", "/v1/expenses", `{"payee":"Hetzner","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"500"},"description":"Server"}`)
	if res.Status != http.StatusOK {
		t.Fatalf("submit: %d %s", res.Status, res.Body)
	}
	expense := res.JSON(t)["name"].(string)
	f.must(t, "POST", "/v1/"+expense+":approve", `{}`)
	expense = resource.ID("expenses", expense)
	// pay writes an entry paying row (sub, deal or expense) as read at
	// version, as recordPayments does: the entries statement, then the
	// row's, in one transaction.
	pay := func(row, version string, due time.Time) error {
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		id, now := uuid.Must(uuid.NewV7()).String(), time.Now()
		p := store.RecordEntriesParams{Ids: []string{id}, Descriptions: []string{"payment"},
			EffectiveTimes: []time.Time{now}, Sources: []string{"subscription"}, Creators: []string{"people/x"}, CreateTimes: []time.Time{now},
			Reverses: []string{""}, Hidden: []bool{false},
			PostingItems: []int32{1, 1}, PostingSeqs: []int32{1, 2}, PostingAccounts: []string{"bank", "subscriptions"},
			PostingCurrencies: []string{"USD", "USD"}, PostingAmounts: []int64{500, -500}}
		switch row {
		case expense:
			p.Sources[0], p.PostingAccounts = "expense", []string{"hosting", "bank"}
		case deal:
			p.Sources[0] = "sponsorship"
		}
		if _, err := q.RecordEntries(ctx, tx, p); err != nil {
			t.Fatal(err)
		}
		switch row {
		case expense:
			err = q.RecordExpensePayments(ctx, tx, store.RecordExpensePaymentsParams{TransactionIds: []string{id}, Ids: []string{row}, Versions: []string{version},
				Actors: []string{"people/x"}, Times: []time.Time{now}})
		case deal:
			err = q.RecordSponsorshipPayments(ctx, tx, store.RecordSponsorshipPaymentsParams{TransactionIds: []string{id}, Ids: []string{row}, Versions: []string{version},
				Amounts: []int64{500}, UpdateTimes: []time.Time{now}})
		default:
			err = q.RecordSubscriptionPayments(ctx, tx, store.RecordSubscriptionPaymentsParams{TransactionIds: []string{id}, Ids: []string{row}, Versions: []string{version},
				DueDates: []time.Time{due}, UpdateTimes: []time.Time{now}})
		}
		if err != nil {
			return err
		}
		return tx.Commit(ctx)
	}
	stale := func(what string, err error) {
		t.Helper()
		if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "GHL02" {
			t.Errorf("%s paid from a changed row: %v, want GHL02", what, err)
		}
	}
	before := f.count(t, `SELECT count(*) FROM transactions`)

	read, err := q.GetSubscriptionForPayment(ctx, db, sub)
	if err != nil {
		t.Fatal(err)
	}
	f.must(t, "POST", "/v1/subscriptions/"+sub+":pause", `{}`)
	stale("a paused subscription", pay(sub, read.Version, read.FollowingDueDate))
	d, err := q.GetSponsorshipForPayment(ctx, db, deal)
	if err != nil {
		t.Fatal(err)
	}
	f.must(t, "POST", "/v1/sponsorships/"+deal+":recordPayment", `{"requestId":"`+rid()+`"}`)
	stale("a deal paid since", pay(deal, d.Version, time.Time{}))
	e, err := q.GetExpenseForPayment(ctx, db, expense)
	if err != nil {
		t.Fatal(err)
	}
	f.must(t, "POST", "/v1/expenses/"+expense+":cancel", `{}`)
	stale("a cancelled expense", pay(expense, e.Version, time.Time{}))
	if n := f.count(t, `SELECT count(*) FROM transactions`); n != before+1 {
		t.Errorf("%d entries after three refused payments and one made, want %d", n, before+1)
	}
	if st := f.count(t, `SELECT count(*) FROM expenses WHERE id = $1 AND state = 'cancelled' AND transaction_id IS NULL`, expense); st != 1 {
		t.Errorf("the cancelled expense was paid by a refused payment")
	}
	if n := f.count(t, `SELECT payment_count FROM subscriptions WHERE id = $1`, sub); n != 0 {
		t.Errorf("subscription counts %d payments after a refused one, want 0", n)
	}

	// From the row as it is now, the same statements pay.
	if read, err = q.GetSubscriptionForPayment(ctx, db, sub); err != nil {
		t.Fatal(err)
	}
	if err := pay(sub, read.Version, read.FollowingDueDate); err != nil {
		t.Fatalf("payment from the current row: %v", err)
	}
	if n := f.count(t, `SELECT payment_count FROM subscriptions WHERE id = $1`, sub); n != 1 {
		t.Errorf("subscription counts %d payments, want 1", n)
	}
	f.checkLedger(t)
}
