package finance_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestManualEntryAndReversal(t *testing.T) {
	f := start(t)
	rec := f.env.WithToken(f.actors.FinanceTeam)
	res := rec.Do(t, "POST", "/v1/transactions?requestId="+rid(), `{"description":"Opening balance","postings":[
		{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"100000"}},
		{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-100000"}}]}`)
	if res.Status != http.StatusOK {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	tx := res.JSON(t)
	name := tx["name"].(string)
	if tx["source"] != "SOURCE_MANUAL" || len(tx["postings"].([]any)) != 2 {
		t.Fatalf("unexpected entry %v", tx)
	}
	rev := rec.Do(t, "POST", "/v1/"+name+":reverse", `{"reason":"typo"}`)
	if rev.Status != http.StatusOK {
		t.Fatalf("reverse: %d %s", rev.Status, rev.Body)
	}
	r := rev.JSON(t)
	if r["reverses"] != name {
		t.Errorf("reversal links to %v, want %s", r["reverses"], name)
	}
	orig := rec.Do(t, "GET", "/v1/"+name, "").JSON(t)
	if orig["reversedBy"] != r["name"] {
		t.Errorf("original links to %v, want %v", orig["reversedBy"], r["name"])
	}
	again := rec.Do(t, "POST", "/v1/"+name+":reverse", `{}`)
	if again.Status != http.StatusBadRequest || again.RPCStatus(t).Reason() != "ALREADY_REVERSED" {
		t.Errorf("second reversal: %d %s", again.Status, again.Body)
	}
	f.checkLedger(t)
	bank := f.env.Do(t, "GET", "/v1/accounts/bank", "").JSON(t)
	if bal := bank["balance"].(map[string]any); bal["minorUnits"] != nil && bal["minorUnits"] != "0" {
		t.Errorf("bank balance after reversal %v", bal)
	}
}

func TestManualEntryBadInput(t *testing.T) {
	f := start(t)
	cases := []struct{ name, body, field string }{
		{"unbalanced", `{"postings":[{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"100"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-99"}}]}`, "transaction.postings"},
		{"one posting", `{"postings":[{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"100"}}]}`, "transaction.postings"},
		{"wrong currency", `{"postings":[{"account":"accounts/bank","amount":{"currencyCode":"EUR","minorUnits":"100"}},{"account":"accounts/eur-bank","amount":{"currencyCode":"EUR","minorUnits":"-100"}}]}`, "transaction.postings[0]"},
		{"unknown currency", `{"postings":[{"account":"accounts/bank","amount":{"currencyCode":"XYZ","minorUnits":"100"}},{"account":"accounts/equity","amount":{"currencyCode":"XYZ","minorUnits":"-100"}}]}`, "transaction.postings[0].amount.currencyCode"},
		{"unknown account", `{"postings":[{"account":"accounts/nope","amount":{"currencyCode":"USD","minorUnits":"100"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-100"}}]}`, "transaction.postings[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.admin.Do(t, "POST", "/v1/transactions", c.body)
			if res.Status != http.StatusBadRequest {
				t.Fatalf("HTTP %d %s", res.Status, res.Body)
			}
			if fields := res.RPCStatus(t).Fields(); !contains(fields, c.field) {
				t.Errorf("fields %v, want %s", fields, c.field)
			}
		})
	}
	var n int
	if err := f.env.DB(t, "finance").QueryRow(context.Background(), `SELECT count(*) FROM transactions`).Scan(&n); err != nil || n != 0 {
		t.Errorf("stored %d transactions (%v)", n, err)
	}
}

// The database itself refuses unbalanced and edited entries.
func TestLedgerEnforcedInDatabase(t *testing.T) {
	f := start(t)
	db := f.env.DB(t, "finance")
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO transactions (id, effective_time, source) VALUES ('018f0000-0000-7000-8000-000000000001', now(), 'manual');
		INSERT INTO postings VALUES ('018f0000-0000-7000-8000-000000000001', 1, 'bank', 'USD', 100),
		                            ('018f0000-0000-7000-8000-000000000001', 2, 'equity', 'USD', -99)`)
	if err != nil {
		t.Fatalf("inserts fail only at commit, got %v", err)
	}
	if err := tx.Commit(ctx); err == nil || !strings.Contains(err.Error(), "does not balance") {
		t.Fatalf("commit of an unbalanced entry: %v", err)
	}
	// A lone transaction without postings is refused too.
	if _, err := db.Exec(ctx, `INSERT INTO transactions (id, effective_time, source) VALUES ('018f0000-0000-7000-8000-000000000002', now(), 'manual')`); err == nil {
		t.Fatal("an entry without postings was accepted")
	}
	// A balanced one goes in, and then cannot be changed or removed.
	if _, err := db.Exec(ctx, `INSERT INTO transactions (id, effective_time, source) VALUES ('018f0000-0000-7000-8000-000000000003', now(), 'manual');
		INSERT INTO postings VALUES ('018f0000-0000-7000-8000-000000000003', 1, 'bank', 'USD', 100),
		                            ('018f0000-0000-7000-8000-000000000003', 2, 'equity', 'USD', -100)`); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE postings SET amount = 1 WHERE transaction_id = '018f0000-0000-7000-8000-000000000003'`,
		`DELETE FROM postings WHERE transaction_id = '018f0000-0000-7000-8000-000000000003'`,
		`UPDATE transactions SET description = 'x'`,
		`DELETE FROM transactions`,
		`TRUNCATE postings CASCADE`,
	} {
		if _, err := db.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "immutable") {
			t.Errorf("%s: %v", q, err)
		}
	}
	// A posting in a currency not its account's is refused at commit.
	if _, err := db.Exec(ctx, `INSERT INTO transactions (id, effective_time, source) VALUES ('018f0000-0000-7000-8000-000000000004', now(), 'manual');
		INSERT INTO postings VALUES ('018f0000-0000-7000-8000-000000000004', 1, 'bank', 'EUR', 100),
		                            ('018f0000-0000-7000-8000-000000000004', 2, 'eur-bank', 'EUR', -100)`); err == nil {
		t.Error("a posting in the wrong currency was accepted")
	}
	// Postings added later to an entry already in the ledger are checked at
	// commit too, once all of them are in: unbalanced ones are refused, a
	// balanced pair sent in two statements goes in.
	if _, err := db.Exec(ctx, `INSERT INTO postings VALUES ('018f0000-0000-7000-8000-000000000003', 3, 'bank', 'USD', 5)`); err == nil ||
		!strings.Contains(err.Error(), "does not balance") {
		t.Errorf("an unbalanced posting added to an older entry: %v", err)
	}
	tx, err = db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO postings VALUES ('018f0000-0000-7000-8000-000000000003', 3, 'bank', 'USD', 5)`,
		`INSERT INTO postings VALUES ('018f0000-0000-7000-8000-000000000003', 4, 'equity', 'USD', -5)`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Errorf("a balanced pair added to an older entry in two statements: %v", err)
	}
	// The same under a savepoint, for an entry inserted under it.
	tx, err = db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SAVEPOINT s; INSERT INTO transactions (id, effective_time, source) VALUES ('018f0000-0000-7000-8000-000000000005', now(), 'manual');
		INSERT INTO postings VALUES ('018f0000-0000-7000-8000-000000000005', 1, 'bank', 'USD', 100), ('018f0000-0000-7000-8000-000000000005', 2, 'equity', 'USD', -90);
		RELEASE SAVEPOINT s`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err == nil || !strings.Contains(err.Error(), "does not balance") {
		t.Errorf("commit of an unbalanced entry inserted under a savepoint: %v", err)
	}
	f.checkLedger(t)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
