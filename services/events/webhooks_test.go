package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/guildhall/guildhall/app/apptest"
	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/internal/events"
)

// receiver is a webhook endpoint: it verifies every delivery's signature
// with the Standard Webhooks library and records what came, answering 500
// while failing is set.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	secret  string
	failing bool
	got     []delivery // every request, failed or not
}

type delivery struct {
	id, typ, subject string
	ok, verified     bool
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		verified := false
		if wh, err := standardwebhooks.NewWebhook(r.secret); err == nil {
			verified = wh.Verify(body, req.Header) == nil
		}
		var ce struct{ ID, Type, Subject, Specversion string }
		_ = json.Unmarshal(body, &ce)
		d := delivery{id: req.Header.Get("webhook-id"), typ: ce.Type, subject: ce.Subject, ok: !r.failing, verified: verified && ce.ID == req.Header.Get("webhook-id") &&
			ce.Specversion == "1.0" && strings.HasPrefix(req.Header.Get("Content-Type"), "application/cloudevents+json")}
		r.got = append(r.got, d)
		if r.failing {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) set(secret string, failing bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret, r.failing = secret, failing
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// succeeded lists the ids delivered with success, in order.
func succeeded(ds []delivery) []string {
	var out []string
	for _, d := range ds {
		if d.ok {
			out = append(out, d.id)
		}
	}
	return out
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebhookDelivery: a webhook gets every public event of its types, in
// log order, signed as Standard Webhooks says; while the receiver fails,
// deliveries are retried with the same webhook-id and nothing is skipped;
// the delivery record shows attempts and errors; a delivery can be sent
// again; events of other types and non-public events never go out.
func TestWebhookDelivery(t *testing.T) {
	env := apptest.Start(t, loopbackTargets)
	a := env.Actors(t)
	r := newReceiver(t)
	wh := do(t, env, a.Admin, "POST", "/v1/webhooks", fmt.Sprintf(`{"uri":%q,"eventTypes":[%q,%q]}`, r.srv.URL+"/hook", events.DonationCreated, events.ExpenseSubmitted))
	secret, _ := wh["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || wh["active"] != true {
		t.Fatalf("created webhook: %v", wh)
	}
	r.set(secret, false)
	// The secret is shown once.
	if got := do(t, env, a.Admin, "GET", "/v1/"+wh["name"].(string), ""); got["secret"] != "" {
		t.Errorf("GET shows the secret: %v", got["secret"])
	}

	public := &eventsv1.Audience{Anyone: true}
	var want []string
	batch := func(n int) {
		var recs []*eventsv1.EventRecord
		for i := range n {
			rec := record(events.DonationCreated, fmt.Sprintf("donations/%d", len(want)), public)
			switch i % 4 {
			case 1:
				rec = record(events.ItemCreated, "items/x", public) // not subscribed
			case 2:
				rec = record(events.ExpenseSubmitted, "expenses/x", &eventsv1.Audience{Permissions: []string{"finance.record"}}) // not public
			default:
				want = append(want, rec.Event.Id)
			}
			recs = append(recs, rec)
		}
		ingest(t, env, recs...)
	}
	batch(8)
	waitUntil(t, "the first events delivered", func() bool { return len(succeeded(r.deliveries())) == len(want) })

	// The receiver fails for a while: deliveries wait, retried in order.
	r.set(secret, true)
	batch(8)
	waitUntil(t, "retries while failing", func() bool { return len(r.deliveries()) >= len(succeeded(r.deliveries()))+3 })
	r.set(secret, false)
	batch(4)
	waitUntil(t, "every event delivered after the outage", func() bool { return len(succeeded(r.deliveries())) == len(want) })

	all := r.deliveries()
	if got := succeeded(all); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("delivered in this order:\n %v\nwant\n %v", got, want)
	}
	failedIDs := map[string]bool{}
	for _, d := range all {
		if !d.verified {
			t.Errorf("delivery %s did not verify", d.id)
		}
		if d.typ != events.DonationCreated {
			t.Errorf("delivered a %s event", d.typ)
		}
		if !d.ok {
			failedIDs[d.id] = true
		}
	}
	// Failed attempts were retries of the same messages (same webhook-id),
	// and the first one failing blocked the rest (in order).
	if len(failedIDs) != 1 {
		t.Errorf("failed attempts carried %d webhook-ids, want 1 (the head of the queue)", len(failedIDs))
	}

	// The record: attempts, last error and status, latency; newest first.
	// The receiver sees a delivery before its outcome commits (the
	// deliverer records the response it got, in the batch's transaction),
	// so the records are read once they have all settled.
	var ds []any
	waitUntil(t, "every delivery recorded as delivered", func() bool {
		list := do(t, env, a.Admin, "GET", "/v1/"+wh["name"].(string)+"/deliveries?pageSize=100", "")
		ds, _ = list["deliveries"].([]any)
		for _, x := range ds {
			if x.(map[string]any)["state"] != "STATE_SUCCEEDED" {
				return false
			}
		}
		return len(ds) >= len(want)
	})
	if len(ds) != len(want) {
		t.Fatalf("%d deliveries listed, want %d", len(ds), len(want))
	}
	retried := 0
	for _, x := range ds {
		d := x.(map[string]any)
		if d["state"] != "STATE_SUCCEEDED" || d["lastStatusCode"].(float64) != 204 || d["latency"] == "" {
			t.Errorf("delivery record: %v", d)
		}
		if n := d["attempts"].(float64); n > 1 {
			retried++
			if d["lastError"] != "" {
				t.Errorf("a delivery that succeeded keeps its old error: %v", d)
			}
		}
	}
	if retried != 1 {
		t.Errorf("%d deliveries needed retries, want 1", retried)
	}

	// Redeliver the oldest: it goes out again with the same webhook-id.
	oldest := ds[len(ds)-1].(map[string]any)
	again := do(t, env, a.Admin, "POST", "/v1/"+oldest["name"].(string)+":redeliver", `{}`)
	if again["eventId"] != oldest["eventId"] || again["redeliveryOf"] != oldest["name"] || again["state"] != "STATE_PENDING" {
		t.Errorf("redelivery: %v", again)
	}
	waitUntil(t, "the redelivery", func() bool { return len(succeeded(r.deliveries())) == len(want)+1 })
	// As above, its record commits after the receiver answered: the backlog
	// (read from the records) is empty once it has.
	waitUntil(t, "the redelivery recorded", func() bool {
		return do(t, env, a.Admin, "GET", "/v1/"+again["name"].(string), "")["state"] == "STATE_SUCCEEDED"
	})
	if got := succeeded(r.deliveries()); got[len(got)-1] != want[0] {
		t.Errorf("redelivered %s, want %s", got[len(got)-1], want[0])
	}

	// Metrics: outcomes counted, nothing left in the backlog.
	mfs, err := env.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "/" + l.GetValue()
			}
			seen[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	if seen["guildhall_webhook_deliveries_total/succeeded"] < float64(len(want)+1) || seen["guildhall_webhook_deliveries_total/failed"] < 1 {
		t.Errorf("delivery outcomes: %v %v", seen["guildhall_webhook_deliveries_total/succeeded"], seen["guildhall_webhook_deliveries_total/failed"])
	}
	if v, ok := seen["guildhall_webhook_backlog"]; !ok || v != 0 {
		t.Errorf("backlog after delivery: %v (exported: %v)", v, ok)
	}
}

// TestWebhookDisabledAfterFailures: after the failure limit the webhook is
// deactivated with its reason, an event says so, and no more attempts are
// made; activating it again delivers what was queued.
func TestWebhookDisabledAfterFailures(t *testing.T) {
	env := apptest.Start(t, loopbackTargets, func(c *apptest.Config, _ *apptest.Clock) { c.WebhookFailureLimit = 3 })
	a := env.Actors(t)
	r := newReceiver(t)
	wh := do(t, env, a.Admin, "POST", "/v1/webhooks", fmt.Sprintf(`{"uri":%q,"eventTypes":[%q]}`, r.srv.URL, events.DonationCreated))
	r.set(wh["secret"].(string), true)
	rec := record(events.DonationCreated, "donations/1", &eventsv1.Audience{Anyone: true})
	ingest(t, env, rec)
	name := wh["name"].(string)
	waitUntil(t, "the webhook deactivated", func() bool { return do(t, env, a.Admin, "GET", "/v1/"+name, "")["active"] == false })
	got := do(t, env, a.Admin, "GET", "/v1/"+name, "")
	if !strings.Contains(got["disableReason"].(string), "3 consecutive failed deliveries") || got["consecutiveFailures"].(float64) != 3 {
		t.Errorf("deactivated webhook: %v", got)
	}
	_, evs, _ := readFeed(t, env, a.Admin, `type = "`+events.WebhookDisabled+`"`, "", 10)
	if len(evs) != 1 || evs[0]["subject"] != name {
		t.Errorf("webhook.disabled events: %v", evs)
	}
	if _, anon, _ := readFeed(t, env, "", `type = "`+events.WebhookDisabled+`"`, "", 10); len(anon) != 0 {
		t.Errorf("anonymous readers see %d webhook.disabled events", len(anon))
	}
	n := len(r.deliveries())
	time.Sleep(500 * time.Millisecond)
	if len(r.deliveries()) != n || n != 3 {
		t.Errorf("%d attempts, then %d: a deactivated webhook is still tried", n, len(r.deliveries()))
	}
	// Back on: the queued event goes out.
	r.set(wh["secret"].(string), false)
	do(t, env, a.Admin, "PATCH", "/v1/"+name+"?updateMask=active", `{"active":true}`)
	waitUntil(t, "delivery after reactivation", func() bool { return len(succeeded(r.deliveries())) == 1 })
	if got := do(t, env, a.Admin, "GET", "/v1/"+name, ""); got["consecutiveFailures"].(float64) != 0 || got["disableReason"] != "" {
		t.Errorf("reactivated webhook: %v", got)
	}
}

// TestWebhookBadInput: every write refuses bad input with field
// violations and stores nothing; only admins and webhooks.manage holders
// manage webhooks; internal targets are refused unless allowed.
func TestWebhookBadInput(t *testing.T) {
	env := apptest.Start(t) // no internal networks allowed
	a := env.Actors(t)
	env.Team(t, "integrations", "webhooks.manage")
	integrator := env.Person(t, "integrator", false)
	env.Member(t, "integrations", "integrator", "member")
	ok := fmt.Sprintf(`"eventTypes":[%q]`, events.DonationCreated)
	for _, c := range []struct{ body, field string }{
		{`{` + ok + `}`, "webhook.uri"},
		{`{"uri":"ftp://hooks.example.org/x",` + ok + `}`, "webhook.uri"},
		{`{"uri":"not a url",` + ok + `}`, "webhook.uri"},
		{`{"uri":"https://user:pw@hooks.example.org/x",` + ok + `}`, "webhook.uri"},
		{`{"uri":"http://127.0.0.1:9/x",` + ok + `}`, "webhook.uri"},
		{`{"uri":"http://localhost/x",` + ok + `}`, "webhook.uri"},
		{`{"uri":"http://169.254.169.254/latest/meta-data",` + ok + `}`, "webhook.uri"},
		{`{"uri":"http://10.1.2.3/x",` + ok + `}`, "webhook.uri"},
		{`{"uri":"http://[::1]/x",` + ok + `}`, "webhook.uri"},
		{`{"uri":"https://93.184.215.14/x","eventTypes":[]}`, "webhook.eventTypes"},
		{`{"uri":"https://93.184.215.14/x","eventTypes":["dev.guildhall.nope.v1"]}`, "webhook.eventTypes[0]"},
		{`{"uri":"https://93.184.215.14/x","eventTypes":["` + events.DonationCreated + `","` + events.DonationCreated + `"]}`, "webhook.eventTypes"},
	} {
		r := env.WithToken(integrator).Do(t, "POST", "/v1/webhooks", c.body)
		st := r.RPCStatus(t)
		if r.Status != http.StatusBadRequest || !strings.Contains(strings.Join(st.Fields(), ","), c.field) {
			t.Errorf("%s: %d %v, want 400 on %s", c.body, r.Status, st.Fields(), c.field)
		}
	}
	var n int
	if err := env.DB(t, "events").QueryRow(context.Background(), `SELECT count(*) FROM webhooks`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d webhooks stored after refusals (%v)", n, err)
	}
	good := `{"uri":"https://93.184.215.14/hook",` + ok + `}`
	if r := env.WithToken(a.Member).Do(t, "POST", "/v1/webhooks", good); r.Status != http.StatusForbidden {
		t.Errorf("a member without webhooks.manage: %d", r.Status)
	}
	if r := env.Do(t, "GET", "/v1/webhooks", ""); r.Status != http.StatusUnauthorized {
		t.Errorf("anonymous list: %d", r.Status)
	}
	wh := do(t, env, integrator, "POST", "/v1/webhooks", good)
	name := wh["name"].(string)
	// Updates are checked the same way, and a stale etag is refused.
	for _, c := range []struct{ path, body string }{
		{"?updateMask=uri", `{"uri":"http://192.168.1.1/x"}`},
		{"?updateMask=eventTypes", `{"eventTypes":["nope"]}`},
	} {
		if r := env.WithToken(integrator).Do(t, "PATCH", "/v1/"+name+c.path, c.body); r.Status != http.StatusBadRequest {
			t.Errorf("PATCH %s %s: %d %s", c.path, c.body, r.Status, r.Body)
		}
	}
	if r := env.WithToken(integrator).Do(t, "PATCH", "/v1/"+name+"?updateMask=active", `{"active":false,"etag":"999"}`); r.Status != http.StatusConflict {
		t.Errorf("stale etag: %d", r.Status)
	}
	if got := do(t, env, integrator, "GET", "/v1/"+name, ""); got["uri"] != "https://93.184.215.14/hook" || got["active"] != true {
		t.Errorf("after refused updates: %v", got)
	}
	// Deliveries of an unknown webhook or delivery are NOT_FOUND.
	if r := env.WithToken(integrator).Do(t, "POST", "/v1/"+name+"/deliveries/12345:redeliver", `{}`); r.Status != http.StatusNotFound {
		t.Errorf("redeliver an unknown delivery: %d", r.Status)
	}
	if r := env.WithToken(integrator).Do(t, "GET", "/v1/webhooks/00000000-0000-0000-0000-000000000000/deliveries", ""); r.Status != http.StatusNotFound {
		t.Errorf("deliveries of an unknown webhook: %d", r.Status)
	}
	do(t, env, integrator, "DELETE", "/v1/"+name, "")
	if r := env.WithToken(integrator).Do(t, "GET", "/v1/"+name, ""); r.Status != http.StatusNotFound {
		t.Errorf("GET after delete: %d", r.Status)
	}
}
