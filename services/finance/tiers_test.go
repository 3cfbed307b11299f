package finance_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// storedTier is a tier's row as stored.
type storedTier struct {
	displayName, description, currency, interval string
	amount, version                              int64
}

func (f *fixture) tierRow(t *testing.T, id string) (storedTier, bool) {
	t.Helper()
	var r storedTier
	err := f.env.DB(t, "finance").QueryRow(context.Background(),
		`SELECT display_name, description, currency_code, interval, amount, version FROM tiers WHERE id = $1`, id).
		Scan(&r.displayName, &r.description, &r.currency, &r.interval, &r.amount, &r.version)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatal(err)
	}
	return r, err == nil
}

func TestUpdateTier(t *testing.T) {
	f := start(t)
	created := f.must(t, "POST", "/v1/tiers?tierId=supporter",
		`{"displayName":"Supporter","description":"Name in the credits","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)
	if created["etag"] != "1" || created["updateTime"] == nil {
		t.Fatalf("created tier lacks etag or update time: %v", created)
	}

	// The mask limits the change: description is sent but not in the mask.
	res := f.admin.Do(t, "PATCH", "/v1/tiers/supporter?updateMask=display_name,amount",
		`{"displayName":"Backer","description":"ignored","amount":{"currencyCode":"USD","minorUnits":"700"},"etag":"1"}`)
	if res.Status != http.StatusOK {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	got := res.JSON(t)
	if got["displayName"] != "Backer" || got["description"] != "Name in the credits" || units(got["amount"]) != "700" ||
		got["interval"] != "INTERVAL_MONTH" || got["etag"] != "2" {
		t.Fatalf("updated tier: %v", got)
	}
	want := storedTier{displayName: "Backer", description: "Name in the credits", currency: "USD", interval: "month", amount: 700, version: 2}
	if row, _ := f.tierRow(t, "supporter"); row != want {
		t.Fatalf("stored %+v, want %+v", row, want)
	}

	// A stale etag loses: 409 and nothing changes.
	res = f.admin.Do(t, "PATCH", "/v1/tiers/supporter", `{"description":"late","etag":"1"}`)
	if res.Status != http.StatusConflict || res.RPCStatus(t).Reason() != "ETAG_MISMATCH" {
		t.Fatalf("stale etag: %d %s", res.Status, res.Body)
	}

	cases := []struct{ name, path, body, field string }{
		{"interval is fixed", "/v1/tiers/supporter?updateMask=interval", `{"interval":"INTERVAL_YEAR"}`, "updateMask"},
		{"currency is fixed", "/v1/tiers/supporter", `{"amount":{"currencyCode":"EUR","minorUnits":"700"}}`, "tier.amount.currencyCode"},
		{"zero amount", "/v1/tiers/supporter", `{"amount":{"currencyCode":"USD","minorUnits":"0"}}`, "tier.amount.minorUnits"},
		{"amount cleared", "/v1/tiers/supporter?updateMask=amount", `{}`, "tier.amount"},
		{"display name cleared", "/v1/tiers/supporter?updateMask=display_name", `{}`, "tier.displayName"},
		{"display name too long", "/v1/tiers/supporter", `{"displayName":"` + strings.Repeat("x", 201) + `"}`, "tier.displayName"},
		{"output-only field", "/v1/tiers/supporter?updateMask=create_time", `{}`, "updateMask"},
		{"bad name", "/v1/tiers/Not_A_Tier", `{"description":"x"}`, "tier"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.admin.Do(t, "PATCH", c.path, c.body)
			if res.Status != http.StatusBadRequest || !slices.Contains(res.RPCStatus(t).Fields(), c.field) {
				t.Fatalf("HTTP %d %s, want 400 on %s", res.Status, res.Body, c.field)
			}
			if row, _ := f.tierRow(t, "supporter"); row != want {
				t.Fatalf("bad input changed the tier: %+v", row)
			}
		})
	}
	// Without a mask the gateway derives one from the body; an amount is replaced whole.
	res = f.admin.Do(t, "PATCH", "/v1/tiers/supporter", `{"amount":{"currencyCode":"USD","minorUnits":"900"},"etag":"2"}`)
	if got := res.JSON(t); res.Status != http.StatusOK || units(got["amount"]) != "900" || got["displayName"] != "Backer" || got["etag"] != "3" {
		t.Fatalf("update from the body: %d %s", res.Status, res.Body)
	}
	if res := f.admin.Do(t, "PATCH", "/v1/tiers/nobody", `{"description":"x"}`); res.Status != http.StatusNotFound {
		t.Fatalf("update of a missing tier: %d %s", res.Status, res.Body)
	}
	// Tiers are public to read but only finance.record changes them.
	if res := f.env.WithToken(f.actors.Member).Do(t, "PATCH", "/v1/tiers/supporter", `{"description":"x"}`); res.Status != http.StatusForbidden {
		t.Fatalf("update by a plain member: %d %s", res.Status, res.Body)
	}
}

func TestDeleteTier(t *testing.T) {
	f := start(t)
	body := `{"displayName":"T","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`
	f.must(t, "POST", "/v1/tiers?tierId=unused", body)
	f.must(t, "POST", "/v1/tiers?tierId=used", body)
	sub := f.must(t, "POST", "/v1/subscriptions",
		`{"tier":"tiers/used","subscriberName":"A","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)["name"].(string)

	inUse := func(step string) {
		t.Helper()
		res := f.admin.Do(t, "DELETE", "/v1/tiers/used", "")
		if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "TIER_IN_USE" {
			t.Fatalf("%s: delete of a tier in use: %d %s", step, res.Status, res.Body)
		}
		if _, ok := f.tierRow(t, "used"); !ok {
			t.Fatalf("%s: the tier in use was deleted", step)
		}
	}
	inUse("active subscription")
	// A cancelled subscription still names the tier in its history.
	f.must(t, "POST", "/v1/"+sub+":cancel", `{}`)
	inUse("cancelled subscription")

	if res := f.admin.Do(t, "DELETE", "/v1/tiers/unused?etag=7", ""); res.Status != http.StatusConflict {
		t.Fatalf("delete with a stale etag: %d %s", res.Status, res.Body)
	}
	if _, ok := f.tierRow(t, "unused"); !ok {
		t.Fatal("a stale etag deleted the tier")
	}
	if res := f.admin.Do(t, "DELETE", "/v1/tiers/Not_A_Tier", ""); res.Status != http.StatusBadRequest || !slices.Contains(res.RPCStatus(t).Fields(), "name") {
		t.Fatalf("delete with a bad name: %d %s", res.Status, res.Body)
	}
	if res := f.admin.Do(t, "DELETE", "/v1/tiers/unused?etag=1", ""); res.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	if _, ok := f.tierRow(t, "unused"); ok {
		t.Fatal("deleted tier still stored")
	}
	if res := f.admin.Do(t, "GET", "/v1/tiers/unused", ""); res.Status != http.StatusNotFound {
		t.Fatalf("get after delete: %d", res.Status)
	}
	if res := f.admin.Do(t, "DELETE", "/v1/tiers/unused", ""); res.Status != http.StatusNotFound {
		t.Fatalf("second delete: %d %s", res.Status, res.Body)
	}
	// The id is free again.
	f.must(t, "POST", "/v1/tiers?tierId=unused", body)
}
