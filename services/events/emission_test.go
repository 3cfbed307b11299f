package events_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/events"
)

// do sends a request as token and fails the test unless it succeeds.
func do(t *testing.T, env *apptest.Env, token, method, path, body string) map[string]any {
	t.Helper()
	r := env.WithToken(token).Do(t, method, path, body)
	if r.Status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r.JSON(t)
}

// waitFeed reads the whole feed as token until it holds want events of
// each type named, and returns it.
func waitFeed(t *testing.T, env *apptest.Env, token string, want map[string]int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, evs, _ := readFeed(t, env, token, "", "", 200)
		got := map[string]int{}
		for _, e := range evs {
			got[e["type"].(string)]++
		}
		done := true
		for typ, n := range want {
			done = done && got[typ] >= n
		}
		if done {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20s the feed holds %v, want at least %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestWritesEmitEvents: writes in each service reach the feed as
// CloudEvents, written with the change and delivered through the outbox; a
// PRIVATE gift's event is seen by the books and the donor and by nobody
// else, not even as a trace in what an anonymous reader gets.
func TestWritesEmitEvents(t *testing.T) {
	env := apptest.Start(t, loopbackTargets)
	a := env.Actors(t)
	for _, acct := range []struct{ id, typ string }{{"cash", "TYPE_ASSET"}, {"donations", "TYPE_INCOME"}, {"hosting", "TYPE_EXPENSE"}} {
		do(t, env, a.Admin, "POST", "/v1/accounts?accountId="+acct.id, `{"displayName":"`+acct.id+`","type":"`+acct.typ+`","currencyCode":"USD"}`)
	}
	public := do(t, env, a.FinanceTeam, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"500"},"donor":"people/lead","visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_CASH"}`)
	private := do(t, env, a.FinanceTeam, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"123457"},"donor":"people/member","donorName":"Secret Giver","visibility":"VISIBILITY_PRIVATE","channel":"CHANNEL_CASH"}`)
	expense := do(t, env, a.Lead, "POST", "/v1/expenses", `{"payee":"Host Co","category":"accounts/hosting","amount":{"currencyCode":"USD","minorUnits":"100"},"description":"d"}`)
	do(t, env, a.Admin, "POST", "/v1/releases?releaseId=v10", `{"displayName":"v10"}`)
	item := do(t, env, a.Admin, "POST", "/v1/items", `{"title":"LDAP"}`)
	do(t, env, a.Admin, "POST", "/v1/"+item["name"].(string)+"/updates", `{"text":"started","newState":"STATE_IN_PROGRESS"}`)
	do(t, env, a.Admin, "POST", "/v1/teams/docs/positions", `{"title":"Editor","role":"ROLE_MEMBER"}`)

	evs := waitFeed(t, env, a.Admin, map[string]int{
		events.DonationCreated: 2, events.ExpenseSubmitted: 1, events.ReleaseCreated: 1, events.ItemCreated: 1,
		events.ItemStatusUpdated: 1, events.ItemStateChanged: 1, events.PositionOpened: 1,
	})
	bySubject := map[string]map[string]any{}
	for _, e := range evs {
		if e["type"] == events.DonationCreated {
			bySubject[e["subject"].(string)] = e
		}
		if e["source"] == "" || e["specVersion"] != "1.0" || e["dataContentType"] != "application/json" {
			t.Errorf("not a CloudEvent: %v", e)
		}
	}
	pub, priv := bySubject[public["name"].(string)], bySubject[private["name"].(string)]
	if pub == nil || priv == nil {
		t.Fatalf("donation events missing: %v", bySubject)
	}
	if d := pub["data"].(map[string]any); d["donor"] != "people/lead" || d["amount"].(map[string]any)["minorUnits"] != "500" {
		t.Errorf("public gift's data: %v", d)
	}
	if d := priv["data"].(map[string]any); d["donor"] != "people/member" || d["amount"].(map[string]any)["minorUnits"] != "123457" {
		t.Errorf("private gift's data for the books: %v", d)
	}
	if pub["source"] != "/guildhall/finance" {
		t.Errorf("source %v", pub["source"])
	}

	// The donor and the books see the private gift's event.
	for who, token := range map[string]string{"the donor": a.Member, "finance": a.FinanceTeam} {
		_, seen, _ := readFeed(t, env, token, `type = "`+events.DonationCreated+`"`, "", 50)
		if !slices.ContainsFunc(seen, func(e map[string]any) bool { return e["subject"] == private["name"] }) {
			t.Errorf("%s does not see the private gift's event", who)
		}
	}
	// An anonymous reader, and a person who may not read the gift, see no
	// trace of it: not its name, amount or donor (nor, by the cursor, its place).
	for who, token := range map[string]string{"anonymous": "", "another person": a.OtherLead} {
		_, seen, cursor := readFeed(t, env, token, "", "", 3)
		for _, secret := range []string{private["name"].(string), "123457", "people/member", "Secret Giver", expense["name"].(string)} {
			for _, e := range seen {
				if b, _ := json.Marshal(e); strings.Contains(string(b), secret) {
					t.Errorf("%s's feed shows %q in %s", who, secret, b)
				}
			}
		}
		if strings.Contains(cursor, strings.TrimPrefix(private["name"].(string), "donations/")) {
			t.Errorf("%s's cursor names the private gift", who)
		}
		if !slices.ContainsFunc(seen, func(e map[string]any) bool { return e["subject"] == public["name"] }) {
			t.Errorf("%s does not see the public gift's event", who)
		}
	}
	// The expense's event is the books', the approvers' and the submitter's.
	_, seen, _ := readFeed(t, env, a.Lead, `type = "`+events.ExpenseSubmitted+`"`, "", 50)
	if len(seen) != 1 || seen[0]["subject"] != expense["name"] {
		t.Errorf("the submitter sees %v", seen)
	}
}

