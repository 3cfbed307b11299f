package finance_test

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
)

func TestExpenseWorkflow(t *testing.T) {
	f := start(t)
	// A second finance officer, for dual approval.
	second := f.env.Person(t, "treasurer", false)
	f.env.Member(t, "finance", "treasurer", "member")
	fin := f.env.WithToken(f.actors.FinanceTeam)

	// The financer submits a small expense and may not approve it.
	small := fin.Do(t, "POST", "/v1/expenses", `{"payee":"Hetzner","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"4000"},"description":"Server, March","invoiceReference":"INV-1"}`)
	if small.Status != http.StatusOK {
		t.Fatalf("submit: %d %s", small.Status, small.Body)
	}
	name := small.JSON(t)["name"].(string)
	res := fin.Do(t, "POST", "/v1/"+name+":approve", `{}`)
	if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "SELF_APPROVAL" {
		t.Fatalf("self-approval: %d %s", res.Status, res.Body)
	}
	// Paying before approval is refused.
	if res := f.admin.Do(t, "POST", "/v1/"+name+":pay", `{}`); res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "ILLEGAL_TRANSITION" {
		t.Fatalf("pay unapproved: %d %s", res.Status, res.Body)
	}
	e := f.env.WithToken(second).Do(t, "POST", "/v1/"+name+":approve", `{}`).JSON(t)
	if e["state"] != "STATE_APPROVED" {
		t.Fatalf("one approval below the threshold: %v", e["state"])
	}
	// Paying twice pays once.
	p1 := f.env.WithToken(second).Do(t, "POST", "/v1/"+name+":pay", `{"requestId":"`+rid()+`"}`)
	p2 := f.env.WithToken(second).Do(t, "POST", "/v1/"+name+":pay", `{"requestId":"`+rid()+`"}`)
	if p1.Status != http.StatusOK || p2.Status != http.StatusOK {
		t.Fatalf("pay: %d %s / %d %s", p1.Status, p1.Body, p2.Status, p2.Body)
	}
	if p1.JSON(t)["transaction"] != p2.JSON(t)["transaction"] || p2.JSON(t)["state"] != "STATE_PAID" {
		t.Errorf("second payment posted again: %s vs %s", p1.Body, p2.Body)
	}
	var entries int
	_ = f.env.DB(t, "finance").QueryRow(context.Background(), `SELECT count(*) FROM transactions WHERE source = 'expense'`).Scan(&entries)
	if entries != 1 {
		t.Errorf("%d expense entries, want 1", entries)
	}
	hist := p2.JSON(t)["history"].([]any)
	if len(hist) != 3 {
		t.Errorf("history %v", hist)
	}
	for _, h := range hist {
		if m := h.(map[string]any); !present(m["actor"]) || !present(m["time"]) {
			t.Errorf("transition without actor or time: %v", m)
		}
	}

	// Above the threshold (50000 minor units) two distinct approvers are needed.
	big := f.env.WithToken(f.actors.Member).Do(t, "POST", "/v1/expenses", `{"payee":"people/member","category":"accounts/travel","amount":{"currencyCode":"USD","minorUnits":"90000"},"description":"Flights to the meetup"}`).JSON(t)
	bn := big["name"].(string)
	if big["requiredApprovals"] != float64(2) {
		t.Fatalf("required approvals %v", big["requiredApprovals"])
	}
	if e := fin.Do(t, "POST", "/v1/"+bn+":approve", `{}`).JSON(t); e["state"] != "STATE_SUBMITTED" {
		t.Fatalf("after one of two approvals: %v", e["state"])
	}
	if res := fin.Do(t, "POST", "/v1/"+bn+":approve", `{}`); res.RPCStatus(t).Reason() != "ALREADY_APPROVED" {
		t.Fatalf("the same approver twice: %s", res.Body)
	}
	if e := f.env.WithToken(second).Do(t, "POST", "/v1/"+bn+":approve", `{}`).JSON(t); e["state"] != "STATE_APPROVED" {
		t.Fatalf("after two approvals: %v", e["state"])
	}

	// Rejection needs a reason.
	third := f.env.WithToken(f.actors.Member).Do(t, "POST", "/v1/expenses", `{"payee":"Shop","category":"accounts/travel","amount":{"currencyCode":"USD","minorUnits":"100"},"description":"Snacks"}`).JSON(t)["name"].(string)
	if res := fin.Do(t, "POST", "/v1/"+third+":reject", `{}`); res.Status != http.StatusBadRequest || !contains(res.RPCStatus(t).Fields(), "reason") {
		t.Fatalf("reject without reason: %d %s", res.Status, res.Body)
	}
	if e := fin.Do(t, "POST", "/v1/"+third+":reject", `{"reason":"Not project business"}`).JSON(t); e["state"] != "STATE_REJECTED" || e["rejectReason"] != "Not project business" {
		t.Fatalf("reject: %v", e)
	}
	// The submitter may cancel their own; others without finance.record may not.
	fourth := f.env.WithToken(f.actors.Member).Do(t, "POST", "/v1/expenses", `{"payee":"Shop","category":"accounts/travel","amount":{"currencyCode":"USD","minorUnits":"100"},"description":"Tea"}`).JSON(t)["name"].(string)
	if res := f.env.WithToken(f.actors.Lead).Do(t, "POST", "/v1/"+fourth+":cancel", `{}`); res.Status != http.StatusForbidden {
		t.Fatalf("someone else's cancel: %d", res.Status)
	}
	if e := f.env.WithToken(f.actors.Member).Do(t, "POST", "/v1/"+fourth+":cancel", `{}`).JSON(t); e["state"] != "STATE_CANCELLED" {
		t.Fatalf("cancel: %v", e)
	}

	// The list, paged, shows every expense exactly as a read of it does,
	// history included.
	listed, token := 0, ""
	for {
		page := fin.Do(t, "GET", "/v1/expenses?pageSize=2&pageToken="+token, "")
		if page.Status != http.StatusOK {
			t.Fatalf("list: %d %s", page.Status, page.Body)
		}
		body := page.JSON(t)
		for _, it := range body["expenses"].([]any) {
			e := it.(map[string]any)
			got := fin.Do(t, "GET", "/v1/"+e["name"].(string), "").JSON(t)
			if !reflect.DeepEqual(e, got) {
				t.Fatalf("listed %v\nread   %v", e, got)
			}
			if len(e["history"].([]any)) == 0 {
				t.Fatalf("listed expense without history: %v", e)
			}
			listed++
		}
		if token, _ = body["nextPageToken"].(string); token == "" {
			break
		}
	}
	if listed != 4 {
		t.Fatalf("listed %d expenses, want 4", listed)
	}
	f.checkLedger(t)
}

