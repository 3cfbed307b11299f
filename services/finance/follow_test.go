package finance_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/resource"
)

// addMonths is the schedule rule written out independently: n months on
// from d's month, on day anchor or the month's last day.
func addMonths(d time.Time, n, anchor int) time.Time {
	first := time.Date(d.Year(), d.Month()+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(anchor, last)-1)
}

func minor(t testing.TB, m any) int64 {
	t.Helper()
	if m == nil {
		return 0
	}
	n, err := strconv.ParseInt(fmt.Sprint(m.(map[string]any)["minorUnits"]), 10, 64)
	if err != nil && m.(map[string]any)["minorUnits"] != nil {
		t.Fatal(err)
	}
	return n
}

// ledgerActors are a submitter and a second finance member who approves
// and pays, as separation of duties asks.
func ledgerActors(t *testing.T, f *fixture) (submit, pay *apptest.Env) {
	submit = f.env.WithToken(f.actors.FinanceTeam)
	pay = f.env.WithToken(f.env.Person(t, "treasurer", false))
	f.env.Member(t, "finance", "treasurer", "member")
	return submit, pay
}

func (f *fixture) reverse(t testing.TB, tx string) string {
	t.Helper()
	return f.must(t, "POST", "/v1/"+tx+":reverse", `{"requestId":"`+rid()+`"}`)["name"].(string)
}

