package finance_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// move is one entry of a subscription's or sponsorship's history, as the
// REST API shows it.
type move struct{ from, to, actor, time, note string }

func history(t *testing.T, res map[string]any) []move {
	t.Helper()
	var out []move
	raw, _ := res["history"].([]any)
	for _, h := range raw {
		m := h.(map[string]any)
		s := func(k string) string { v, _ := m[k].(string); return v }
		out = append(out, move{s("fromState"), s("toState"), s("actor"), s("time"), s("note")})
	}
	return out
}

// storedMoves reads a history table for one resource as stored.
func (f *fixture) storedMoves(t *testing.T, table, key, name string) []move {
	t.Helper()
	rows, err := f.env.DB(t, "finance").Query(context.Background(),
		fmt.Sprintf(`SELECT from_state, to_state, actor, time, note FROM %s WHERE %s::text = $1 ORDER BY id`, table, key),
		name[strings.Index(name, "/")+1:])
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []move
	for rows.Next() {
		var m move
		var at time.Time
		if err := rows.Scan(&m.from, &m.to, &m.actor, &at, &m.note); err != nil {
			t.Fatal(err)
		}
		m.time = at.UTC().Format(time.RFC3339)
		out = append(out, m)
	}
	return out
}

func sameMoves(t *testing.T, what string, got, want []move) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// TestSubscriptionHistory: a subscription keeps its creation and every
// pause, resume and cancellation with the caller and the service clock's
// time, in the response, in later reads and in subscription_transitions; a
// refused move records nothing.
func TestSubscriptionHistory(t *testing.T) {
	f := start(t)
	financer := f.env.WithToken(f.actors.FinanceTeam)
	t1 := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	f.env.Clock.Set(t1)
	created := f.must(t, "POST", "/v1/subscriptions", `{"subscriberName":"Ada","amount":{"currencyCode":"USD","minorUnits":"500"},"interval":"INTERVAL_MONTH"}`)
	name := created["name"].(string)
	want := []move{{"STATE_UNSPECIFIED", "STATE_ACTIVE", "people/admin", "2027-03-01T09:00:00Z", "created"}}
	sameMoves(t, "created", history(t, created), want)

	f.env.Clock.Set(t1.Add(26 * time.Hour))
	res := financer.Do(t, "POST", "/v1/"+name+":pause", `{}`)
	if res.Status != http.StatusOK {
		t.Fatalf("pause: %d %s", res.Status, res.Body)
	}
	want = append(want, move{"STATE_ACTIVE", "STATE_PAUSED", "people/financer", "2027-03-02T11:00:00Z", ""})
	sameMoves(t, "paused", history(t, res.JSON(t)), want)

	f.env.Clock.Set(t1.Add(48 * time.Hour))
	want = append(want, move{"STATE_PAUSED", "STATE_CANCELLED", "people/admin", "2027-03-03T09:00:00Z", ""})
	sameMoves(t, "cancelled", history(t, f.must(t, "POST", "/v1/"+name+":cancel", `{}`)), want)

	// CANCELLED is final: resuming is refused and leaves no trace.
	res = financer.Do(t, "POST", "/v1/"+name+":resume", `{}`)
	if res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "ILLEGAL_TRANSITION" {
		t.Fatalf("resume a cancelled subscription: %d %s", res.Status, res.Body)
	}
	sameMoves(t, "read back", history(t, f.must(t, "GET", "/v1/"+name, "")), want)
	list := f.must(t, "GET", "/v1/subscriptions", "")["subscriptions"].([]any)
	if len(list) != 1 {
		t.Fatalf("listed %d subscriptions, want 1", len(list))
	}
	sameMoves(t, "listed", history(t, list[0].(map[string]any)), want)
	stored := []move{
		{"", "active", "people/admin", "2027-03-01T09:00:00Z", "created"},
		{"active", "paused", "people/financer", "2027-03-02T11:00:00Z", ""},
		{"paused", "cancelled", "people/admin", "2027-03-03T09:00:00Z", ""},
	}
	sameMoves(t, "stored", f.storedMoves(t, "subscription_transitions", "subscription_id", name), stored)
}

// TestSponsorshipHistory: a deal keeps its creation, the first payment
// that makes it ACTIVE (later payments are no move) and its end, each
// with the caller and the service clock's time.
func TestSponsorshipHistory(t *testing.T) {
	f := start(t)
	financer := f.env.WithToken(f.actors.FinanceTeam)
	t1 := time.Date(2027, 5, 4, 8, 30, 0, 0, time.UTC)
	f.env.Clock.Set(t1)
	created := f.must(t, "POST", "/v1/sponsorships",
		`{"organisation":"Koozali Hosting","kind":"KIND_SPONSORSHIP","amount":{"currencyCode":"USD","minorUnits":"10000"},"period":"INTERVAL_MONTH"}`)
	name := created["name"].(string)
	want := []move{{"STATE_UNSPECIFIED", "STATE_PROPOSED", "people/admin", "2027-05-04T08:30:00Z", "created"}}
	sameMoves(t, "created", history(t, created), want)

	f.env.Clock.Set(t1.Add(time.Hour))
	res := financer.Do(t, "POST", "/v1/"+name+":recordPayment", `{"requestId":"`+rid()+`"}`)
	if res.Status != http.StatusOK {
		t.Fatalf("first payment: %d %s", res.Status, res.Body)
	}
	want = append(want, move{"STATE_PROPOSED", "STATE_ACTIVE", "people/financer", "2027-05-04T09:30:00Z", "first payment"})
	sameMoves(t, "first payment", history(t, res.JSON(t)), want)

	f.env.Clock.Set(t1.Add(2 * time.Hour))
	sameMoves(t, "second payment", history(t, f.must(t, "POST", "/v1/"+name+":recordPayment", `{"requestId":"`+rid()+`"}`)), want)

	f.env.Clock.Set(t1.Add(3 * time.Hour))
	res = financer.Do(t, "POST", "/v1/"+name+":end", `{}`)
	if res.Status != http.StatusOK {
		t.Fatalf("end: %d %s", res.Status, res.Body)
	}
	want = append(want, move{"STATE_ACTIVE", "STATE_ENDED", "people/financer", "2027-05-04T11:30:00Z", ""})
	sameMoves(t, "ended", history(t, res.JSON(t)), want)

	// ENDED is final: ending again is refused and leaves no trace.
	if res := f.admin.Do(t, "POST", "/v1/"+name+":end", `{}`); res.Status != http.StatusBadRequest || res.RPCStatus(t).Reason() != "ILLEGAL_TRANSITION" {
		t.Fatalf("end an ended deal: %d %s", res.Status, res.Body)
	}
	sameMoves(t, "read back", history(t, f.must(t, "GET", "/v1/"+name, "")), want)
	sameMoves(t, "stored", f.storedMoves(t, "sponsorship_transitions", "sponsorship_id", name), []move{
		{"", "proposed", "people/admin", "2027-05-04T08:30:00Z", "created"},
		{"proposed", "active", "people/financer", "2027-05-04T09:30:00Z", "first payment"},
		{"active", "ended", "people/financer", "2027-05-04T11:30:00Z", ""},
	})
}
