package finance_test

import (
	"context"
	"testing"

	"github.com/guildhall/guildhall/internal/apptest"
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
	var income, hosting int64
	_ = db.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM donations), (SELECT count(*) FROM transactions),
		(SELECT -sum(amount) FROM postings p JOIN accounts a ON a.id = p.account_id WHERE a.type = 'income'),
		(SELECT sum(amount) FROM postings WHERE account_id = 'hosting')`).Scan(&donations, &entries, &income, &hosting)
	if donations != 48 || entries != 60 {
		t.Errorf("%d donations, %d entries; want 48 and 60", donations, entries)
	}
	if income/12 != 19500 || hosting/12 != 15000 {
		t.Errorf("monthly income %d, hosting %d", income/12, hosting/12)
	}
	g := env.Do(t, "GET", "/v1/goals/development-money", "").JSON(t)
	if g["progress"].(map[string]any)["minorUnits"] != "24000" {
		t.Errorf("goal progress %v", g["progress"])
	}
}