// Reversing an entry changes what was derived from it, in the same
// transaction: donation refunded, expense payable again, subscription
// payment uncounted, sponsorship total reduced.
func TestReversalsFollowTheLedger(t *testing.T) {
	f := start(t)
	submit, pay := ledgerActors(t, f)
	anon := f.env.WithToken("")

	// A donation: refunded, out of its goal's progress and the public view.
	f.must(t, "POST", "/v1/goals?goalId=hosting", `{"displayName":"Hosting","target":{"currencyCode":"USD","minorUnits":"100000"},"period":"PERIOD_ONE_OFF"}`)
	d := f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"2500"},"donorName":"Ann","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL","goal":"goals/hosting"}`)
	if d["state"] != "STATE_RECEIVED" {
		t.Errorf("new donation state %v", d["state"])
	}
	if p := minor(t, f.must(t, "GET", "/v1/goals/hosting", "")["progress"]); p != 2500 {
		t.Fatalf("progress %d before the refund", p)
	}
	refund := f.reverse(t, d["transaction"].(string))
	got := f.must(t, "GET", "/v1/"+d["name"].(string), "")
	if got["state"] != "STATE_REFUNDED" || got["refundTransaction"] != refund {
		t.Errorf("after reversal: state %v refund %v, want REFUNDED %s", got["state"], got["refundTransaction"], refund)
	}
	pub := anon.Do(t, "GET", "/v1/"+d["name"].(string), "").JSON(t)
	if pub["state"] != "STATE_REFUNDED" || pub["refundTransaction"] != "" {
		t.Errorf("public view of a refunded gift: %v", pub)
	}
	if p := minor(t, anon.Do(t, "GET", "/v1/goals/hosting", "").JSON(t)["progress"]); p != 0 {
		t.Errorf("progress %d after the refund, want 0", p)
	}
	if b := f.balance(t, "paypal"); b != 0 {
		t.Errorf("paypal balance %d after the refund", b)
	}

	// An expense: its payment reversed, it is APPROVED and payable again.
	e := submit.Do(t, "POST", "/v1/expenses", `{"payee":"Hetzner","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"4000"},"description":"server"}`).JSON(t)
	name := e["name"].(string)
	if res := pay.Do(t, "POST", "/v1/"+name+":approve", `{}`); res.Status != http.StatusOK {
		t.Fatalf("approve: %s", res.Body)
	}
	paid := pay.Do(t, "POST", "/v1/"+name+":pay", `{"requestId":"`+rid()+`"}`).JSON(t)
	first := paid["transaction"].(string)
	rev := f.reverse(t, first)
	got = f.must(t, "GET", "/v1/"+name, "")
	if got["state"] != "STATE_APPROVED" || got["transaction"] != "" {
		t.Errorf("after reversing its payment: %v (transaction %v)", got["state"], got["transaction"])
	}
	again := pay.Do(t, "POST", "/v1/"+name+":pay", `{"requestId":"`+rid()+`"}`)
	if again.Status != http.StatusOK || again.JSON(t)["state"] != "STATE_PAID" || again.JSON(t)["transaction"] == first {
		t.Fatalf("paying again: %d %s", again.Status, again.Body)
	}
	var steps []string
	for _, h := range again.JSON(t)["history"].([]any) {
		h := h.(map[string]any)
		steps = append(steps, fmt.Sprintf("%v:%v", h["action"], h["transaction"]))
	}
	want := []string{"submit:", "approve:", "pay:" + first, "reverse_payment:" + rev, "pay:" + again.JSON(t)["transaction"].(string)}
	if fmt.Sprint(steps) != fmt.Sprint(want) {
		t.Errorf("history %v\nwant %v", steps, want)
	}
	if b := f.balance(t, "hosting"); b != 4000 {
		t.Errorf("hosting balance %d after pay, reverse, pay", b)
	}

	// A subscription: the reversed payment stops counting; the due date
	// moves back one period, keeping its anchor day.
	sub := f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"Fan","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH","nextDueDate":"2027-01-31"}`)["name"].(string)
	var payments []string
	for i := 0; i < 2; i++ {
		f.must(t, "POST", "/v1/"+sub+":recordPayment", `{"requestId":"`+rid()+`"}`)
	}
	db := f.env.DB(t, "finance")
	rows, _ := db.Query(context.Background(), `SELECT transaction_id::text FROM payments WHERE subscription_id = $1 ORDER BY transaction_id`, sub[len("subscriptions/"):])
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		payments = append(payments, "transactions/"+id)
	}
	rows.Close()
	f.reverse(t, payments[1])
	s := f.must(t, "GET", "/v1/"+sub, "")
	if s["paymentCount"] != float64(1) || s["nextDueDate"] != "2027-02-28" {
		t.Errorf("after reversing a payment: count %v due %v, want 1 and 2027-02-28", s["paymentCount"], s["nextDueDate"])
	}
	if s = f.must(t, "POST", "/v1/"+sub+":recordPayment", `{"requestId":"`+rid()+`"}`); s["nextDueDate"] != "2027-03-31" {
		t.Errorf("paid again: due %v, want 2027-03-31", s["nextDueDate"])
	}

	// A sponsorship: paid drops by the reversed payment.
	sp := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"Koozali","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"10000"},"period":"INTERVAL_MONTH"}`)["name"].(string)
	f.must(t, "POST", "/v1/"+sp+":recordPayment", `{"requestId":"`+rid()+`"}`)
	f.must(t, "POST", "/v1/"+sp+":recordPayment", `{"requestId":"`+rid()+`"}`)
	var spTx string
	_ = db.QueryRow(context.Background(), `SELECT transaction_id::text FROM payments WHERE sponsorship_id = $1 LIMIT 1`, sp[len("sponsorships/"):]).Scan(&spTx)
	f.reverse(t, "transactions/"+spTx)
	if p := minor(t, f.must(t, "GET", "/v1/"+sp, "")["paid"]); p != 10000 {
		t.Errorf("sponsorship paid %d after reversing one of two payments, want 10000", p)
	}
	f.checkLedger(t)
}

