package finance_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
)

// Amounts that no write may accept: just past the bound, and int64's ends.
var hugeAmounts = []string{"1000000000000001", "-1000000000000001", "5000000000000000000", "9223372036854775807", "-9223372036854775808"}

// statusCount counts answers by HTTP status.
type statusCount struct {
	mu sync.Mutex
	by map[int]int
}

func (c *statusCount) add(status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[int]int{}
	}
	c.by[status]++
}

func (c *statusCount) check(t *testing.T) {
	t.Helper()
	t.Logf("statuses: %v", c.by)
	if n := c.by[http.StatusInternalServerError]; n > 0 {
		t.Errorf("%d answers were 500", n)
	}
}

// A bad amount on every write path is a 400 naming the field, with reason
// AMOUNT_OUT_OF_RANGE, and nothing is written.
func TestAmountsOutOfRangeAreRefused(t *testing.T) {
	f := start(t)
	f.must(t, "POST", "/v1/goals?goalId=hosting", `{"displayName":"Hosting","target":{"currencyCode":"USD","minorUnits":"1000"},"period":"PERIOD_YEARLY"}`)
	f.must(t, "POST", "/v1/tiers?tierId=friend", `{"displayName":"Friend","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)
	sp := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"Koozali","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"100"},"period":"INTERVAL_MONTH"}`)
	b := f.must(t, "POST", "/v1/budgets", `{"category":"accounts/hosting","year":2026,"planned":{"currencyCode":"USD","minorUnits":"100"}}`)
	var counts statusCount
	for _, amt := range hugeAmounts {
		money := fmt.Sprintf(`{"currencyCode":"USD","minorUnits":%q}`, amt)
		for _, c := range []struct{ method, path, body, field string }{
			{"POST", "/v1/transactions", fmt.Sprintf(`{"postings":[{"account":"accounts/bank","amount":%s},{"account":"accounts/equity","amount":{"currencyCode":"USD","minorUnits":"-1"}}]}`, money), "transaction.postings[0].amount"},
			{"POST", "/v1/donations", fmt.Sprintf(`{"amount":%s,"donorName":"X","channel":"CHANNEL_BANK"}`, money), "donation.amount"},
			{"POST", "/v1/expenses", fmt.Sprintf(`{"payee":"Hetzner","category":"accounts/hosting","amount":%s,"description":"x"}`, money), "expense.amount"},
			{"POST", "/v1/goals?goalId=big", fmt.Sprintf(`{"displayName":"Big","target":%s,"period":"PERIOD_ONE_OFF"}`, money), "goal.target"},
			{"PATCH", "/v1/goals/hosting?updateMask=target", fmt.Sprintf(`{"target":%s}`, money), "goal.target"},
			{"POST", "/v1/tiers?tierId=patron", fmt.Sprintf(`{"displayName":"Patron","amount":%s,"interval":"INTERVAL_YEAR"}`, money), "tier.amount"},
			{"PATCH", "/v1/tiers/friend?updateMask=amount", fmt.Sprintf(`{"amount":%s}`, money), "tier.amount"},
			{"POST", "/v1/subscriptions", fmt.Sprintf(`{"subscriberName":"Fan","amount":%s,"interval":"INTERVAL_MONTH"}`, money), "subscription.amount"},
			{"POST", "/v1/sponsorships", fmt.Sprintf(`{"organisation":"Big Co","kind":"KIND_SPONSORSHIP","amount":%s,"period":"INTERVAL_YEAR"}`, money), "sponsorship.amount"},
			{"PATCH", "/v1/" + sp["name"].(string) + "?updateMask=amount", fmt.Sprintf(`{"amount":%s}`, money), "sponsorship.amount"},
			{"POST", "/v1/budgets", fmt.Sprintf(`{"category":"accounts/travel","year":2026,"planned":%s}`, money), "budget.planned"},
			{"PATCH", "/v1/" + b["name"].(string) + "?updateMask=planned", fmt.Sprintf(`{"planned":%s}`, money), "budget.planned"},
		} {
			res := f.admin.Do(t, c.method, c.path, c.body)
			counts.add(res.Status)
			if res.Status != http.StatusBadRequest {
				t.Errorf("%s %s with %s: HTTP %d, want 400\n%s", c.method, c.path, amt, res.Status, res.Body)
				continue
			}
			st := res.RPCStatus(t)
			if st.Reason() != "AMOUNT_OUT_OF_RANGE" || len(st.Fields()) == 0 || !strings.HasPrefix(st.Fields()[0], c.field) {
				t.Errorf("%s %s with %s: reason %q fields %v, want AMOUNT_OUT_OF_RANGE on %s", c.method, c.path, amt, st.Reason(), st.Fields(), c.field)
			}
		}
	}
	counts.check(t)
	var rows int
	_ = f.env.DB(t, "finance").QueryRow(context.Background(), `SELECT (SELECT count(*) FROM postings) + (SELECT count(*) FROM donations)
		+ (SELECT count(*) FROM expenses) + (SELECT count(*) FROM subscriptions) + (SELECT count(*) FROM goals WHERE id = 'big')`).Scan(&rows)
	if rows != 0 {
		t.Errorf("%d rows written by refused requests", rows)
	}
	f.checkLedger(t)
}