// TestStaleItemAnnouncedOnce: an IN_PROGRESS item that goes without a
// status update past StaleAfter is announced once (the roadmap.stale job),
// and again only after a new update goes stale in its turn.
func TestStaleItemAnnouncedOnce(t *testing.T) {
	env := apptest.Start(t, loopbackTargets, func(c *apptest.Config, _ *apptest.Clock) {
		c.StaleAfter = time.Hour
		c.JobIntervals["roadmap.stale"] = 50 * time.Millisecond
	})
	a := env.Actors(t)
	item := do(t, env, a.Admin, "POST", "/v1/items", `{"title":"stalls","ownerTeam":"teams/development"}`)["name"].(string)
	do(t, env, a.Admin, "POST", "/v1/"+item+"/updates", `{"text":"started","newState":"STATE_IN_PROGRESS"}`)
	stale := func() []map[string]any {
		_, evs, _ := readFeed(t, env, a.Admin, `type = "`+events.ItemStale+`"`, "", 50)
		return evs
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(stale()); n != 0 {
		t.Fatalf("%d stale events before the item went stale", n)
	}
	env.Clock.Advance(2 * time.Hour)
	waitFeed(t, env, a.Admin, map[string]int{events.ItemStale: 1})
	time.Sleep(300 * time.Millisecond)
	evs := stale()
	if len(evs) != 1 || evs[0]["subject"] != item || evs[0]["data"].(map[string]any)["ownerTeam"] != "teams/development" {
		t.Fatalf("stale events: %v", evs)
	}
	do(t, env, a.Admin, "POST", "/v1/"+item+"/updates", `{"text":"still at it"}`)
	env.Clock.Advance(2 * time.Hour)
	waitFeed(t, env, a.Admin, map[string]int{events.ItemStale: 2})
}

// TestGoalReachedOnceAndPrivately: a goal is announced reached once, when
// its progress as the public sees it reaches the target: a PRIVATE gift
// that would reach it alone announces nothing (public figures leave it
// out until its month ends), and the event names the goal and its target,
// never a gift.
func TestGoalReachedOnceAndPrivately(t *testing.T) {
	env := apptest.Start(t, loopbackTargets, func(c *apptest.Config, _ *apptest.Clock) {
		c.JobIntervals["finance.goals"] = 50 * time.Millisecond
	})
	a := env.Actors(t)
	for _, acct := range []struct{ id, typ string }{{"cash", "TYPE_ASSET"}, {"donations", "TYPE_INCOME"}} {
		do(t, env, a.Admin, "POST", "/v1/accounts?accountId="+acct.id, `{"displayName":"`+acct.id+`","type":"`+acct.typ+`","currencyCode":"USD"}`)
	}
	do(t, env, a.Admin, "POST", "/v1/goals?goalId=servers", `{"displayName":"New servers","target":{"currencyCode":"USD","minorUnits":"1000"},"period":"PERIOD_ONE_OFF"}`)
	gift := func(amount, visibility string) map[string]any {
		return do(t, env, a.FinanceTeam, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"`+amount+`"},"donor":"people/member",
			"visibility":"`+visibility+`","channel":"CHANNEL_CASH","goal":"goals/servers","depositAccount":"accounts/cash"}`)
	}
	reached := func() []map[string]any {
		_, evs, _ := readFeed(t, env, a.Admin, `type = "`+events.GoalReached+`"`, "", 50)
		return evs
	}
	gift("123457", "VISIBILITY_PRIVATE")
	gift("600", "VISIBILITY_PUBLIC")
	waitFeed(t, env, a.Admin, map[string]int{events.DonationCreated: 2})
	time.Sleep(500 * time.Millisecond) // passes of finance.goals run meanwhile
	if evs := reached(); len(evs) != 0 {
		t.Fatalf("goal announced reached by a private gift: %v", evs)
	}
	gift("400", "VISIBILITY_ANONYMOUS")
	waitFeed(t, env, a.Admin, map[string]int{events.GoalReached: 1})
	gift("50", "VISIBILITY_PUBLIC")
	waitFeed(t, env, a.Admin, map[string]int{events.DonationCreated: 4})
	time.Sleep(500 * time.Millisecond)
	evs := reached()
	if len(evs) != 1 {
		t.Fatalf("%d GoalReached events, want 1", len(evs))
	}
	d := evs[0]["data"].(map[string]any)
	if evs[0]["subject"] != "goals/servers" || d["displayName"] != "New servers" || d["target"].(map[string]any)["minorUnits"] != "1000" {
		t.Errorf("GoalReached: %v", evs[0])
	}
	b, _ := json.Marshal(evs[0])
	for _, secret := range []string{"123457", "people/member", "donations/"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("GoalReached tells %q: %s", secret, b)
		}
	}
	// Everyone sees it.
	if _, seen, _ := readFeed(t, env, "", `type = "`+events.GoalReached+`"`, "", 50); len(seen) != 1 {
		t.Errorf("anonymous readers see %d GoalReached events", len(seen))
	}
}

// TestDonationReversedFollowsVisibility: reversing a donation's entry
// announces DonationReversed (beside TransactionReversed) to the gift's own
// audience: a PUBLIC gift's to everyone, with donor and amount; a PRIVATE
// gift's only to the books and the donor, carrying neither donor nor amount.
func TestDonationReversedFollowsVisibility(t *testing.T) {
	env := apptest.Start(t, loopbackTargets)
	a := env.Actors(t)
	for _, acct := range []struct{ id, typ string }{{"cash", "TYPE_ASSET"}, {"donations", "TYPE_INCOME"}} {
		do(t, env, a.Admin, "POST", "/v1/accounts?accountId="+acct.id, `{"displayName":"`+acct.id+`","type":"`+acct.typ+`","currencyCode":"USD"}`)
	}
	gift := func(amount, visibility string) map[string]any {
		return do(t, env, a.FinanceTeam, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"`+amount+`"},"donor":"people/member",
			"visibility":"`+visibility+`","channel":"CHANNEL_CASH","depositAccount":"accounts/cash"}`)
	}
	public, private := gift("777", "VISIBILITY_PUBLIC"), gift("123457", "VISIBILITY_PRIVATE")
	// A manual entry's reversal is no donation's.
	manual := do(t, env, a.FinanceTeam, "POST", "/v1/transactions", `{"description":"float","postings":[
		{"account":"accounts/cash","amount":{"currencyCode":"USD","minorUnits":"5"}},
		{"account":"accounts/donations","amount":{"currencyCode":"USD","minorUnits":"-5"}}]}`)
	for _, tx := range []string{public["transaction"].(string), private["transaction"].(string), manual["name"].(string)} {
		do(t, env, a.FinanceTeam, "POST", "/v1/"+tx+":reverse", `{"reason":"refund"}`)
	}
	waitFeed(t, env, a.Admin, map[string]int{events.TransactionReversed: 3, events.DonationReversed: 2})
	_, all, _ := readFeed(t, env, a.Admin, `type = "`+events.DonationReversed+`"`, "", 50)
	if len(all) != 2 {
		t.Fatalf("%d DonationReversed events, want 2 (none for the manual entry)", len(all))
	}
	bySubject := map[string]map[string]any{}
	for _, e := range all {
		bySubject[e["subject"].(string)] = e["data"].(map[string]any)
	}
	if d := bySubject[public["name"].(string)]; d == nil || d["donor"] != "people/member" || d["amount"].(map[string]any)["minorUnits"] != "777" || d["state"] != "STATE_REFUNDED" {
		t.Errorf("public gift's reversal: %v", d)
	}
	if d := bySubject[private["name"].(string)]; d == nil || d["donor"] != nil || d["amount"] != nil || d["state"] != "STATE_REFUNDED" {
		t.Errorf("private gift's reversal, even to the books: %v", d)
	}
	for who, token := range map[string]string{"the donor": a.Member, "finance": a.FinanceTeam} {
		_, seen, _ := readFeed(t, env, token, `type = "`+events.DonationReversed+`"`, "", 50)
		if len(seen) != 2 {
			t.Errorf("%s sees %d DonationReversed events, want 2", who, len(seen))
		}
	}
	for who, token := range map[string]string{"anonymous": "", "another person": a.OtherLead} {
		_, seen, _ := readFeed(t, env, token, "", "", 100)
		reversed := 0
		for _, e := range seen {
			if e["type"] == events.DonationReversed {
				reversed++
			}
			if b, _ := json.Marshal(e); strings.Contains(string(b), private["name"].(string)) || strings.Contains(string(b), "123457") {
				t.Errorf("%s's feed tells of the private gift: %s", who, b)
			}
		}
		if reversed != 1 {
			t.Errorf("%s sees %d DonationReversed events, want 1 (the public gift's)", who, reversed)
		}
	}
}

