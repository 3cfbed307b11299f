package replicas_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/events"
)

// outage is how long the webhook receiver fails during the events run; the
// issue's check uses 30s (bench/events does), the suite a short one.
var (
	outage  = flag.Duration("events.outage", 2*time.Second, "how long the webhook receiver fails in the events run")
	writes  = flag.Int("events.writes", 1000, "mixed writes in the events run")
	writers = flag.Int("events.writers", 4, "concurrent writers in the events run")
)

// eventsEnv makes delivery quick in the cluster and lets webhooks reach the
// test's receiver on loopback.
var eventsEnv = []string{
	"GUILDHALL_WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8", "GUILDHALL_WEBHOOK_WORKERS=2",
	"GUILDHALL_WEBHOOK_BACKOFF_BASE=100ms", "GUILDHALL_WEBHOOK_BACKOFF_MAX=1s",
	// Enough for a 30 s outage at a retry a second (the default, 20, is
	// about two hours with the default backoff).
	"GUILDHALL_WEBHOOK_FAILURE_LIMIT=200",
}

// eventsJobs are the job intervals of the events run.
const eventsJobs = "membership.outbox=100ms,events.webhooks.1=100ms,events.webhooks.2=100ms"

// hookReceiver is an integrator's endpoint: it verifies each delivery with
// the Standard Webhooks library, fails while told to, and records what came.
type hookReceiver struct {
	srv       *httptest.Server
	secret    atomic.Pointer[string]
	failUntil atomic.Int64 // unix nanos

	mu       sync.Mutex
	firstOK  []string // event ids in the order of their first success
	okAt     map[string]time.Time
	bodies   map[string][]byte // first body per webhook-id
	requests int
	bad      []string // what did not verify or differed
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{okAt: map[string]time.Time{}, bodies: map[string][]byte{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		defer r.mu.Unlock()
		r.requests++
		wh, err := standardwebhooks.NewWebhook(*r.secret.Load())
		if err == nil {
			err = wh.Verify(body, req.Header)
		}
		var ce struct{ ID string }
		if jerr := json.Unmarshal(body, &ce); err == nil && (jerr != nil || ce.ID != id) {
			err = fmt.Errorf("body id %q under webhook-id %q", ce.ID, id)
		}
		if err != nil {
			r.bad = append(r.bad, id+": "+err.Error())
		}
		if first, ok := r.bodies[id]; ok && !bytes.Equal(first, body) {
			r.bad = append(r.bad, id+": a redelivery differs from the first")
		} else if !ok {
			r.bodies[id] = body
		}
		if time.Now().UnixNano() < r.failUntil.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if _, done := r.okAt[id]; !done {
			r.okAt[id] = time.Now()
			r.firstOK = append(r.firstOK, id)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// feedReader reads GET /v1/events with its cursor, as token, over and over.
type feedReader struct {
	c      *cluster
	token  string
	cursor string
	ids    []string
	raw    []string
}

func (f *feedReader) poll(t *testing.T) error {
	for {
		q := url.Values{"pageSize": {"500"}}
		if f.cursor != "" {
			q.Set("pageToken", f.cursor)
		}
		code, b, err := f.c.doAs(f.token, http.MethodGet, "/v1/events?"+q.Encode(), "")
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("feed: %d %v %s", code, err, b)
		}
		var page struct {
			Events        []json.RawMessage
			NextPageToken string
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return err
		}
		for _, e := range page.Events {
			var ev struct{ ID string }
			_ = json.Unmarshal(e, &ev)
			f.ids = append(f.ids, ev.ID)
			f.raw = append(f.raw, string(e))
		}
		f.cursor = page.NextPageToken
		if len(page.Events) < 500 {
			return nil
		}
	}
}

// doAs sends a request with token ("" for none) to the next gateway.
func (c *cluster) doAs(token, method, path, body string) (int, []byte, error) {
	rot := *c.rotation.Load()
	gw := rot[turn.Add(1)%uint64(len(rot))]
	req, err := http.NewRequest(method, "http://"+gw+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// eventsThroughKill is the check: a real receiver subscribed to
// every public event, 1,000 mixed writes, one events replica killed with
// SIGKILL mid-run and the receiver failing for a while. Every public event
// reaches the receiver at least once, first in log order, every signature
// verifies and a redelivery is the same message; the feed read with a
// cursor during the run has every event once; a PRIVATE gift leaves no
// trace in what an anonymous reader gets.
func eventsThroughKill(t *testing.T, c *cluster) {
	r := newHookReceiver(t)
	var types []string
	for _, typ := range events.Types() {
		if typ != events.WebhookDisabled {
			types = append(types, typ)
		}
	}
	tj, _ := json.Marshal(types)
	wh := c.must(t, "POST", "/v1/webhooks", fmt.Sprintf(`{"uri":%q,"eventTypes":%s}`, r.srv.URL+"/hook", tj))
	secret := wh["secret"].(string)
	r.secret.Store(&secret)
	eventsDB := c.db(t, config.Events)
	startSeq := count(t, eventsDB, `SELECT coalesce(max(seq), 0) FROM events`)

	admin := &feedReader{c: c, token: adminToken}
	anon := &feedReader{c: c}
	for _, f := range []*feedReader{admin, anon} { // start both cursors at the log's end
		if err := f.poll(t); err != nil {
			t.Fatal(err)
		}
		f.ids, f.raw = nil, nil
	}
	stopFeed := make(chan struct{})
	feedDone := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stopFeed:
				feedDone <- nil
				return
			case <-time.After(200 * time.Millisecond):
			}
			if err := admin.poll(t); err != nil {
				feedDone <- err
				return
			}
		}
	}()

	n := *writes
	var (
		mu           sync.Mutex
		privateNames []string
		items        []string
		next         atomic.Int64
		outageEnd    time.Time
		failed       atomic.Pointer[string]
	)
	// The events replica is killed at 30% of the writes, the receiver fails
	// from 40% for the outage, the replica comes back at 60%.
	milestone := func(i int) {
		switch i {
		case n * 3 / 10:
			c.services[config.Events][0].signal(t, syscall.SIGKILL)
		case n * 4 / 10:
			mu.Lock()
			outageEnd = time.Now().Add(*outage)
			mu.Unlock()
			r.failUntil.Store(outageEnd.UnixNano())
		case n * 6 / 10:
			c.services[config.Events][0].start(t)
		}
	}
	write := func(i int) error {
		var path, body string
		mu.Lock()
		last := ""
		if len(items) > 0 {
			last = items[len(items)-1]
		}
		mu.Unlock()
		switch k := i % 5; {
		case k == 0 || k == 1:
			vis := "VISIBILITY_PUBLIC"
			if k == 1 {
				vis = "VISIBILITY_PRIVATE"
			}
			path, body = "/v1/donations?requestId="+uuid.NewString(), fmt.Sprintf(`{"amount":{"currencyCode":"USD","minorUnits":"%d"},"donorName":"Giver %d","visibility":%q,"channel":"CHANNEL_CASH"}`, 1000+i, i, vis)
		case k == 2 || last == "":
			path, body = "/v1/items?requestId="+uuid.NewString(), fmt.Sprintf(`{"title":"item %d"}`, i)
		case k == 3:
			path, body = "/v1/"+last+"/updates?requestId="+uuid.NewString(), `{"text":"progress"}`
		default:
			path, body = "/v1/teams?teamId="+fmt.Sprintf("t%d", i), fmt.Sprintf(`{"displayName":"Team %d"}`, i)
		}
		code, b, err := c.do(http.MethodPost, path, body)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("write %d (%s) with an events replica down or the receiver failing: %d %v %s", i, path, code, err, b)
		}
		var out struct{ Name string }
		_ = json.Unmarshal(b, &out)
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(path, "/v1/items?") {
			items = append(items, out.Name)
		}
		if i%5 == 1 {
			privateNames = append(privateNames, out.Name)
		}
		return nil
	}
	began := time.Now()
	var wg sync.WaitGroup
	for range *writers {
		wg.Go(func() {
			for failed.Load() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				milestone(i)
				if err := write(i); err != nil {
					msg := err.Error()
					failed.Store(&msg)
				}
			}
		})
	}
	wg.Wait()
	if msg := failed.Load(); msg != nil {
		t.Fatal(*msg)
	}
	writeTime := time.Since(began)
	c.waitReady(t, c.services[config.Events][0])

	// Every write's event reaches the log, and every public event the receiver.
	var public []string
	waitFor(t, 90*time.Second+*outage, "every event in the log and delivered", func() bool {
		got := count(t, eventsDB, `SELECT count(*) FROM events WHERE seq > $1 AND type <> $2`, startSeq, events.WebhookDisabled)
		if got < n {
			return false
		}
		public = nil
		rows, err := eventsDB.Query(t.Context(), `SELECT id::text FROM events WHERE seq > $1 AND public AND type = ANY($2) ORDER BY seq`, startSeq, types)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			public = append(public, id)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.firstOK) >= len(public)
	})
	close(stopFeed)
	if err := <-feedDone; err != nil {
		t.Fatal(err)
	}
	if err := admin.poll(t); err != nil {
		t.Fatal(err)
	}
	if err := anon.poll(t); err != nil {
		t.Fatal(err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Equal(r.firstOK, public) {
		t.Errorf("the receiver's first successes (%d) are not the public events in log order (%d)", len(r.firstOK), len(public))
	}
	if len(r.bad) > 0 {
		t.Errorf("%d deliveries did not verify or differed, e.g. %v", len(r.bad), r.bad[:min(3, len(r.bad))])
	}
	// The feed, read with a cursor through the kill: every event once, in log order.
	var all []string
	rows, err := eventsDB.Query(t.Context(), `SELECT id::text FROM events WHERE seq > $1 ORDER BY seq`, startSeq)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		all = append(all, id)
	}
	if !slices.Equal(admin.ids, all) {
		seen := map[string]int{}
		for _, id := range admin.ids {
			seen[id]++
		}
		dups := 0
		for _, n := range seen {
			dups += n - 1
		}
		t.Errorf("the admin's feed read %d events (%d duplicates); the log holds %d", len(admin.ids), dups, len(all))
	}
	// The anonymous reader: the public events, and nothing of the private gifts.
	anonRaw := strings.Join(anon.raw, "\n")
	for _, name := range privateNames {
		if strings.Contains(anonRaw, name) {
			t.Fatalf("an anonymous reader sees %s, a PRIVATE gift", name)
		}
	}
	if len(anon.ids) != len(public) {
		t.Errorf("the anonymous feed has %d events, want the %d public ones", len(anon.ids), len(public))
	}
	lat := make([]time.Duration, 0, len(public))
	times := map[string]time.Time{}
	trow, err := eventsDB.Query(t.Context(), `SELECT id::text, time FROM events WHERE seq > $1`, startSeq)
	if err != nil {
		t.Fatal(err)
	}
	for trow.Next() {
		var id string
		var at time.Time
		_ = trow.Scan(&id, &at)
		times[id] = at
	}
	// Recovery: from the outage's end until every event committed before it
	// had reached the receiver.
	var recovered time.Time
	for _, id := range public {
		lat = append(lat, r.okAt[id].Sub(times[id]))
		if times[id].Before(outageEnd) && r.okAt[id].After(recovered) {
			recovered = r.okAt[id]
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("%d writes by %d writers in %v: %.0f events/s sustained into the log (%d events, %d public, delivered with %d requests)",
		n, *writers, writeTime.Round(time.Millisecond), float64(len(all))/writeTime.Seconds(), len(all), len(public), r.requests)
	t.Logf("delivery from commit to receiver: p50 %v, p99 %v, max %v (the whole run, outage and kill included)",
		lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	t.Logf("receiver outage %v: backlog recovered %v after it ended", *outage, recovered.Sub(outageEnd).Round(time.Millisecond))
}
