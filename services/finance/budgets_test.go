package finance_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// budgetRow returns a budget's planned amount and version as stored.
func (f *fixture) budgetRow(t *testing.T, name string) (planned, version int64, ok bool) {
	t.Helper()
	err := f.env.DB(t, "finance").QueryRow(context.Background(),
		`SELECT planned, version FROM budgets WHERE id::text = $1`, strings.TrimPrefix(name, "budgets/")).Scan(&planned, &version)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatal(err)
	}
	return planned, version, err == nil
}

func TestUpdateAndDeleteBudget(t *testing.T) {
	f := start(t)
	f.must(t, "POST", "/v1/transactions", `{"postings":[{"account":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"300"}},{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"-300"}}]}`)
	created := f.must(t, "POST", "/v1/budgets", `{"category":"accounts/hosting","year":2026,"planned":{"currencyCode":"USD","minorUnits":"1000"}}`)
	name := created["name"].(string)
	if created["etag"] != "1" {
		t.Fatalf("created budget etag %v", created["etag"])
	}

	res := f.admin.Do(t, "PATCH", "/v1/"+name+"?updateMask=planned", `{"planned":{"currencyCode":"USD","minorUnits":"1200"},"year":2030,"etag":"1"}`)
	if res.Status != http.StatusOK {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	got := res.JSON(t)
	if units(got["planned"]) != "1200" || units(got["spent"]) != "300" || units(got["remaining"]) != "900" ||
		fmt.Sprint(got["year"]) != "2026" || got["category"] != "accounts/hosting" || got["etag"] != "2" {
		t.Fatalf("updated budget: %v", got)
	}
	if planned, version, _ := f.budgetRow(t, name); planned != 1200 || version != 2 {
		t.Fatalf("stored planned %d version %d", planned, version)
	}
	res = f.admin.Do(t, "PATCH", "/v1/"+name, `{"planned":{"currencyCode":"USD","minorUnits":"5"},"etag":"1"}`)
	if res.Status != http.StatusConflict || res.RPCStatus(t).Reason() != "ETAG_MISMATCH" {
		t.Fatalf("stale etag: %d %s", res.Status, res.Body)
	}

	cases := []struct{ name, path, body, field string }{
		{"category is fixed", "/v1/" + name + "?updateMask=category", `{"category":"accounts/travel"}`, "updateMask"},
		{"year is fixed", "/v1/" + name + "?updateMask=year", `{"year":2027}`, "updateMask"},
		{"negative", "/v1/" + name, `{"planned":{"currencyCode":"USD","minorUnits":"-1"}}`, "budget.planned.minorUnits"},
		{"other currency", "/v1/" + name, `{"planned":{"currencyCode":"EUR","minorUnits":"5"}}`, "budget.planned.currencyCode"},
		{"planned cleared", "/v1/" + name + "?updateMask=planned", `{}`, "budget.planned"},
		{"bad name", "/v1/budgets/not-a-uuid", `{"planned":{"currencyCode":"USD","minorUnits":"5"}}`, "budget"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.admin.Do(t, "PATCH", c.path, c.body)
			if res.Status != http.StatusBadRequest || !slices.Contains(res.RPCStatus(t).Fields(), c.field) {
				t.Fatalf("HTTP %d %s, want 400 on %s", res.Status, res.Body, c.field)
			}
			if planned, version, _ := f.budgetRow(t, name); planned != 1200 || version != 2 {
				t.Fatalf("bad input changed the budget: planned %d version %d", planned, version)
			}
		})
	}
	missing := "budgets/00000000-0000-7000-8000-000000000000"
	if res := f.admin.Do(t, "PATCH", "/v1/"+missing, `{"planned":{"currencyCode":"USD","minorUnits":"5"}}`); res.Status != http.StatusNotFound {
		t.Fatalf("update of a missing budget: %d %s", res.Status, res.Body)
	}

	if res := f.admin.Do(t, "DELETE", "/v1/"+name+"?etag=1", ""); res.Status != http.StatusConflict {
		t.Fatalf("delete with a stale etag: %d %s", res.Status, res.Body)
	}
	if res := f.admin.Do(t, "DELETE", "/v1/"+name+"?etag=2", ""); res.Status != http.StatusOK {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	if _, _, ok := f.budgetRow(t, name); ok {
		t.Fatal("deleted budget still stored")
	}
	if res := f.admin.Do(t, "DELETE", "/v1/"+name, ""); res.Status != http.StatusNotFound {
		t.Fatalf("second delete: %d %s", res.Status, res.Body)
	}
	// Deleting a plan leaves the books alone, and the category and year can be planned again.
	f.checkLedger(t)
	f.must(t, "POST", "/v1/budgets", `{"category":"accounts/hosting","year":2026,"planned":{"currencyCode":"USD","minorUnits":"800"}}`)
}