// TestProposalClosedOnTimeOnce: a proposal whose close time passes is
// announced closed once, whoever freezes it first: here readers and late
// voters racing each other (TestProposalMail in package notify has the
// roadmap.proposals job close one).
func TestProposalClosedOnTimeOnce(t *testing.T) {
	// The job's next pass is a minute away: the readers and voters race.
	env := apptest.Start(t, loopbackTargets)
	a := env.Actors(t)
	closeAt := env.Clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var names []string
	for range 3 {
		p := do(t, env, a.Admin, "POST", "/v1/proposals", `{"question":"Q?","method":"METHOD_SINGLE_CHOICE","options":["x","y"],"closeTime":"`+closeAt+`"}`)
		do(t, env, a.Admin, "POST", "/v1/"+p["name"].(string)+":open", `{}`)
		names = append(names, p["name"].(string))
	}
	env.Clock.Advance(2 * time.Hour)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for _, p := range names {
				if i%2 == 0 {
					env.WithToken(a.Member).Do(t, "POST", "/v1/"+p+":vote", `{"choices":["x"]}`) // refused: VOTING_CLOSED
				} else {
					env.Do(t, "GET", "/v1/"+p, "")
				}
			}
		})
	}
	wg.Wait()
	waitFeed(t, env, a.Admin, map[string]int{events.ProposalClosed: 3})
	time.Sleep(300 * time.Millisecond)
	_, evs, _ := readFeed(t, env, a.Admin, `type = "`+events.ProposalClosed+`"`, "", 50)
	per := map[string]int{}
	for _, e := range evs {
		per[e["subject"].(string)]++
	}
	for _, p := range names {
		if per[p] != 1 {
			t.Errorf("%s announced closed %d times, want once", p, per[p])
		}
	}
}