// post sends a manual entry debiting account and crediting from by amt.
func (f *fixture) post(t testing.TB, account, from string, amt int64) *apptest.Response {
	return f.admin.Do(t, "POST", "/v1/transactions", fmt.Sprintf(`{"postings":[{"account":"accounts/%s","amount":{"currencyCode":"USD","minorUnits":"%d"}},{"account":"accounts/%s","amount":{"currencyCode":"USD","minorUnits":"%d"}}]}`, account, amt, from, -amt))
}

func (f *fixture) balance(t testing.TB, account string) int64 {
	t.Helper()
	var b int64
	fmt.Sscan(f.must(t, "GET", "/v1/accounts/"+account, "")["balance"].(map[string]any)["minorUnits"].(string), &b)
	return b
}

// Balances stay within 10^15, one write or many at once: the write that
// would pass the bound is refused with AMOUNT_OUT_OF_RANGE, and the rest
// go in exactly.
func TestBalancesStayInRange(t *testing.T) {
	f := start(t)
	var counts statusCount
	// Sequential: 6*10^14 fits, a second does not, by a posting or a gift.
	if res := f.post(t, "bank", "equity", 600_000_000_000_000); res.Status != http.StatusOK {
		t.Fatalf("first posting: %d %s", res.Status, res.Body)
	}
	res := f.post(t, "bank", "hosting", 600_000_000_000_000)
	counts.add(res.Status)
	if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "AMOUNT_OUT_OF_RANGE" {
		t.Fatalf("second posting: %d %s", res.Status, res.Body)
	}
	res = f.admin.Do(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"500000000000000"},"donorName":"X","channel":"CHANNEL_BANK"}`)
	counts.add(res.Status)
	if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "AMOUNT_OUT_OF_RANGE" {
		t.Fatalf("donation past the bound: %d %s", res.Status, res.Body)
	}
	f.must(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"2500"},"donorName":"X","channel":"CHANNEL_BANK"}`)
	if b := f.balance(t, "bank"); b != 600_000_000_000_000+2500 {
		t.Fatalf("bank balance %d", b)
	}
	if b := f.balance(t, "equity"); b != -600_000_000_000_000 {
		t.Fatalf("equity balance %d", b)
	}
	// The credit side is bounded as well: equity has room for 4*10^14 more.
	res = f.post(t, "cash", "equity", 500_000_000_000_000)
	counts.add(res.Status)
	if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "AMOUNT_OUT_OF_RANGE" {
		t.Fatalf("credit past the bound: %d %s", res.Status, res.Body)
	}

	// Six at once, large amounts (the serialized path): exactly one more fits.
	run := func(n int, do func() *apptest.Response) (ok int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := do()
				counts.add(res.Status)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case res.Status == http.StatusOK:
					ok++
				case res.Status != http.StatusBadRequest || !strings.Contains(string(res.Body), "AMOUNT_OUT_OF_RANGE"):
					t.Errorf("concurrent write: %d %s", res.Status, res.Body)
				}
			}()
		}
		wg.Wait()
		return ok
	}
	if ok := run(6, func() *apptest.Response { return f.post(t, "paypal", "advertising", 400_000_000_000_000) }); ok != 2 {
		t.Errorf("6 concurrent postings of 4*10^14: %d accepted, want 2", ok)
	}
	if b := f.balance(t, "paypal"); b != 800_000_000_000_000 {
		t.Errorf("paypal balance %d, want 8*10^14", b)
	}
	if ok := run(6, func() *apptest.Response {
		return f.admin.Do(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"400000000000000"},"donorName":"X","channel":"CHANNEL_CASH"}`)
	}); ok != 2 {
		t.Errorf("6 concurrent gifts of 4*10^14: %d accepted, want 2", ok)
	}
	// Small amounts near the bound (the unserialized path must notice
	// others in flight): cash is at 8*10^14 + 199,999,999,999,500.
	f.post(t, "cash", "sponsorship", 199_999_999_999_500)
	if ok := run(6, func() *apptest.Response { return f.post(t, "cash", "subscriptions", 100) }); ok != 5 {
		t.Errorf("6 concurrent postings of 100 with room for 5: %d accepted", ok)
	}
	if b := f.balance(t, "cash"); b != 1_000_000_000_000_000 {
		t.Errorf("cash balance %d, want exactly 10^15", b)
	}
	counts.check(t)
	f.checkLedger(t)

	// A month's movement per source is bounded too: churning an account
	// (gifts in, manual entries out again) cannot grow its donations
	// movement past 2*10^15, though its balance stays small.
	f.must(t, "POST", "/v1/accounts?accountId=vault", `{"displayName":"Vault","type":"TYPE_ASSET","currencyCode":"USD"}`)
	f.must(t, "POST", "/v1/accounts?accountId=grants", `{"displayName":"Grants","type":"TYPE_INCOME","currencyCode":"USD"}`)
	f.must(t, "POST", "/v1/goals?goalId=grant", `{"displayName":"Grant","target":{"currencyCode":"USD","minorUnits":"1000"},"period":"PERIOD_ONE_OFF","fundAccount":"accounts/grants"}`)
	accepted := 0
	for i := 0; i < 4; i++ {
		res := f.admin.Do(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"900000000000000"},"donorName":"X","channel":"CHANNEL_BANK","depositAccount":"accounts/vault","goal":"goals/grant"}`)
		counts.add(res.Status)
		if res.Status == http.StatusOK {
			accepted++
			f.post(t, "grants", "vault", 900_000_000_000_000)
		}
	}
	if accepted != 2 {
		t.Errorf("churn: %d gifts of 9*10^14 accepted in a month, want 2 (2*10^15 bound)", accepted)
	}
	counts.check(t)
	f.checkLedger(t)
}

