package finance_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/actas"
	"github.com/guildhall/guildhall/services/finance"
	"github.com/guildhall/guildhall/services/membership"
	"github.com/guildhall/guildhall/services/roadmap"
)

// TestSeedSMEIsIdempotent loads the books after the people and the roadmap
// they refer to, twice, as `guildhall seed` does.
func TestSeedSMEIsIdempotent(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	admin := actas.Admin(apptest.AdminToken, map[string]grpc.ClientConnInterface{"membership": env.Conn})
	defer func() { _ = actas.Close(ctx, admin) }()
	if err := membership.SeedSME(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if err := roadmap.SeedSME(ctx, admin); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := finance.SeedSME(ctx, admin); err != nil {
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
	// 48 gifts, each month a PayPal top-up and the hosting bill, and one
	// opening-balance entry (not repeated by the second run).
	if donations != 48 || entries != 73 {
		t.Errorf("%d donations, %d entries; want 48 and 73", donations, entries)
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
	// The goal says what it pays for and links the v9 work.
	item, _ := g["roadmapItem"].(string)
	if !strings.Contains(g["description"].(string), "Charlie and Shad") || !strings.HasPrefix(item, "items/") {
		t.Fatalf("goal %v", g)
	}
	if it := env.Do(t, "GET", "/v1/"+item, "").JSON(t); it["title"] != "Move the base to CentOS 6" || it["release"] != "releases/v9" {
		t.Errorf("the goal pays for %v", it)
	}
	// Hosting is paid back to the person who runs the site, through the
	// expenses he submits; the treasurer approved and recorded the gifts.
	var paid, bySite, approvedByTreasurer, recordedByTreasurer int
	_ = db.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM expenses WHERE state = 'paid' AND category = 'hosting'),
		(SELECT count(*) FROM expenses WHERE submitter = 'people/slords'),
		(SELECT count(DISTINCT expense_id) FROM expense_events WHERE action = 'approve' AND actor = 'people/tkeane'),
		(SELECT count(*) FROM donations WHERE recorder = 'people/tkeane')`).Scan(&paid, &bySite, &approvedByTreasurer, &recordedByTreasurer)
	if paid != 12 || bySite != 12 || approvedByTreasurer != 12 || recordedByTreasurer != 48 {
		t.Errorf("hosting expenses paid %d, by Shad %d, approved by Tony %d; donations recorded by Tony %d", paid, bySite, approvedByTreasurer, recordedByTreasurer)
	}
}