// TestMonthlyGoalReachedEachMonth: a monthly goal is announced once in each
// UTC month its target is reached, and not again within the month.
func TestMonthlyGoalReachedEachMonth(t *testing.T) {
	env := apptest.Start(t, loopbackTargets, func(c *apptest.Config, clock *apptest.Clock) {
		c.JobIntervals["finance.goals"] = 50 * time.Millisecond
		now := time.Now().UTC()
		clock.Set(time.Date(now.Year(), now.Month(), 10, 12, 0, 0, 0, time.UTC))
	})
	a := env.Actors(t)
	for _, acct := range []struct{ id, typ string }{{"cash", "TYPE_ASSET"}, {"donations", "TYPE_INCOME"}} {
		do(t, env, a.Admin, "POST", "/v1/accounts?accountId="+acct.id, `{"displayName":"`+acct.id+`","type":"`+acct.typ+`","currencyCode":"USD"}`)
	}
	do(t, env, a.Admin, "POST", "/v1/goals?goalId=hosting", `{"displayName":"Hosting","target":{"currencyCode":"USD","minorUnits":"100"},"period":"PERIOD_MONTHLY"}`)
	gift := func() {
		do(t, env, a.FinanceTeam, "POST", "/v1/donations", `{"amount":{"currencyCode":"USD","minorUnits":"150"},"donor":"people/member",
			"visibility":"VISIBILITY_PUBLIC","channel":"CHANNEL_CASH","goal":"goals/hosting","depositAccount":"accounts/cash"}`)
	}
	gift()
	waitFeed(t, env, a.Admin, map[string]int{events.GoalReached: 1})
	gift()
	env.Clock.Advance(31 * 24 * time.Hour) // the next month: progress starts again from nothing
	waitFeed(t, env, a.Admin, map[string]int{events.DonationCreated: 2})
	time.Sleep(500 * time.Millisecond)
	if _, evs, _ := readFeed(t, env, a.Admin, `type = "`+events.GoalReached+`"`, "", 50); len(evs) != 1 {
		t.Fatalf("%d GoalReached events before the new month's gifts, want 1", len(evs))
	}
	gift()
	waitFeed(t, env, a.Admin, map[string]int{events.GoalReached: 2})
}

