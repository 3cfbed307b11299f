package finance_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// A random mix of every money-moving call, then the ledger invariants and the
// monthly reports are checked against the postings themselves.
func TestRandomMixAddsUp(t *testing.T) {
	f := start(t)
	fin := f.env.WithToken(f.actors.FinanceTeam)
	second := f.env.WithToken(f.env.Person(t, "treasurer", false))
	f.env.Member(t, "finance", "treasurer", "member")
	f.must(t, "POST", "/v1/accounts?accountId=dev-fund", `{"displayName":"Development fund","type":"TYPE_INCOME","currencyCode":"USD","earmarked":true}`)
	f.must(t, "POST", "/v1/goals?goalId=development-money", `{"displayName":"Development money","target":{"currencyCode":"USD","minorUnits":"500000"},"period":"PERIOD_ONE_OFF","fundAccount":"accounts/dev-fund"}`)
	sub := f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"Fan","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)["name"].(string)
	sp := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"Koozali Hosting","package":"website banner","kind":"KIND_ADVERTISING","amount":{"currencyCode":"USD","minorUnits":"10000"},"period":"INTERVAL_MONTH"}`)["name"].(string)

	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var posted []string
	var goalTotal int64
	for i := 0; i < 120; i++ {
		when := base.Add(time.Duration(rng.IntN(300*24)) * time.Hour).Format(time.RFC3339)
		amt := 100 + rng.IntN(20000)
		switch rng.IntN(6) {
		case 0, 1:
			goal := ""
			if rng.IntN(3) == 0 {
				goal = `,"goal":"goals/development-money"`
				goalTotal += int64(amt)
			}
			d := f.must(t, "POST", "/v1/donations?requestId="+rid(), fmt.Sprintf(`{"amount":{"currencyCode":"USD","minorUnits":"%d"},"donorName":"D%d","channel":"CHANNEL_PAYPAL","receiveTime":%q%s}`, amt, i, when, goal))
			posted = append(posted, d["transaction"].(string))
		case 2:
			e := fin.Do(t, "POST", "/v1/expenses", fmt.Sprintf(`{"payee":"Hetzner","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"%d"},"description":"hosting"}`, amt)).JSON(t)
			n := e["name"].(string)
			second.Do(t, "POST", "/v1/"+n+":approve", `{}`)
			p := second.Do(t, "POST", "/v1/"+n+":pay", fmt.Sprintf(`{"requestId":%q,"payTime":%q}`, rid(), when))
			if p.Status != http.StatusOK {
				t.Fatalf("pay: %s", p.Body)
			}
			posted = append(posted, p.JSON(t)["transaction"].(string))
		case 3:
			f.must(t, "POST", "/v1/"+sub+":recordPayment", fmt.Sprintf(`{"requestId":%q,"receiveTime":%q}`, rid(), when))
		case 4:
			f.must(t, "POST", "/v1/"+sp+":recordPayment", fmt.Sprintf(`{"requestId":%q,"receiveTime":%q}`, rid(), when))
		case 5:
			if len(posted) > 0 {
				k := rng.IntN(len(posted))
				res := fin.Do(t, "POST", "/v1/"+posted[k]+":reverse", `{"requestId":"`+rid()+`"}`)
				if res.Status != http.StatusOK {
					t.Fatalf("reverse: %s", res.Body)
				}
				posted = append(posted[:k], posted[k+1:]...)
			}
		}
	}
	f.checkLedger(t)

	// Every month's report, as the books see it, adds up to the ledger (the
	// public one leaves out the open month's PRIVATE gifts: see view.go).
	db := f.env.DB(t, "finance")
	ctx := context.Background()
	rep := f.admin.Do(t, "GET", "/v1/reports/monthly:range?from=2026-01&to=2026-12", "").JSON(t)["reports"].([]any)
	if len(rep) != 12 {
		t.Fatalf("%d reports", len(rep))
	}
	for _, r := range rep {
		r := r.(map[string]any)
		month, _ := time.Parse("2006-01", r["month"].(string))
		if one := f.admin.Do(t, "GET", "/v1/reports/monthly?month="+r["month"].(string), "").JSON(t); fmt.Sprint(one) != fmt.Sprint(r) {
			t.Errorf("%s in the range differs from its own report:\n%v\n%v", r["month"], r, one)
		}
		var income, expense, cash int64
		if err := db.QueryRow(ctx, `SELECT
			coalesce(-sum(p.amount) FILTER (WHERE a.type = 'income' AND t.effective_time >= $1 AND t.effective_time < $2), 0)::bigint,
			coalesce(sum(p.amount) FILTER (WHERE a.type = 'expense' AND t.effective_time >= $1 AND t.effective_time < $2), 0)::bigint,
			coalesce(sum(p.amount) FILTER (WHERE a.type = 'asset' AND t.effective_time < $2), 0)::bigint
			FROM postings p JOIN transactions t ON t.id = p.transaction_id JOIN accounts a ON a.id = p.account_id`,
			month, month.AddDate(0, 1, 0)).Scan(&income, &expense, &cash); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		for _, c := range r["currencies"].([]any) {
			if c.(map[string]any)["currencyCode"] == "USD" {
				got = c.(map[string]any)
			}
		}
		num := func(k string) int64 {
			if got == nil || got[k] == nil {
				return 0
			}
			n, _ := strconv.ParseInt(fmt.Sprint(got[k]), 10, 64)
			return n
		}
		if num("incomeTotal") != income || num("expenseTotal") != expense || num("cash") != cash || num("net") != income-expense {
			t.Errorf("%s: report income %d expense %d cash %d net %d; ledger %d %d %d", r["month"], num("incomeTotal"), num("expenseTotal"), num("cash"), num("net"), income, expense, cash)
		}
		if got != nil && num("averageCosts") > 0 {
			want := max(0, float64(num("cash"))/float64(num("averageCosts")))
			if rw, _ := got["runwayMonths"].(float64); rw < want-1e-9 || rw > want+1e-9 {
				t.Errorf("%s: runway %v, want %v", r["month"], got["runwayMonths"], want)
			}
		}
		var sum int64
		if got != nil {
			for _, a := range got["incomeBySource"].([]any) {
				n, _ := strconv.ParseInt(fmt.Sprint(a.(map[string]any)["minorUnits"]), 10, 64)
				sum += n
			}
		}
		if sum != income {
			t.Errorf("%s: income by source sums to %d, not %d", r["month"], sum, income)
		}
	}
	// The budget's spent figure is the year's hosting postings.
	b := f.must(t, "POST", "/v1/budgets", `{"category":"accounts/hosting","year":2026,"planned":{"currencyCode":"USD","minorUnits":"100000"}}`)
	var hosting int64
	_ = db.QueryRow(ctx, `SELECT coalesce(sum(p.amount), 0)::bigint FROM postings p JOIN transactions t ON t.id = p.transaction_id
		WHERE p.account_id = 'hosting' AND t.effective_time >= '2026-01-01' AND t.effective_time < '2027-01-01'`).Scan(&hosting)
	spent, _ := strconv.ParseInt(fmt.Sprint(b["spent"].(map[string]any)["minorUnits"]), 10, 64)
	remaining, _ := strconv.ParseInt(fmt.Sprint(b["remaining"].(map[string]any)["minorUnits"]), 10, 64)
	if spent != hosting || remaining != 100000-hosting {
		t.Errorf("budget spent %d remaining %d; hosting postings %d", spent, remaining, hosting)
	}
	// Listed budgets (spent counted for the whole page at once) equal reads.
	f.must(t, "POST", "/v1/budgets", `{"category":"accounts/hosting","year":2027,"planned":{"currencyCode":"USD","minorUnits":"5"}}`)
	f.must(t, "POST", "/v1/budgets", `{"category":"accounts/travel","year":2026,"planned":{"currencyCode":"USD","minorUnits":"7"}}`)
	listed := f.env.Do(t, "GET", "/v1/budgets?pageSize=2", "").JSON(t)
	next := f.env.Do(t, "GET", "/v1/budgets?pageToken="+listed["nextPageToken"].(string), "").JSON(t)
	all := append(listed["budgets"].([]any), next["budgets"].([]any)...)
	if len(all) != 3 {
		t.Fatalf("%d budgets listed, want 3", len(all))
	}
	for _, l := range all {
		got := l.(map[string]any)
		if read := f.env.Do(t, "GET", "/v1/"+got["name"].(string), "").JSON(t); fmt.Sprint(read) != fmt.Sprint(got) {
			t.Errorf("listed budget differs from its read:\n%v\n%v", got, read)
		}
	}
	// The goal's progress is the fund account's credits.
	var fund int64
	_ = db.QueryRow(ctx, `SELECT coalesce(-sum(amount), 0)::bigint FROM postings WHERE account_id = 'dev-fund'`).Scan(&fund)
	g := f.admin.Do(t, "GET", "/v1/goals/development-money", "").JSON(t)
	if fmt.Sprint(g["progress"].(map[string]any)["minorUnits"]) != strconv.FormatInt(fund, 10) && fund != 0 {
		t.Errorf("goal progress %v, fund credits %d", g["progress"], fund)
	}
}