// Whatever is stored, even rows from before the bounds existed, every read
// answers: balances, reports, export, goals, budgets, MRR, sponsorships.
func TestReadsSurviveExtremeStoredRows(t *testing.T) {
	f := start(t)
	f.must(t, "POST", "/v1/goals?goalId=fund", `{"displayName":"Fund","target":{"currencyCode":"USD","minorUnits":"1000"},"period":"PERIOD_ONE_OFF","fundAccount":"accounts/donations"}`)
	f.must(t, "POST", "/v1/goals?goalId=earmark", `{"displayName":"Earmark","target":{"currencyCode":"USD","minorUnits":"1000"},"period":"PERIOD_MONTHLY"}`)
	f.must(t, "POST", "/v1/budgets", `{"category":"accounts/hosting","year":2026,"planned":{"currencyCode":"USD","minorUnits":"100"}}`)
	sp := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"Koozali","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"100"},"period":"INTERVAL_MONTH"}`)["name"].(string)
	f.must(t, "POST", "/"+"v1/"+sp+":recordPayment", `{"requestId":"`+rid()+`"}`)
	ctx := context.Background()
	db := f.env.DB(t, "finance")
	now := f.env.Clock.Now()
	month := now.Format("2006-01")
	// Rows as an old version could store them: the bounds' checks and the
	// ledger triggers are what this test goes around.
	for _, q := range []string{
		`ALTER TABLE postings DROP CONSTRAINT postings_amount_range`,
		`ALTER TABLE donations DROP CONSTRAINT donations_amount_range`,
		`ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_amount_range`,
		`ALTER TABLE goals DROP CONSTRAINT goals_target_range`,
		`ALTER TABLE postings DISABLE TRIGGER USER`,
		`ALTER TABLE transactions DISABLE TRIGGER USER`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(q, err)
		}
	}
	conn, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatal(q, err)
		}
	}
	const max, min = "9223372036854775807", "-9223372036854775808"
	for i, acct := range []string{"bank", "donations", "hosting", "paypal"} {
		sign := max
		if acct == "donations" {
			sign = min
		}
		for k := 0; k < 3; k++ {
			exec(`INSERT INTO transactions (id, description, effective_time, source) VALUES ($1, 'legacy', $2, 'donation')`,
				fmt.Sprintf("00000000-0000-7000-8000-%012d", i*10+k), now)
			exec(`INSERT INTO postings (transaction_id, seq, account_id, currency_code, amount) VALUES ($1, 1, $2, 'USD', `+sign+`)`,
				fmt.Sprintf("00000000-0000-7000-8000-%012d", i*10+k), acct)
		}
		exec(`INSERT INTO account_balances (account_id, slot, amount) VALUES ($1, 99, `+sign+`::numeric * 3)
			ON CONFLICT (account_id, slot) DO UPDATE SET amount = excluded.amount`, acct)
		exec(`INSERT INTO account_months (account_id, month, source, slot, amount) VALUES ($1, date_trunc('month', $2::timestamptz)::date, 'donation', 99, `+sign+`::numeric * 3)`, acct, now)
	}
	for k := 0; k < 2; k++ {
		exec(`INSERT INTO donations (id, currency_code, amount, donor_name, visibility, channel, goal_id, receive_time, transaction_id)
			VALUES ($1, 'USD', `+max+`, 'Legacy', 'public', 'bank', 'earmark', $2, $3)`,
			fmt.Sprintf("00000000-0000-7000-9000-%012d", k), now, fmt.Sprintf("00000000-0000-7000-8000-%012d", k))
		exec(`INSERT INTO subscriptions (id, subscriber_name, currency_code, amount, interval, state, next_due_date, anchor_day)
			VALUES ($1, 'Legacy', 'USD', `+max+`, 'month', 'active', '2026-01-31', 31)`, fmt.Sprintf("00000000-0000-7000-a000-%012d", k))
	}
	exec(`UPDATE sponsorships SET paid = ` + max)
	exec(`ALTER TABLE postings ENABLE TRIGGER USER`)
	exec(`ALTER TABLE transactions ENABLE TRIGGER USER`)

	var counts statusCount
	anon := f.env.WithToken("")
	for _, path := range []string{
		"/v1/accounts", "/v1/accounts/bank", "/v1/accounts/donations", "/v1/reports/monthly?month=" + month,
		"/v1/reports/monthly:range?from=" + now.AddDate(0, -2, 0).Format("2006-01") + "&to=" + now.AddDate(0, 3, 0).Format("2006-01"),
		"/v1/reports/recurring", "/v1/goals", "/v1/goals/fund", "/v1/goals/earmark", "/v1/budgets", "/v1/sponsorships", "/v1/" + sp,
		"/v1/donations", "/v1/tiers",
	} {
		for _, who := range []*apptest.Env{anon, f.admin} {
			res := who.Do(t, "GET", path, "")
			counts.add(res.Status)
			if res.Status != http.StatusOK {
				t.Errorf("GET %s: HTTP %d %s", path, res.Status, res.Body)
			}
		}
	}
	for _, path := range []string{"/v1/transactions", "/v1/subscriptions", "/v1/transactions:export", "/v1/transactions:export?from=" + now.Format("2006-01-02")} {
		res := f.admin.Do(t, "GET", path, "")
		counts.add(res.Status)
		if res.Status != http.StatusOK {
			t.Errorf("GET %s: HTTP %d %s", path, res.Status, res.Body)
		}
	}
	// The export's running balance is exact: three times 2^63-1.
	if res := f.admin.Do(t, "GET", "/v1/transactions:export", ""); !strings.Contains(string(res.Body), ",27670116110564327421\n") {
		t.Errorf("export running balance is not exact:\n%s", res.Body)
	}
	// Reversing a posting of -2^63 is refused, not wrapped.
	res := f.admin.Do(t, "POST", "/v1/transactions/00000000-0000-7000-8000-000000000010:reverse", `{"requestId":"`+rid()+`"}`)
	counts.add(res.Status)
	if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "AMOUNT_OUT_OF_RANGE" {
		t.Errorf("reversing -2^63: %d %s", res.Status, res.Body)
	}
	// Rows stored before the bounds cannot be written back: a state change
	// of a legacy expense or subscription is refused, not a 500.
	exec(`ALTER TABLE expenses DROP CONSTRAINT expenses_amount_range`)
	exec(`INSERT INTO expenses (id, payee, category, currency_code, amount, description, state, submitter, required_approvals)
		VALUES ('00000000-0000-7000-b000-000000000001', 'Legacy', 'hosting', 'USD', ` + max + `, 'legacy', 'submitted', 'people/legacy', 1)`)
	exec(`ALTER TABLE expenses ADD CONSTRAINT expenses_amount_range CHECK (amount <= 1000000000000000) NOT VALID`)
	exec(`ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_amount_range CHECK (amount <= 1000000000000000) NOT VALID`)
	var legacySub string
	if err := conn.QueryRow(ctx, `SELECT id::text FROM subscriptions WHERE amount > 1000000000000000 LIMIT 1`).Scan(&legacySub); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/expenses/00000000-0000-7000-b000-000000000001:approve", "/v1/subscriptions/" + legacySub + ":pause"} {
		res := f.admin.Do(t, "POST", path, `{}`)
		counts.add(res.Status)
		if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "AMOUNT_OUT_OF_RANGE" {
			t.Errorf("POST %s on a legacy row: %d %s", path, res.Status, res.Body)
		}
	}
	// Writes onto such an account are refused cleanly.
	res = f.admin.Do(t, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"100"},"donorName":"X","channel":"CHANNEL_BANK"}`)
	counts.add(res.Status)
	if res.Status != http.StatusBadRequest {
		t.Errorf("donation onto an account beyond its bound: %d %s", res.Status, res.Body)
	}
	counts.check(t)
}

// Totals kept over records hold their bound too: a currency's active
// subscriptions (so MRR) and a sponsorship's payments stay within 10^18,
// under concurrency.
func TestRecordTotalsStayInRange(t *testing.T) {
	f := start(t)
	ctx := context.Background()
	db := f.env.DB(t, "finance")
	// 999 active subscriptions at the amount bound: room for one more.
	if _, err := db.Exec(ctx, `INSERT INTO subscriptions (id, subscriber_name, currency_code, amount, interval, state, next_due_date, anchor_day)
		SELECT gen_random_uuid(), 'Big', 'USD', 1000000000000000, 'year', 'active', '2027-01-01', 1 FROM generate_series(1, 999)`); err != nil {
		t.Fatal(err)
	}
	var counts statusCount
	var wg sync.WaitGroup
	var mu sync.Mutex
	var created []string
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := f.admin.Do(t, "POST", "/v1/subscriptions", `{"subscriberName":"Big","amount":{"currencyCode":"USD","minorUnits":"1000000000000000"},"interval":"INTERVAL_MONTH"}`)
			counts.add(res.Status)
			switch {
			case res.Status == http.StatusOK:
				mu.Lock()
				created = append(created, res.JSON(t)["name"].(string))
				mu.Unlock()
			case res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "AMOUNT_OUT_OF_RANGE":
				t.Errorf("subscription past the total: %d %s", res.Status, res.Body)
			}
		}()
	}
	wg.Wait()
	if len(created) != 1 {
		t.Fatalf("%d of 6 concurrent subscriptions accepted with room for 1", len(created))
	}
	// Pausing one makes room; resuming another past the bound is refused.
	f.must(t, "POST", "/v1/"+created[0]+":pause", `{}`)
	f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"Big","amount":{"currencyCode":"USD","minorUnits":"1000000000000000"},"interval":"INTERVAL_MONTH"}`)
	res := f.admin.Do(t, "POST", "/v1/"+created[0]+":resume", `{}`)
	counts.add(res.Status)
	if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "AMOUNT_OUT_OF_RANGE" {
		t.Errorf("resume past the total: %d %s", res.Status, res.Body)
	}
	mrr := f.must(t, "GET", "/v1/reports/recurring", "")["currencies"].([]any)[0].(map[string]any)
	if got := fmt.Sprint(mrr["mrr"].(map[string]any)["minorUnits"]); got != "84250000000000000" { // 10^15 + 999*10^15/12
		t.Errorf("MRR %s", got)
	}

	// A sponsorship near the total refuses the payment that would pass it.
	sp := f.must(t, "POST", "/v1/sponsorships", `{"organisation":"Big Co","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"1000000000000000"},"period":"INTERVAL_YEAR"}`)["name"].(string)
	if _, err := db.Exec(ctx, `UPDATE sponsorships SET paid = 999500000000000000 WHERE id = $1`, sp[len("sponsorships/"):]); err != nil {
		t.Fatal(err)
	}
	res = f.admin.Do(t, "POST", "/v1/"+sp+":recordPayment", `{"requestId":"`+rid()+`"}`)
	counts.add(res.Status)
	if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "AMOUNT_OUT_OF_RANGE" {
		t.Errorf("sponsorship payment past the total: %d %s", res.Status, res.Body)
	}
	counts.check(t)
	f.checkLedger(t)
}
