package events_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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
