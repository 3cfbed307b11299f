package finance_test

import (
	"context"
	"testing"
	"time"
)

// Donations and expenses reach membership as activity through the outbox.
func TestActivityReachesMembership(t *testing.T) {
	f := start(t)
	f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"500"},"donor":"people/member","channel":"CHANNEL_CASH"}`)
	if res := f.env.WithToken(f.actors.Lead).Do(t, "POST", "/v1/expenses", `{"payee":"X","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"100"},"description":"d"}`); res.Status != 200 {
		t.Fatalf("expense: %s", res.Body)
	}
	members := f.env.DB(t, "membership")
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		_ = members.QueryRow(ctx, `SELECT count(*) FROM activity_events WHERE (person_id, kind) IN (('member', 'finance.donation'), ('lead', 'finance.expense'))`).Scan(&n)
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 activity events arrived", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var queued int
	_ = f.env.DB(t, "finance").QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&queued)
	if queued != 0 {
		t.Errorf("%d messages still queued", queued)
	}
}
