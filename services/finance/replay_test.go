package finance_test

import (
	"context"
	"net/http"
	"testing"
)

// A request id is scoped to its caller (as Stripe scopes keys per account):
// another caller sending the same id, with the same body or another, gets
// its own result and never the first caller's reply. Donations (written in
// shared batches) and manual entries (written one by one) both hold to it.
func TestRequestIDReplayIsScopedPerCaller(t *testing.T) {
	f := start(t)
	financer := f.env.WithToken(f.actors.FinanceTeam)
	for _, c := range []struct{ path, body, table string }{
		{"/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"2500"},"donorName":"Jean","visibility":"VISIBILITY_PRIVATE","channel":"CHANNEL_PAYPAL"}`, "donations"},
		{"/v1/transactions", `{"description":"move","postings":[{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"100"}},{"account":"accounts/cash","amount":{"currencyCode":"USD","minorUnits":"-100"}}]}`, "transactions WHERE source = 'manual'"},
	} {
		id := rid()
		first := financer.Do(t, "POST", c.path+"?requestId="+id, c.body)
		if first.Status != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", c.path, first.Status, first.Body)
		}
		other := f.admin.Do(t, "POST", c.path+"?requestId="+id, c.body)
		if other.Status != http.StatusOK {
			t.Fatalf("%s by another caller: HTTP %d %s", c.path, other.Status, other.Body)
		}
		if other.JSON(t)["name"] == first.JSON(t)["name"] {
			t.Errorf("%s: another caller with the same request id received the first caller's reply %s", c.path, other.Body)
		}
		again := financer.Do(t, "POST", c.path+"?requestId="+id, c.body)
		if again.Status != http.StatusOK || again.JSON(t)["name"] != first.JSON(t)["name"] {
			t.Errorf("%s: the first caller's retry got HTTP %d %s, want its own reply", c.path, again.Status, again.Body)
		}
		var n int
		if err := f.env.DB(t, "finance").QueryRow(context.Background(), "SELECT count(*) FROM "+c.table).Scan(&n); err != nil || n != 2 {
			t.Errorf("%s: %d rows (%v), want 2: one per caller", c.table, n, err)
		}
	}
}
