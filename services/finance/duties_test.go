package finance_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
)

// Separation of duties: neither the submitter nor the payee of an expense
// may approve or pay it. Every combination of submitter, payee (each person,
// by resource name or by display name, and a vendor), approver and payer
// among three officers who all hold finance.approve and finance.pay.
func TestExpenseSeparationOfDutiesEveryCombination(t *testing.T) {
	f := start(t)
	people := []string{"alice", "bob", "carol"}
	tokens := map[string]string{}
	for _, p := range people {
		tokens[p] = f.env.Person(t, p, false)
		f.env.Member(t, "finance", p, "member")
	}
	type payee struct {
		sent   string // the payee as the submitter writes it
		person string // who that is, "" for a vendor
	}
	var payees []payee
	for _, p := range people {
		// apptest.Person names people "Test {id}"; a display name is
		// matched ignoring case and spacing.
		payees = append(payees, payee{"people/" + p, p}, payee{fmt.Sprintf("  TEST   %s ", p), p})
	}
	payees = append(payees, payee{"ACME Hosting", ""})

	combos, paid := 0, 0
	for _, submitter := range people {
		for _, py := range payees {
			for _, approver := range people {
				sub := f.env.WithToken(tokens[submitter])
				res := sub.Do(t, "POST", "/v1/expenses", fmt.Sprintf(`{"payee":%q,"category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"700"},"description":"Server"}`, py.sent))
				if res.Status != http.StatusOK {
					t.Fatalf("submit by %s to %q: HTTP %d %s", submitter, py.sent, res.Status, res.Body)
				}
				name := res.JSON(t)["name"].(string)
				what := fmt.Sprintf("submitter %s, payee %q, approver %s", submitter, py.sent, approver)

				mayApprove := approver != submitter && approver != py.person
				res = f.env.WithToken(tokens[approver]).Do(t, "POST", "/v1/"+name+":approve", `{}`)
				switch {
				case mayApprove && (res.Status != http.StatusOK || res.JSON(t)["state"] != "STATE_APPROVED"):
					t.Errorf("%s: approval refused: HTTP %d %s", what, res.Status, res.Body)
				case !mayApprove && (res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "SELF_APPROVAL"):
					t.Errorf("%s: approval by the submitter or payee: HTTP %d %s, want SELF_APPROVAL", what, res.Status, res.Body)
				}
				for _, payer := range people {
					combos++
					mayPay := payer != submitter && payer != py.person
					res := f.env.WithToken(tokens[payer]).Do(t, "POST", "/v1/"+name+":pay", `{}`)
					got := fmt.Sprintf("HTTP %d %s", res.Status, res.Body)
					switch {
					case !mayPay:
						if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "SELF_PAYMENT" {
							t.Errorf("%s, payer %s: %s, want SELF_PAYMENT", what, payer, got)
						}
					case !mayApprove:
						if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "ILLEGAL_TRANSITION" {
							t.Errorf("%s, payer %s: %s, want ILLEGAL_TRANSITION (never approved)", what, payer, got)
						}
					default:
						if res.Status != http.StatusOK || res.JSON(t)["state"] != "STATE_PAID" {
							t.Errorf("%s, payer %s: %s, want PAID", what, payer, got)
						}
					}
				}
				e := f.admin.Do(t, "GET", "/v1/"+name, "").JSON(t)
				if e["state"] == "STATE_PAID" {
					paid++
					for _, h := range e["history"].([]any) {
						ev := h.(map[string]any)
						if a := ev["action"]; (a == "approve" || a == "pay") && slices.Contains([]any{"people/" + submitter, "people/" + py.person}, ev["actor"]) {
							t.Errorf("%s: %s by %s", what, a, ev["actor"])
						}
					}
				}
			}
		}
	}
	// Paid: for each submitter and payee, the approvers who are neither.
	var entries int
	_ = f.env.DB(t, "finance").QueryRow(context.Background(), `SELECT count(*) FROM transactions WHERE source = 'expense'`).Scan(&entries)
	t.Logf("%d submitter/payee/approver/payer combinations, %d expenses paid, %d expense entries", combos, paid, entries)
	if combos != 3*7*3*3 || paid != 3*(2*2*1+2*2*1+1*2) || entries != paid {
		t.Errorf("%d combinations, %d paid, %d entries; want %d, %d, %d", combos, paid, entries, 3*7*3*3, 3*(2*2*1+2*2*1+1*2), 3*(2*2*1+2*2*1+1*2))
	}
	f.checkLedger(t)
}

// Above the dual-approval amount both approvers must be neither submitter
// nor payee; a payee named like a person must be one membership knows.
func TestExpenseSeparationOfDutiesDualApprovalAndPayees(t *testing.T) {
	f := start(t)
	tokens := map[string]string{}
	for _, p := range []string{"alice", "bob", "carol", "dave"} {
		tokens[p] = f.env.Person(t, p, false)
		f.env.Member(t, "finance", p, "member")
	}
	as := func(p string) func(string, string, string) (int, string, map[string]any) {
		return func(method, path, body string) (int, string, map[string]any) {
			res := f.env.WithToken(tokens[p]).Do(t, method, path, body)
			if res.Status != http.StatusOK {
				return res.Status, res.RPCStatus(t).Reason(), nil
			}
			return res.Status, "", res.JSON(t)
		}
	}
	_, _, e := as("alice")("POST", "/v1/expenses", `{"payee":"people/bob","category":"accounts/travel","amount":{"currencyCode":"USD","minorUnits":"90000"},"description":"Flights"}`)
	name := e["name"].(string)
	if e["requiredApprovals"] != float64(2) {
		t.Fatalf("required approvals %v", e["requiredApprovals"])
	}
	if st, reason, _ := as("bob")("POST", "/v1/"+name+":approve", `{}`); reason != "SELF_APPROVAL" {
		t.Errorf("the payee's approval: %d %s", st, reason)
	}
	if _, _, e := as("carol")("POST", "/v1/"+name+":approve", `{}`); e["state"] != "STATE_SUBMITTED" {
		t.Fatalf("one of two approvals: %v", e)
	}
	if st, reason, _ := as("alice")("POST", "/v1/"+name+":approve", `{}`); reason != "SELF_APPROVAL" {
		t.Errorf("the submitter's approval: %d %s", st, reason)
	}
	if _, _, e := as("dave")("POST", "/v1/"+name+":approve", `{}`); e["state"] != "STATE_APPROVED" {
		t.Fatalf("two approvals by neither submitter nor payee: %v", e)
	}
	for _, p := range []string{"alice", "bob"} {
		if st, reason, _ := as(p)("POST", "/v1/"+name+":pay", `{}`); reason != "SELF_PAYMENT" {
			t.Errorf("payment by %s: %d %s", p, st, reason)
		}
	}
	if _, _, e := as("carol")("POST", "/v1/"+name+":pay", `{}`); e["state"] != "STATE_PAID" {
		t.Errorf("payment by carol: %v", e)
	}
	// Payees that look like people must be people.
	for _, payee := range []string{"People/Bob", "people/nobody", " people/bob"} {
		res := f.env.WithToken(tokens["alice"]).Do(t, "POST", "/v1/expenses", fmt.Sprintf(`{"payee":%q,"category":"accounts/travel","amount":{"currencyCode":"USD","minorUnits":"100"},"description":"x"}`, payee))
		if res.Status != http.StatusBadRequest || !slices.Contains(res.RPCStatus(t).Fields(), "expense.payee") {
			t.Errorf("payee %q: HTTP %d %s, want a violation on expense.payee", payee, res.Status, res.Body)
		}
	}
}
