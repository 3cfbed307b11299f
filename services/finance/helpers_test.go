package finance_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/app/apptest"
)

// chart is the chart of accounts every test starts from (all USD).
var chart = []struct{ id, typ string }{
	{"bank", "TYPE_ASSET"}, {"paypal", "TYPE_ASSET"}, {"cash", "TYPE_ASSET"},
	{"donations", "TYPE_INCOME"}, {"subscriptions", "TYPE_INCOME"}, {"sponsorship", "TYPE_INCOME"}, {"advertising", "TYPE_INCOME"},
	{"hosting", "TYPE_EXPENSE"}, {"travel", "TYPE_EXPENSE"}, {"equity", "TYPE_EQUITY"},
}

type fixture struct {
	env    *apptest.Env
	admin  *apptest.Env
	actors apptest.Actors
}

func start(t *testing.T, opts ...apptest.Option) *fixture {
	t.Helper()
	env := apptest.Start(t, opts...)
	f := &fixture{env: env, admin: env.WithToken(apptest.AdminToken), actors: env.Actors(t)}
	for _, a := range chart {
		f.must(t, "POST", "/v1/accounts?accountId="+a.id, fmt.Sprintf(`{"displayName":%q,"type":%q,"currencyCode":"USD"}`, a.id, a.typ))
	}
	f.must(t, "POST", "/v1/accounts?accountId=eur-bank", `{"displayName":"EUR bank","type":"TYPE_ASSET","currencyCode":"EUR"}`)
	return f
}

// must sends an admin request and fails the test unless it succeeds.
func (f *fixture) must(t testing.TB, method, path, body string) map[string]any {
	t.Helper()
	res := f.admin.Do(t, method, path, body)
	if res.Status != http.StatusOK {
		t.Fatalf("%s %s: HTTP %d\n%s", method, path, res.Status, res.Body)
	}
	return res.JSON(t)
}

func rid() string { return uuid.NewString() }

// balances checks the ledger invariants directly in SQL: every entry
// balances per currency and every account's balance is its postings' sum.
func (f *fixture) checkLedger(t *testing.T) {
	t.Helper()
	db := f.env.DB(t, "finance")
	ctx := context.Background()
	var bad int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM (SELECT transaction_id, currency_code FROM postings
		GROUP BY 1, 2 HAVING sum(amount) <> 0) x`).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("unbalanced transactions: %d (%v)", bad, err)
	}
	if err := db.QueryRow(ctx, `SELECT count(*) FROM accounts a
		WHERE coalesce((SELECT sum(amount) FROM account_balances b WHERE b.account_id = a.id), 0)
		   <> coalesce((SELECT sum(amount) FROM postings p WHERE p.account_id = a.id), 0)`).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("accounts whose balance is not the sum of their postings: %d (%v)", bad, err)
	}
	// The REST balance is the same figure for the books (the public one
	// leaves out the open month's PRIVATE gifts: see view.go).
	rows, err := db.Query(ctx, `SELECT a.id, coalesce(sum(p.amount), 0)::bigint FROM accounts a LEFT JOIN postings p ON p.account_id = a.id GROUP BY a.id`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for rows.Next() {
		var id string
		var sum int64
		if err := rows.Scan(&id, &sum); err != nil {
			t.Fatal(err)
		}
		want[id] = sum
	}
	rows.Close()
	for id, sum := range want {
		got := f.admin.Do(t, "GET", "/v1/accounts/"+id, "").JSON(t)
		if b := got["balance"].(map[string]any); fmt.Sprint(b["minorUnits"]) != fmt.Sprint(sum) && !(sum == 0 && b["minorUnits"] == nil) {
			t.Errorf("accounts/%s balance %v, postings sum %d", id, b["minorUnits"], sum)
		}
	}
}

func units(m any) string { return fmt.Sprint(m.(map[string]any)["minorUnits"]) }