func TestSubscriptionsOverdueAndMRR(t *testing.T) {
	f := start(t)
	now := f.env.Clock.Now()
	f.must(t, "POST", "/v1/tiers?tierId=supporter", `{"displayName":"Supporter","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)
	m := f.must(t, "POST", "/v1/subscriptions", `{"tier":"tiers/supporter","subscriberName":"A","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)
	f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"B","amount":{"currencyCode":"USD","minorUnits":"1000"},"interval":"INTERVAL_YEAR"}`)
	f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"C","amount":{"currencyCode":"USD","minorUnits":"5"},"interval":"INTERVAL_YEAR"}`)
	mrr := f.env.Do(t, "GET", "/v1/reports/recurring", "").JSON(t)["currencies"].([]any)[0].(map[string]any)
	// 500 + (1000 + 5) / 12 = 500 + 83 (rounded down).
	if fmt.Sprint(mrr["mrr"].(map[string]any)["minorUnits"]) != "583" {
		t.Errorf("MRR %v", mrr)
	}
	if n := len(f.must(t, "GET", "/v1/subscriptions?overdue=true", "")["subscriptions"].([]any)); n != 0 {
		t.Errorf("%d overdue on day one", n)
	}
	f.env.Clock.Advance(48 * time.Hour)
	if n := len(f.must(t, "GET", "/v1/subscriptions?overdue=true", "")["subscriptions"].([]any)); n != 3 {
		t.Errorf("%d overdue after two days, want 3", n)
	}
	name := m["name"].(string)
	id := rid()
	p1 := f.must(t, "POST", "/v1/"+name+":recordPayment", `{"requestId":"`+id+`"}`)
	p2 := f.must(t, "POST", "/v1/"+name+":recordPayment", `{"requestId":"`+id+`"}`)
	want := addMonths(now, 1, now.Day()).Format("2006-01-02")
	if p1["nextDueDate"] != want || p2["nextDueDate"] != want || p2["paymentCount"] != float64(1) {
		t.Errorf("after a repeated payment: %v / %v, want due %s", p1["nextDueDate"], p2, want)
	}
	if n := len(f.must(t, "GET", "/v1/subscriptions?overdue=true", "")["subscriptions"].([]any)); n != 2 {
		t.Errorf("%d overdue after paying one, want 2", n)
	}
	if res := f.admin.Do(t, "POST", "/v1/subscriptions", `{"subscriberName":"D","amount":{"currencyCode":"USD","minorUnits":"-5"},"interval":"INTERVAL_YEAR"}`); res.Status != http.StatusBadRequest || !contains(res.RPCStatus(t).Fields(), "subscription.amount.minorUnits") {
		t.Errorf("negative subscription: %d %s", res.Status, res.Body)
	}
	f.checkLedger(t)
}
