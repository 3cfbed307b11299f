package finance_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
)

// Public donations and expenses reach membership as activity through the
// outbox (gifts whose donor is hidden do not: see TestPublicObserver).
func TestActivityReachesMembership(t *testing.T) {
	f := start(t)
	f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"500"},"donor":"people/member","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_CASH"}`)
	if res := f.env.WithToken(f.actors.Lead).Do(t, "POST", "/v1/expenses", `{"payee":"X","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"100"},"description":"d"}`); res.Status != 200 {
		t.Fatalf("expense: %s", res.Body)
	}
	f.env.WaitActivity(t, "member", "finance.donation")
	f.env.WaitActivity(t, "lead", "finance.expense")
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var queued int
		_ = f.env.DB(t, "finance").QueryRow(ctx, `SELECT count(*) FROM outbox`).Scan(&queued)
		if queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still queued", queued)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestEveryWriteIsActivity: each write method of the finance API, called by
// a finance officer, is recorded as the officer's activity
// ("finance.<Method>"). A write method added without reporting activity, or
// without a call here, fails the test.
func TestEveryWriteIsActivity(t *testing.T) {
	f := start(t)
	fin := f.env.WithToken(f.actors.FinanceTeam)
	do := func(method, path, body string) map[string]any {
		t.Helper()
		res := fin.Do(t, method, path, body)
		if res.Status != http.StatusOK {
			t.Fatalf("%s %s: HTTP %d %s", method, path, res.Status, res.Body)
		}
		return res.JSON(t)
	}
	name := func(m map[string]any) string { return m["name"].(string) }
	lead := f.env.WithToken(f.actors.Lead)
	submit := func() string {
		t.Helper()
		return name(mustJSON(t, lead.Do(t, "POST", "/v1/expenses", `{"payee":"Hoster","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"100"},"description":"Hosting"}`)))
	}
	e1, e2, e3 := submit(), submit(), submit()
	calls := map[string]func(){
		"CreateAccount": func() {
			do("POST", "/v1/accounts?accountId=petty", `{"displayName":"Petty cash","type":"TYPE_ASSET","currencyCode":"USD"}`)
		},
		"UpdateAccount": func() { do("PATCH", "/v1/accounts/petty", `{"description":"the tin"}`) },
		"DeleteAccount": func() { do("DELETE", "/v1/accounts/petty", "") },
		"CreateTransaction": func() {
			do("POST", "/v1/transactions", `{"postings":[{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"10000"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-10000"}}]}`)
		},
		"ReverseTransaction": func() {
			tx := do("POST", "/v1/transactions", `{"postings":[{"account":"accounts/cash","amount":{"currencyCode":"USD","minorUnits":"7"}},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-7"}}]}`)
			do("POST", "/v1/"+name(tx)+":reverse", `{"reason":"typo"}`)
		},
		"CreateDonation": func() {
			do("POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"500"},"donorName":"A user","channel":"CHANNEL_BANK"}`)
		},
		"CreateTier": func() {
			do("POST", "/v1/tiers?tierId=friend", `{"displayName":"Friend","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)
		},
		"UpdateTier": func() { do("PATCH", "/v1/tiers/friend", `{"description":"thanks"}`) },
		"DeleteTier": func() { do("DELETE", "/v1/tiers/friend", "") },
		"CreateSubscription": func() {
			do("POST", "/v1/subscriptions", `{"subscriberName":"Fan","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)
		},
		"PauseSubscription":         func() {},
		"ResumeSubscription":        func() {},
		"CancelSubscription":        func() {},
		"RecordSubscriptionPayment": func() {},
		"CreateSponsorship": func() {
			do("POST", "/v1/sponsorships", `{"organisation":"Hoster Ltd","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"500"},"period":"INTERVAL_YEAR"}`)
		},
		"UpdateSponsorship":        func() {},
		"RecordSponsorshipPayment": func() {},
		"EndSponsorship":           func() {},
		"CreateExpense": func() {
			do("POST", "/v1/expenses", `{"payee":"Shop","category":"accounts/travel","amount":{"currencyCode":"USD","minorUnits":"100"},"description":"Tea"}`)
		},
		"ApproveExpense": func() { do("POST", "/v1/"+e1+":approve", `{}`) },
		"PayExpense":     func() { do("POST", "/v1/"+e1+":pay", `{"requestId":"`+rid()+`"}`) },
		"RejectExpense":  func() { do("POST", "/v1/"+e2+":reject", `{"reason":"duplicate"}`) },
		"CancelExpense":  func() { do("POST", "/v1/"+e3+":cancel", `{}`) },
		"CreateBudget": func() {
			do("POST", "/v1/budgets", `{"category":"accounts/hosting","year":2026,"planned":{"currencyCode":"USD","minorUnits":"1000"}}`)
		},
		"UpdateBudget": func() {},
		"DeleteBudget": func() {},
		"CreateGoal": func() {
			do("POST", "/v1/goals?goalId=hosting", `{"displayName":"Hosting","target":{"currencyCode":"USD","minorUnits":"180000"},"period":"PERIOD_YEARLY"}`)
		},
		"UpdateGoal": func() { do("PATCH", "/v1/goals/hosting", `{"description":"a year of the site"}`) },
	}
	// The calls on what the creates made.
	calls["PauseSubscription"] = func() { do("POST", "/v1/"+f.first(t, "subscriptions")+":pause", `{}`) }
	calls["ResumeSubscription"] = func() { do("POST", "/v1/"+f.first(t, "subscriptions")+":resume", `{}`) }
	calls["RecordSubscriptionPayment"] = func() {
		do("POST", "/v1/"+f.first(t, "subscriptions")+":recordPayment", `{"requestId":"`+rid()+`"}`)
	}
	calls["CancelSubscription"] = func() { do("POST", "/v1/"+f.first(t, "subscriptions")+":cancel", `{}`) }
	calls["UpdateSponsorship"] = func() { do("PATCH", "/v1/"+f.first(t, "sponsorships"), `{"package":"banner"}`) }
	calls["RecordSponsorshipPayment"] = func() {
		do("POST", "/v1/"+f.first(t, "sponsorships")+":recordPayment", `{"requestId":"`+rid()+`"}`)
	}
	calls["EndSponsorship"] = func() { do("POST", "/v1/"+f.first(t, "sponsorships")+":end", `{}`) }
	calls["UpdateBudget"] = func() {
		do("PATCH", "/v1/"+f.first(t, "budgets"), `{"planned":{"currencyCode":"USD","minorUnits":"2000"}}`)
	}
	calls["DeleteBudget"] = func() { do("DELETE", "/v1/"+f.first(t, "budgets"), "") }

	order := []string{"CreateAccount", "UpdateAccount", "DeleteAccount", "CreateTransaction", "ReverseTransaction",
		"CreateDonation", "CreateTier", "UpdateTier", "DeleteTier", "CreateSubscription", "PauseSubscription",
		"ResumeSubscription", "RecordSubscriptionPayment", "CancelSubscription", "CreateSponsorship", "UpdateSponsorship",
		"RecordSponsorshipPayment", "EndSponsorship", "CreateExpense", "ApproveExpense", "PayExpense", "RejectExpense",
		"CancelExpense", "CreateBudget", "UpdateBudget", "DeleteBudget", "CreateGoal", "UpdateGoal"}
	writes := apptest.WriteMethods(financev1.File_guildhall_finance_v1_finance_service_proto.Services().Get(0))
	var kinds []string
	for _, m := range writes {
		if !slices.Contains(order, m) {
			t.Errorf("write method %s is not exercised here: add it, and make it report activity", m)
			continue
		}
		kinds = append(kinds, "finance."+m)
	}
	for _, m := range order {
		calls[m]()
	}
	f.env.WaitActivity(t, "financer", kinds...)
}

// first returns the name of the first resource a list of collection holds.
func (f *fixture) first(t *testing.T, collection string) string {
	t.Helper()
	body := f.must(t, "GET", "/v1/"+collection, "")
	items, _ := body[collection].([]any)
	if len(items) == 0 {
		t.Fatalf("no %s", collection)
	}
	return items[0].(map[string]any)["name"].(string)
}

func mustJSON(t *testing.T, res *apptest.Response) map[string]any {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("HTTP %d %s", res.Status, res.Body)
	}
	return res.JSON(t)
}

// shortDrift makes drift quick: nudged after an hour without activity,
// inactive an hour later, emeritus an hour after that.
func shortDrift(c *apptest.Config, _ *apptest.Clock) {
	c.DriftWindow, c.DriftNudgeGrace, c.DriftEmeritusAfter = time.Hour, time.Hour, time.Hour
}

// TestOfficerWhoOnlyApprovesAndPaysStaysActive: a finance officer whose
// only work is approving and paying expenses is never nudged, however long
// it goes on; before approvals and payments counted, the third step found
// them EMERITUS and refused (403).
func TestOfficerWhoOnlyApprovesAndPaysStaysActive(t *testing.T) {
	f := start(t, shortDrift)
	fin := f.env.WithToken(f.actors.FinanceTeam)
	lead := f.env.WithToken(f.actors.Lead)
	var expenses []string
	for range 3 {
		expenses = append(expenses, mustJSON(t, lead.Do(t, "POST", "/v1/expenses", `{"payee":"Hoster","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"15000"},"description":"Hosting"}`))["name"].(string))
	}
	step := 0
	for _, e := range expenses {
		for _, verb := range []string{"approve", "pay"} {
			step++
			f.env.Clock.Advance(50 * time.Minute)
			body := `{}`
			if verb == "pay" {
				body = `{"requestId":"` + rid() + `"}`
			}
			if res := fin.Do(t, "POST", "/v1/"+e+":"+verb, body); res.Status != http.StatusOK {
				t.Fatalf("step %d (+%dm), %s: HTTP %d %s", step, step*50, verb, res.Status, res.Body)
			}
			kind := map[string]string{"approve": "finance.ApproveExpense", "pay": "finance.PayExpense"}[verb]
			f.env.WaitActivity(t, "financer", kind)
			waitLastActive(t, f.env, "financer", f.env.Clock.Now())
			p := mustJSON(t, f.admin.Do(t, "GET", "/v1/people/financer", ""))
			if p["state"] != "STATE_ACTIVE" || p["nudged"] == true {
				t.Fatalf("step %d (+%dm): the officer is %v (nudged %v)", step, step*50, p["state"], p["nudged"])
			}
		}
	}
	// Five hours in, far past the three it takes to become emeritus.
	events := mustJSON(t, f.admin.Do(t, "GET", "/v1/people:drift", ""))
	for _, e := range events["driftEvents"].([]any) {
		if e.(map[string]any)["person"] == "people/financer" {
			t.Errorf("the officer drifted: %v", e)
		}
	}
}

// waitLastActive waits until membership has the person's activity at at.
func waitLastActive(t *testing.T, env *apptest.Env, person string, at time.Time) {
	t.Helper()
	db := env.DB(t, "membership")
	deadline := time.Now().Add(15 * time.Second)
	for {
		var last *time.Time
		if err := db.QueryRow(context.Background(), `SELECT last_active_time FROM people WHERE id = $1`, person).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if last != nil && !last.Before(at.Truncate(time.Microsecond)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s last active %v, want %v", person, last, at)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
