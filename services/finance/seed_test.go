package finance_test

import (
	"context"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/services/finance"
)

func TestSeedSMEIsIdempotent(t *testing.T) {
	env := apptest.Start(t)
	ctx := apptest.Outgoing(context.Background(), apptest.AdminToken)
	for i := 0; i < 2; i++ {
		if err := finance.SeedSME(ctx, env.Conn); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	db := env.DB(t, "finance")
	var donations, entries int
	var income, hosting, lowestPayPal int64
	_ = db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM donations), (SELECT count(*) FROM transactions),
		(SELECT -sum(amount) FROM postings p JOIN accounts a ON a.id = p.account_id WHERE a.type = 'income'),
		(SELECT sum(amount) FROM postings WHERE account_id = 'hosting'),
		(SELECT min(running) FROM (SELECT sum(p.amount) OVER (ORDER BY t.effective_time, t.id, p.seq) AS running
			FROM postings p JOIN transactions t ON t.id = p.transaction_id WHERE p.account_id = 'paypal') r)`).
		Scan(&donations, &entries, &income, &hosting, &lowestPayPal)
	// 48 gifts, and each month a PayPal top-up and the hosting bill.
	if donations != 48 || entries != 72 {
		t.Errorf("%d donations, %d entries; want 48 and 72", donations, entries)
	}
	if lowestPayPal < 0 {
		t.Errorf("the PayPal balance goes below zero (%d): the books would show an overdrawn account", lowestPayPal)
	}
	if income/12 != 19500 || hosting/12 != 15000 {
		t.Errorf("monthly income %d, hosting %d", income/12, hosting/12)
	}
	g := env.Do(t, "GET", "/v1/goals/development-money", "").JSON(t)
	if g["progress"].(map[string]any)["minorUnits"] != "24000" {
		t.Errorf("goal progress %v", g["progress"])
	}
}