// Monthly and yearly schedules keep their anchor day through short months
// and leap years, and the overdue list sees every month.
func TestSchedulesKeepTheirAnchorDay(t *testing.T) {
	f := start(t)
	for _, c := range []struct {
		interval, first string
		want            []string
	}{
		{"INTERVAL_MONTH", "2027-01-31", []string{"2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30"}},
		{"INTERVAL_MONTH", "2028-01-31", []string{"2028-02-29", "2028-03-31"}},
		{"INTERVAL_MONTH", "2028-01-30", []string{"2028-02-29", "2028-03-30"}},
		{"INTERVAL_MONTH", "2027-12-31", []string{"2028-01-31", "2028-02-29", "2028-03-31"}},
		{"INTERVAL_MONTH", "2027-08-15", []string{"2027-09-15", "2027-10-15"}},
		{"INTERVAL_YEAR", "2028-02-29", []string{"2029-02-28", "2030-02-28", "2031-02-28", "2032-02-29", "2033-02-28"}},
		{"INTERVAL_YEAR", "2027-03-31", []string{"2028-03-31"}},
	} {
		sub := f.must(t, "POST", "/v1/subscriptions", fmt.Sprintf(`{"subscriberName":"S","amount":{"currencyCode":"USD","minorUnits":"100"},"interval":%q,"nextDueDate":%q}`, c.interval, c.first))["name"].(string)
		var got []string
		for range c.want {
			got = append(got, f.must(t, "POST", "/v1/"+sub+":recordPayment", `{"requestId":"`+rid()+`"}`)["nextDueDate"].(string))
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s from %s: %v, want %v", c.interval, c.first, got, c.want)
		}
		// Reversing every payment walks back to the first due date.
		rows, _ := f.env.DB(t, "finance").Query(context.Background(), `SELECT transaction_id::text FROM payments WHERE subscription_id = $1`, sub[len("subscriptions/"):])
		var txs []string
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			txs = append(txs, id)
		}
		rows.Close()
		for _, id := range txs {
			f.reverse(t, "transactions/"+id)
		}
		if s := f.must(t, "GET", "/v1/"+sub, ""); s["nextDueDate"] != c.first || s["paymentCount"] != float64(0) {
			t.Errorf("%s from %s, all payments reversed: due %v count %v", c.interval, c.first, s["nextDueDate"], s["paymentCount"])
		}
	}

	// Dates stay four-digit years: a schedule cannot start in year 0 nor be
	// paid past 9999-12-31.
	for _, c := range []struct{ interval, first, want string }{
		{"INTERVAL_MONTH", "9999-11-30", "9999-12-30"},
		{"INTERVAL_MONTH", "9999-12-31", ""},
		{"INTERVAL_YEAR", "9998-02-28", "9999-02-28"},
		{"INTERVAL_YEAR", "9999-01-01", ""},
	} {
		sub := f.must(t, "POST", "/v1/subscriptions", fmt.Sprintf(`{"subscriberName":"S","amount":{"currencyCode":"USD","minorUnits":"100"},"interval":%q,"nextDueDate":%q}`, c.interval, c.first))["name"].(string)
		res := f.admin.Do(t, "POST", "/v1/"+sub+":recordPayment", `{"requestId":"`+rid()+`"}`)
		switch {
		case c.want == "" && (res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "DATE_OUT_OF_RANGE"):
			t.Errorf("paying %s due %s: %d %s", c.interval, c.first, res.Status, res.Body)
		case c.want != "" && (res.Status != http.StatusOK || res.JSON(t)["nextDueDate"] != c.want):
			t.Errorf("paying %s due %s: %d %s, want due %s", c.interval, c.first, res.Status, res.Body, c.want)
		}
	}
	if res := f.admin.Do(t, "POST", "/v1/subscriptions", `{"subscriberName":"S","amount":{"currencyCode":"USD","minorUnits":"100"},"interval":"INTERVAL_MONTH","nextDueDate":"0000-01-01"}`); res.Status != http.StatusBadRequest {
		t.Errorf("a schedule from year 0: %d %s", res.Status, res.Body)
	}

	// Paid through January 31st, the February payment is overdue on March 1st.
	sub := f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"Late","amount":{"currencyCode":"USD","minorUnits":"100"},"interval":"INTERVAL_MONTH","nextDueDate":"2027-01-31"}`)["name"].(string)
	f.must(t, "POST", "/v1/"+sub+":recordPayment", `{"requestId":"`+rid()+`"}`)
	f.env.Clock.Set(time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC))
	found := false
	for _, s := range f.must(t, "GET", "/v1/subscriptions?overdue=true&pageSize=100", "")["subscriptions"].([]any) {
		found = found || s.(map[string]any)["name"] == sub
	}
	if !found {
		t.Errorf("a subscription due 2027-02-28 is not overdue on 2027-03-01")
	}
}

// Runway divides cash by the average costs of complete months: the month
// the clock is in does not count until it ends.
func TestRunwayAveragesCompleteMonths(t *testing.T) {
	f := start(t)
	f.env.Clock.Set(time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC))
	entry := func(account, from string, amt int64, when string) {
		f.must(t, "POST", "/v1/transactions", fmt.Sprintf(`{"effectiveTime":%q,"postings":[{"account":"accounts/%s","amount":{"currencyCode":"USD","minorUnits":"%d"}},{"account":"accounts/%s","amount":{"currencyCode":"USD","minorUnits":"%d"}}]}`, when, account, amt, from, -amt))
	}
	entry("bank", "equity", 1_000_000, "2026-07-01T00:00:00Z")
	// August 30,000, September 60,000, October 90,000; November so far 3,000.
	entry("hosting", "bank", 30_000, "2026-08-15T00:00:00Z")
	entry("hosting", "bank", 60_000, "2026-09-15T00:00:00Z")
	entry("hosting", "bank", 90_000, "2026-10-15T00:00:00Z")
	entry("hosting", "bank", 3_000, "2026-11-05T00:00:00Z")
	report := func(month string) map[string]any {
		return f.must(t, "GET", "/v1/reports/monthly?month="+month, "")["currencies"].([]any)[0].(map[string]any)
	}
	for _, c := range []struct {
		month      string
		cash, avg  int64
		incomplete bool
	}{
		{"2026-09", 1_000_000 - 90_000, (0 + 30_000 + 60_000) / 3, false},
		{"2026-10", 1_000_000 - 180_000, (30_000 + 60_000 + 90_000) / 3, false},
		// November is unfinished: August to October, not September to November.
		{"2026-11", 1_000_000 - 183_000, (30_000 + 60_000 + 90_000) / 3, true},
		{"2026-12", 1_000_000 - 183_000, (30_000 + 60_000 + 90_000) / 3, true},
	} {
		r := report(c.month)
		cash, _ := strconv.ParseInt(fmt.Sprint(r["cash"]), 10, 64)
		avg, _ := strconv.ParseInt(fmt.Sprint(r["averageCosts"]), 10, 64)
		if cash != c.cash || avg != c.avg {
			t.Errorf("%s: cash %d average %d, want %d and %d", c.month, cash, avg, c.cash, c.avg)
		}
		if rw := r["runwayMonths"].(float64); rw != float64(c.cash)/float64(c.avg) {
			t.Errorf("%s: runway %v", c.month, rw)
		}
	}
	// Once November ends it counts.
	f.env.Clock.Set(time.Date(2026, 12, 1, 0, 0, 1, 0, time.UTC))
	if avg, _ := strconv.ParseInt(fmt.Sprint(report("2026-11")["averageCosts"]), 10, 64); avg != (60_000+90_000+3_000)/3 {
		t.Errorf("November once complete: average %d", avg)
	}
}

// Runway is never negative: with no cash (or less than none) it is 0 months.
func TestRunwayWithoutCashIsZero(t *testing.T) {
	f := start(t)
	f.env.Clock.Set(time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC))
	f.must(t, "POST", "/v1/transactions", `{"effectiveTime":"2026-09-15T00:00:00Z","postings":[{"account":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"30000"}},{"account":"accounts/bank","amount":{"currencyCode":"USD","minorUnits":"-30000"}}]}`)
	r := f.must(t, "GET", "/v1/reports/monthly?month=2026-10", "")["currencies"].([]any)[0].(map[string]any)
	if fmt.Sprint(r["cash"]) != "-30000" {
		t.Fatalf("cash %v, want -30000", r["cash"])
	}
	if rw, ok := r["runwayMonths"].(float64); !ok || rw != 0 {
		t.Errorf("runway with cash -30000: %v, want 0", r["runwayMonths"])
	}
}

// After a random mix of writes and reversals, every record derived from the
// ledger agrees with it: donations, expenses, subscriptions, sponsorships,
// goals, budgets and reports.
func TestDerivedViewsAgreeWithTheLedger(t *testing.T) {
	f := start(t)
	submit, pay := ledgerActors(t, f)
	f.env.Clock.Set(time.Date(2026, 12, 15, 12, 0, 0, 0, time.UTC))
	f.must(t, "POST", "/v1/accounts?accountId=dev-fund", `{"displayName":"Development fund","type":"TYPE_INCOME","currencyCode":"USD","earmarked":true}`)
	f.must(t, "POST", "/v1/goals?goalId=fund", `{"displayName":"Fund","target":{"currencyCode":"USD","minorUnits":"500000"},"period":"PERIOD_YEARLY","fundAccount":"accounts/dev-fund"}`)
	f.must(t, "POST", "/v1/goals?goalId=earmark", `{"displayName":"Earmark","target":{"currencyCode":"USD","minorUnits":"500000"},"period":"PERIOD_ONE_OFF"}`)
	var subs, sps []string
	type schedule struct {
		first  time.Time
		anchor int
		step   int // months
	}
	schedules := map[string]schedule{}
	for i, sc := range []struct {
		interval, first string
		anchor, step    int
	}{{"INTERVAL_MONTH", "2026-01-31", 31, 1}, {"INTERVAL_YEAR", "2024-02-29", 29, 12}, {"INTERVAL_MONTH", "2026-03-30", 30, 1}} {
		n := f.must(t, "POST", "/v1/subscriptions", fmt.Sprintf(`{"subscriberName":"S%d","amount":{"currencyCode":"USD","minorUnits":"%d"},"interval":%q,"nextDueDate":%q}`,
			i, 300+i, sc.interval, sc.first))["name"].(string)
		first, _ := time.Parse("2006-01-02", sc.first)
		schedules[n] = schedule{first, sc.anchor, sc.step}
		subs = append(subs, n)
		sps = append(sps, f.must(t, "POST", "/v1/sponsorships", fmt.Sprintf(`{"organisation":"O%d","kind":%q,"amount":{"currencyCode":"USD","minorUnits":"%d"},"period":"INTERVAL_MONTH"}`,
			i, []string{"KIND_SPONSORSHIP", "KIND_ADVERTISING"}[i%2], 1000+i))["name"].(string))
	}
	db := f.env.DB(t, "finance")
	ctx := context.Background()
	lastPayment := func() string {
		var id string
		if err := db.QueryRow(ctx, `SELECT transaction_id::text FROM payments ORDER BY transaction_id DESC LIMIT 1`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return "transactions/" + id
	}
	rng := rand.New(rand.NewPCG(9, 9))
	var posted []string // entries not yet reversed
	var expensesList []string
	for i := 0; i < 150; i++ {
		when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(340*24)) * time.Hour).Format(time.RFC3339)
		amt := 100 + rng.IntN(50000)
		switch rng.IntN(8) {
		case 0, 1:
			goal := []string{"", `,"goal":"goals/fund"`, `,"goal":"goals/earmark"`}[rng.IntN(3)]
			d := f.must(t, "POST", "/v1/donations?requestId="+rid(), fmt.Sprintf(`{"amount":{"currencyCode":"USD","minorUnits":"%d"},"donorName":"D","channel":"CHANNEL_PAYPAL","receiveTime":%q%s}`, amt, when, goal))
			posted = append(posted, d["transaction"].(string))
		case 2:
			e := submit.Do(t, "POST", "/v1/expenses", fmt.Sprintf(`{"payee":"Hetzner","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"%d"},"description":"hosting"}`, amt)).JSON(t)
			n := e["name"].(string)
			expensesList = append(expensesList, n)
			pay.Do(t, "POST", "/v1/"+n+":approve", `{}`)
			fallthrough
		case 3:
			if len(expensesList) == 0 {
				continue
			}
			// Pay an approved expense: a new one, or one whose payment was reversed.
			n := expensesList[rng.IntN(len(expensesList))]
			if e := f.must(t, "GET", "/v1/"+n, ""); e["state"] == "STATE_APPROVED" {
				p := pay.Do(t, "POST", "/v1/"+n+":pay", fmt.Sprintf(`{"requestId":%q,"payTime":%q}`, rid(), when))
				if p.Status != http.StatusOK {
					t.Fatalf("pay: %s", p.Body)
				}
				posted = append(posted, p.JSON(t)["transaction"].(string))
			}
		case 4:
			f.must(t, "POST", "/v1/"+subs[rng.IntN(len(subs))]+":recordPayment", fmt.Sprintf(`{"requestId":%q,"receiveTime":%q}`, rid(), when))
			posted = append(posted, lastPayment())
		case 5:
			f.must(t, "POST", "/v1/"+sps[rng.IntN(len(sps))]+":recordPayment", fmt.Sprintf(`{"requestId":%q,"receiveTime":%q}`, rid(), when))
			posted = append(posted, lastPayment())
		case 6, 7:
			if len(posted) > 0 {
				k := rng.IntN(len(posted))
				f.reverse(t, posted[k])
				posted = append(posted[:k], posted[k+1:]...)
			}
		}
	}
	f.checkLedger(t)
	reversed := func(tx string) bool {
		var n int
		_ = db.QueryRow(ctx, `SELECT count(*) FROM transactions WHERE reverses_id = $1`, tx[len("transactions/"):]).Scan(&n)
		return n > 0
	}
	disagree := 0
	// Donations: refunded exactly when their entry is reversed; the earmarked
	// goal's progress is the unrefunded gifts.
	var earmarked int64
	for _, x := range f.must(t, "GET", "/v1/donations?pageSize=1000", "")["donations"].([]any) {
		d := x.(map[string]any)
		if (d["state"] == "STATE_REFUNDED") != reversed(d["transaction"].(string)) {
			disagree++
			t.Errorf("donation %v: state %v, entry reversed %v", d["name"], d["state"], reversed(d["transaction"].(string)))
		}
		if d["goal"] == "goals/earmark" && d["state"] == "STATE_RECEIVED" {
			earmarked += minor(t, d["amount"])
		}
	}
	if p := minor(t, f.must(t, "GET", "/v1/goals/earmark", "")["progress"]); p != earmarked {
		disagree++
		t.Errorf("earmark progress %d, unrefunded gifts %d", p, earmarked)
	}
	var fund int64
	_ = db.QueryRow(ctx, `SELECT coalesce(-sum(p.amount), 0)::bigint FROM postings p JOIN transactions t ON t.id = p.transaction_id
		WHERE p.account_id = 'dev-fund' AND t.effective_time >= '2026-01-01'`).Scan(&fund)
	if p := minor(t, f.must(t, "GET", "/v1/goals/fund", "")["progress"]); p != fund {
		disagree++
		t.Errorf("fund progress %d, ledger %d", p, fund)
	}
	// Expenses: PAID exactly when they hold an unreversed payment; every
	// payment and reversal is in the history.
	for _, n := range expensesList {
		e := f.must(t, "GET", "/v1/"+n, "")
		pays, reversals := 0, 0
		for _, h := range e["history"].([]any) {
			h := h.(map[string]any)
			switch h["action"] {
			case "pay":
				pays++
				if !reversed(h["transaction"].(string)) && e["transaction"] != h["transaction"] {
					disagree++
					t.Errorf("%s: unreversed payment %v is not its transaction %v", n, h["transaction"], e["transaction"])
				}
			case "reverse_payment":
				reversals++
			}
		}
		paid := e["state"] == "STATE_PAID"
		if paid != (pays == reversals+1) || (paid && reversed(e["transaction"].(string))) || (!paid && e["transaction"] != "") {
			disagree++
			t.Errorf("%s: state %v with %d payments and %d reversals", n, e["state"], pays, reversals)
		}
	}
	// Subscriptions: the count is the unreversed payments, the due date the
	// anchor moved on by that many periods.
	for _, n := range subs {
		s := f.must(t, "GET", "/v1/"+n, "")
		var count int
		_ = db.QueryRow(ctx, `SELECT count(*) FROM payments pm WHERE pm.subscription_id = $1
			AND NOT EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_id = pm.transaction_id)`, n[len("subscriptions/"):]).Scan(&count)
		sc := schedules[n]
		want := addMonths(sc.first, sc.step*count, sc.anchor).Format("2006-01-02")
		if s["paymentCount"] != float64(count) || s["nextDueDate"] != want {
			disagree++
			t.Errorf("%s: count %v due %v; ledger %d payments, due %s", n, s["paymentCount"], s["nextDueDate"], count, want)
		}
	}
	// Sponsorships: paid is the unreversed payments.
	for _, n := range sps {
		var sum int64
		_ = db.QueryRow(ctx, `SELECT coalesce(sum(p.amount), 0)::bigint FROM payments pm JOIN postings p ON p.transaction_id = pm.transaction_id AND p.amount > 0
			WHERE pm.sponsorship_id = $1 AND NOT EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_id = pm.transaction_id)`, n[len("sponsorships/"):]).Scan(&sum)
		if p := minor(t, f.must(t, "GET", "/v1/"+n, "")["paid"]); p != sum {
			disagree++
			t.Errorf("%s: paid %d, ledger %d", n, p, sum)
		}
	}
	// Reports: each month's income and costs are its postings.
	for m := 1; m <= 12; m++ {
		month := time.Date(2026, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		var income, expense int64
		_ = db.QueryRow(ctx, `SELECT
			coalesce(-sum(p.amount) FILTER (WHERE a.type = 'income'), 0)::bigint, coalesce(sum(p.amount) FILTER (WHERE a.type = 'expense'), 0)::bigint
			FROM postings p JOIN transactions t ON t.id = p.transaction_id JOIN accounts a ON a.id = p.account_id
			WHERE t.effective_time >= $1 AND t.effective_time < $2`, month, month.AddDate(0, 1, 0)).Scan(&income, &expense)
		r := f.must(t, "GET", "/v1/reports/monthly?month="+month.Format("2006-01"), "")
		var gotIncome, gotExpense int64
		for _, c := range r["currencies"].([]any) {
			c := c.(map[string]any)
			gotIncome, _ = strconv.ParseInt(fmt.Sprint(c["incomeTotal"]), 10, 64)
			gotExpense, _ = strconv.ParseInt(fmt.Sprint(c["expenseTotal"]), 10, 64)
		}
		if gotIncome != income || gotExpense != expense {
			disagree++
			t.Errorf("%s: report income %d costs %d; ledger %d %d", month.Format("2006-01"), gotIncome, gotExpense, income, expense)
		}
	}
	// The mix reversed something of every kind, or it proves little.
	var refunded, expenseReversals, paymentReversals int
	_ = db.QueryRow(ctx, `SELECT (SELECT count(*) FROM donations WHERE refund_transaction_id IS NOT NULL),
		(SELECT count(*) FROM expense_events WHERE action = 'reverse_payment'),
		(SELECT count(*) FROM payments pm JOIN transactions r ON r.reverses_id = pm.transaction_id)`).Scan(&refunded, &expenseReversals, &paymentReversals)
	if refunded == 0 || expenseReversals == 0 || paymentReversals == 0 {
		t.Errorf("the mix reversed %d donations, %d expense payments, %d subscription/sponsorship payments; want some of each", refunded, expenseReversals, paymentReversals)
	}
	t.Logf("reversed %d donations, %d expense payments, %d subscription/sponsorship payments; derived views disagreeing with the ledger: %d",
		refunded, expenseReversals, paymentReversals, disagree)
}