func TestExpenseBadInput(t *testing.T) {
	f := start(t)
	member := f.env.WithToken(f.actors.Member)
	cases := []struct{ name, body, field string }{
		{"negative", `{"payee":"X","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"-1"},"description":"d"}`, "expense.amount.minorUnits"},
		{"zero", `{"payee":"X","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"0"},"description":"d"}`, "expense.amount.minorUnits"},
		{"unknown currency", `{"payee":"X","category":"accounts/hosting","amount":{"currencyCode":"ABC","minorUnits":"1"},"description":"d"}`, "expense.amount.currencyCode"},
		{"wrong currency", `{"payee":"X","category":"accounts/hosting","amount":{"currencyCode":"EUR","minorUnits":"1"},"description":"d"}`, "expense.amount.currencyCode"},
		{"not an expense account", `{"payee":"X","category":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"1"},"description":"d"}`, "expense.category"},
		{"missing description", `{"payee":"X","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"1"}}`, "expense.description"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := member.Do(t, "POST", "/v1/expenses", c.body)
			if res.Status != http.StatusBadRequest || !contains(res.RPCStatus(t).Fields(), c.field) {
				t.Fatalf("HTTP %d %s, want field %s", res.Status, res.Body, c.field)
			}
		})
	}
	var n int
	_ = f.env.DB(t, "finance").QueryRow(context.Background(), `SELECT count(*) FROM expenses`).Scan(&n)
	if n != 0 {
		t.Errorf("stored %d expenses", n)
	}
	_ = apptest.AdminToken
}