// TestTransitionEvents: the moves made through lifecycle.Transition reach
// the feed from its After hook: a package orphaned and adopted again
// (PackageStateChanged, from and to), an item's status update that moves
// it (ItemStateChanged with its owner team) and a deal's first payment
// (SponsorshipStateChanged, PROPOSED → ACTIVE).
func TestTransitionEvents(t *testing.T) {
	env := apptest.Start(t, loopbackTargets)
	a := env.Actors(t)
	do(t, env, a.Admin, "POST", "/v1/accounts?accountId=bank", `{"displayName":"bank","type":"TYPE_ASSET","currencyCode":"USD"}`)
	do(t, env, a.Admin, "POST", "/v1/accounts?accountId=sponsorship", `{"displayName":"sponsorship","type":"TYPE_INCOME","currencyCode":"USD"}`)
	do(t, env, a.Lead, "POST", "/v1/packages?packageId=mailstats", `{"displayName":"mailstats","team":"teams/development","maintainers":["people/member"]}`)
	do(t, env, a.Member, "POST", "/v1/packages/mailstats:orphan", `{}`)
	do(t, env, a.FinanceTeam, "POST", "/v1/packages/mailstats:adopt", `{}`)
	do(t, env, a.Lead, "POST", "/v1/packages/mailstats:approveAdoption", `{"person":"people/financer"}`)
	item := do(t, env, a.Admin, "POST", "/v1/items", `{"title":"LDAP","ownerTeam":"teams/development"}`)["name"].(string)
	do(t, env, a.Admin, "POST", "/v1/"+item+"/updates", `{"text":"no move"}`)
	do(t, env, a.Admin, "POST", "/v1/"+item+"/updates", `{"text":"started","newState":"STATE_IN_PROGRESS"}`)
	deal := do(t, env, a.Admin, "POST", "/v1/sponsorships",
		`{"organisation":"Koozali","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"100"},"period":"INTERVAL_MONTH"}`)["name"].(string)
	for range 2 {
		do(t, env, a.Admin, "POST", "/v1/"+deal+":recordPayment", `{"requestId":"`+uuid.NewString()+`"}`)
	}

	evs := waitFeed(t, env, a.Admin, map[string]int{events.PackageStateChanged: 2, events.ItemStateChanged: 1, events.SponsorshipStateChanged: 1})
	var got []string
	for _, e := range evs {
		d, _ := e["data"].(map[string]any)
		switch e["type"] {
		case events.PackageStateChanged, events.SponsorshipStateChanged:
			got = append(got, e["subject"].(string)+" "+d["previousState"].(string)+" → "+d["state"].(string))
		case events.ItemStateChanged:
			got = append(got, e["subject"].(string)+" "+d["state"].(string)+" "+d["ownerTeam"].(string))
		}
	}
	want := []string{
		"packages/mailstats STATE_MAINTAINED → STATE_UNMAINTAINED",
		"packages/mailstats STATE_UNMAINTAINED → STATE_MAINTAINED",
		item + " STATE_IN_PROGRESS teams/development",
		deal + " STATE_PROPOSED → STATE_ACTIVE",
	}
	// Each service's outbox keeps its order; the services' reach the feed
	// side by side.
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("transition events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