// A reversal posted in a session whose plans were made while the books
// were small (analyzed then, as a new database is) still finds what the
// reversed entry paid for by key: with its gift, expense, subscription and
// sponsorship rows followed, the session's transaction has scanned none of
// the tables the reversal trigger reads sequentially (00016). Planned with
// sequential scans, it scanned them whole on every reversal until
// autovacuum analyzed them again.
func TestReversalTriggerFindsRowsByKey(t *testing.T) {
	f := start(t)
	submit, pay := ledgerActors(t, f)
	ctx := context.Background()

	// One entry of each kind the trigger follows.
	var entries []string
	d := f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"2500"},"donorName":"Ann","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_PAYPAL"}`)
	entries = append(entries, d["transaction"].(string))
	e := submit.Do(t, "POST", "/v1/expenses", `{"payee":"Hetzner","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"4000"},"description":"server"}`).JSON(t)
	if res := pay.Do(t, "POST", "/v1/"+e["name"].(string)+":approve", `{}`); res.Status != http.StatusOK {
		t.Fatalf("approve: %s", res.Body)
	}
	entries = append(entries, pay.Do(t, "POST", "/v1/"+e["name"].(string)+":pay", `{"requestId":"`+rid()+`"}`).JSON(t)["transaction"].(string))
	sub := f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"Fan","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH","nextDueDate":"2027-01-31"}`)["name"].(string)
	f.must(t, "POST", "/v1/"+sub+":recordPayment", `{"requestId":"`+rid()+`"}`)
	sp := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"Koozali","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"10000"},"period":"INTERVAL_MONTH"}`)["name"].(string)
	f.must(t, "POST", "/v1/"+sp+":recordPayment", `{"requestId":"`+rid()+`"}`)

	db := f.env.DB(t, "finance")
	rows, err := db.Query(ctx, `SELECT 'transactions/' || transaction_id FROM payments ORDER BY subscription_id NULLS LAST`)
	if err != nil {
		t.Fatal(err)
	}
	paid, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(paid) != 2 {
		t.Fatalf("payments %v: %v", paid, err)
	}
	entries = append(entries, paid...)
	type posting struct {
		Account, Currency string
		Amount            int64
	}
	postings := map[string][]posting{}
	for _, id := range entries {
		rows, err := db.Query(ctx, `SELECT account_id, currency_code, amount FROM postings WHERE transaction_id = $1 ORDER BY seq`, resource.ID("transactions", id))
		if err != nil {
			t.Fatal(err)
		}
		if postings[id], err = pgx.CollectRows(rows, pgx.RowToStructByPos[posting]); err != nil {
			t.Fatal(err)
		}
	}
	// A session of its own: the counts of scans it has not yet reported
	// (pg_stat_xact_user_tables shows those too) are the reversals' alone.
	conn, err := pgx.ConnectConfig(ctx, db.Config().ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Statistics of small tables, as autovacuum leaves them on a new
	// database; it analyzes nothing again during the test.
	if _, err := conn.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// More reversals than a plan cache's custom plans (five), so that the
	// last ones run the plans it keeps: each entry is reversed, then its
	// reversal reversed, and so on.
	for round := range 3 {
		for i, id := range entries {
			rev := uuid.NewString()
			if _, err := tx.Exec(ctx, `INSERT INTO transactions (id, effective_time, source, reverses_id, creator) VALUES ($1, now(), 'manual', $2, 'people/test')`, rev, resource.ID("transactions", id)); err != nil {
				t.Fatalf("round %d, reversing %s: %v", round, id, err)
			}
			for n, p := range postings[id] {
				if _, err := tx.Exec(ctx, `INSERT INTO postings VALUES ($1, $2, $3, $4, $5)`, rev, n+1, p.Account, p.Currency, -p.Amount); err != nil {
					t.Fatal(err)
				}
			}
			postings["transactions/"+rev] = postings[id]
			entries[i] = "transactions/" + rev
		}
	}
	if _, err := tx.Exec(ctx, `SET CONSTRAINTS ALL IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	rows, err = tx.Query(ctx, `SELECT relname, seq_scan FROM pg_stat_xact_user_tables
		WHERE relname IN ('payments', 'donations', 'expense_events', 'subscriptions', 'sponsorships') AND seq_scan > 0 ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	type scans struct {
		Table string
		N     int64
	}
	seq, err := pgx.CollectRows(rows, pgx.RowToStructByPos[scans])
	if err != nil {
		t.Fatal(err)
	}
	if len(seq) > 0 {
		t.Errorf("sequential scans by the reversal trigger: %v", seq)
	}
	// What the trigger did (read after the counts, which these reads would
	// add to): the gift refunded, the expense payable again, the payments
	// no longer counted.
	var followed bool
	if err := tx.QueryRow(ctx, `SELECT
		    (SELECT refund_transaction_id IS NOT NULL FROM donations WHERE id = $1) AND
		    (SELECT state = 'approved' FROM expenses WHERE id = $2) AND
		    (SELECT payment_count = 0 FROM subscriptions WHERE id = $3) AND
		    (SELECT paid = 0 FROM sponsorships WHERE id = $4)`,
		resource.ID("donations", d["name"].(string)), resource.ID("expenses", e["name"].(string)),
		resource.ID("subscriptions", sub), resource.ID("sponsorships", sp)).Scan(&followed); err != nil || !followed {
		t.Fatalf("the reversals were not followed (%v): %v", followed, err)
	}
}
