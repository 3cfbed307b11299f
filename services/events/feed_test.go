package events_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guildhall/guildhall/app/apptest"
	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/internal/events"
)

// readFeed reads GET /v1/events as token from cursor until a short page,
// and returns the event ids in order and the cursor to resume from.
func readFeed(t *testing.T, env *apptest.Env, token, filter, cursor string, pageSize int) ([]string, []map[string]any, string) {
	t.Helper()
	var ids []string
	var evs []map[string]any
	for {
		q := url.Values{"pageSize": {fmt.Sprint(pageSize)}}
		if cursor != "" {
			q.Set("pageToken", cursor)
		}
		if filter != "" {
			q.Set("filter", filter)
		}
		var r *apptest.Response
		if token == "" {
			r = env.Do(t, http.MethodGet, "/v1/events?"+q.Encode(), "")
		} else {
			r = env.WithToken(token).Do(t, http.MethodGet, "/v1/events?"+q.Encode(), "")
		}
		if r.Status != http.StatusOK {
			t.Fatalf("GET /v1/events: %d %s", r.Status, r.Body)
		}
		body := r.JSON(t)
		page, _ := body["events"].([]any)
		for _, e := range page {
			m := e.(map[string]any)
			ids = append(ids, m["id"].(string))
			evs = append(evs, m)
		}
		next, _ := body["nextPageToken"].(string)
		if next == "" {
			t.Fatal("the feed answered without a nextPageToken")
		}
		cursor = next
		if len(page) < pageSize {
			return ids, evs, cursor
		}
	}
}

// TestFeed: ingest is idempotent by event id; the feed pages oldest first
// with a cursor that resumes after the last event seen, with no gaps and no
// duplicates; each caller sees only the events whose audience includes
// them; a filter on type narrows the feed.
func TestFeed(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	public := &eventsv1.Audience{Anyone: true}
	books := &eventsv1.Audience{Permissions: []string{"finance.read_private"}, People: []string{"people/member"}}

	var all, anon []string
	var recs []*eventsv1.EventRecord
	for i := range 12 {
		aud, typ := public, events.DonationCreated
		if i%3 == 1 {
			aud = books
		}
		if i%4 == 0 {
			typ = events.ExpenseSubmitted
		}
		r := record(typ, fmt.Sprintf("donations/%02d", i), aud)
		recs = append(recs, r)
		all = append(all, r.Event.Id)
		if aud == public {
			anon = append(anon, r.Event.Id)
		}
	}
	if n := ingest(t, env, recs[:7]...); n != 7 {
		t.Fatalf("stored %d of 7 new events", n)
	}
	// The outbox delivers at least once: a repeat stores nothing new.
	if n := ingest(t, env, recs...); n != 5 {
		t.Fatalf("stored %d of 12 with 7 repeated; want 5", n)
	}

	got, _, cursor := readFeed(t, env, a.Admin, "", "", 5)
	if strings.Join(got, ",") != strings.Join(all, ",") {
		t.Fatalf("admin's feed\n got %v\nwant %v", got, all)
	}
	gotAnon, evs, anonCursor := readFeed(t, env, "", "", "", 2)
	if strings.Join(gotAnon, ",") != strings.Join(anon, ",") {
		t.Fatalf("anonymous feed\n got %v\nwant %v", gotAnon, anon)
	}
	if evs[0]["specVersion"] != "1.0" || evs[0]["source"] != "/guildhall/finance" || evs[0]["subject"] != "donations/00" {
		t.Errorf("event as served: %v", evs[0])
	}
	// The person named in the audience and the permission's holder see the
	// books' events too.
	if got, _, _ := readFeed(t, env, a.Member, "", "", 50); len(got) != len(all) {
		t.Errorf("the person named sees %d events, want %d", len(got), len(all))
	}
	if got, _, _ := readFeed(t, env, a.FinanceTeam, "", "", 50); len(got) != len(all) {
		t.Errorf("the finance.read_private holder sees %d events, want %d", len(got), len(all))
	}

	// Resuming: new events come after the cursor, nothing is repeated.
	more := []*eventsv1.EventRecord{record(events.DonationCreated, "donations/new1", books), record(events.DonationCreated, "donations/new2", public)}
	ingest(t, env, more...)
	got, _, _ = readFeed(t, env, a.Admin, "", cursor, 5)
	if strings.Join(got, ",") != more[0].Event.Id+","+more[1].Event.Id {
		t.Errorf("admin resumed to %v", got)
	}
	got, _, _ = readFeed(t, env, "", "", anonCursor, 5)
	if strings.Join(got, ",") != more[1].Event.Id {
		t.Errorf("anonymous reader resumed to %v, want only the public new event", got)
	}

	// AIP-160 filter on type.
	got, evs, _ = readFeed(t, env, a.Admin, `type = "`+events.ExpenseSubmitted+`"`, "", 50)
	if len(got) != 3 {
		t.Errorf("filtered feed has %d events, want 3", len(got))
	}
	for _, e := range evs {
		if e["type"] != events.ExpenseSubmitted {
			t.Errorf("filtered feed has %v", e["type"])
		}
	}
	// A token from another filter is refused.
	r := env.Do(t, http.MethodGet, "/v1/events?filter="+url.QueryEscape(`subject = "x"`)+"&pageToken="+cursor, "")
	if r.Status != http.StatusBadRequest {
		t.Errorf("a token from another filter: %d %s", r.Status, r.Body)
	}
}

// TestIngestBadInput: only services ingest; malformed events are refused
// with field violations and nothing is stored.
func TestIngestBadInput(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	c := eventsv1.NewEventServiceClient(env.Conn)
	good := record(events.DonationCreated, "donations/x", &eventsv1.Audience{Anyone: true})
	_, err := c.IngestEvents(apptest.Outgoing(context.Background(), a.Member), &eventsv1.IngestEventsRequest{Events: []*eventsv1.EventRecord{good}})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("a person ingesting: %v", err)
	}
	badID := record(events.DonationCreated, "donations/y", nil)
	badID.Event.Id = "not-a-uuid"
	noType := record("", "donations/z", nil)
	both := record(events.DonationCreated, "donations/w", nil)
	both.DataJson = []byte(`{}`)
	notObject := record(events.DonationCreated, "donations/v", nil)
	notObject.Event.Data, notObject.DataJson = nil, []byte(`[1]`)
	nul := record(events.DonationCreated, "donations/u", nil)
	nul.Event.Data, nul.DataJson = nil, []byte(`{"a":"\u0000"}`)
	farOff := record(events.DonationCreated, "donations/t", nil)
	farOff.Event.Time = timestamppb.New(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	_, err = c.IngestEvents(apptest.Outgoing(context.Background(), internalToken), &eventsv1.IngestEventsRequest{Events: []*eventsv1.EventRecord{good, badID, noType, both, notObject, nul, farOff}})
	st, _ := status.FromError(err)
	details := fmt.Sprint(st.Details())
	if st.Code() != codes.InvalidArgument || !strings.Contains(details, "events[1].event.id") || !strings.Contains(details, "events[2].event") ||
		!strings.Contains(details, "events[3].data_json") || !strings.Contains(details, "events[4].data_json") || !strings.Contains(details, "events[5].data_json") ||
		!strings.Contains(details, "events[6].event.time") {
		t.Errorf("bad events: %v %v", err, st.Details())
	}
	var n int
	if err := env.DB(t, "events").QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil || n != 0 {
		t.Errorf("events stored after a refused ingest: %d (%v)", n, err)
	}
	r := env.Do(t, http.MethodGet, "/v1/events?pageSize=-1", "")
	if r.Status != http.StatusBadRequest {
		t.Errorf("negative page size: %d", r.Status)
	}
	r = env.Do(t, http.MethodGet, "/v1/events?pageToken=garbage", "")
	if r.Status != http.StatusBadRequest {
		t.Errorf("garbage page token: %d", r.Status)
	}
	r = env.Do(t, http.MethodGet, "/v1/events?filter="+url.QueryEscape(`source = "x"`), "")
	if r.Status != http.StatusBadRequest {
		t.Errorf("filter on an unknown field: %d", r.Status)
	}
}

// TestIngestBatch: one IngestEvents appends its events in the order given,
// in one statement, skipping ids already stored and an id repeated in the
// batch, and stores each event's fields and audience as sent.
func TestIngestBatch(t *testing.T) {
	env := apptest.Start(t)
	first := record(events.DonationCreated, "donations/a", &eventsv1.Audience{Anyone: true})
	private := record(events.ExpenseSubmitted, "expenses/b", &eventsv1.Audience{
		Permissions: []string{"finance.record"}, People: []string{"people/ann", "people/bo"}, LeadOfTeams: []string{"web"}})
	private.Event.Time = timestamppb.New(time.Date(2026, 11, 30, 3, 0, 0, 123456789, time.UTC))
	repeated := proto.Clone(first).(*eventsv1.EventRecord)
	last := record(events.ItemCreated, "items/c", nil)
	last.Event.Data, last.DataJson = nil, []byte(`{"name": "items/c", "n": [1, 2]}`) // as services send it
	if n := ingest(t, env, first, private, repeated, last); n != 3 {
		t.Fatalf("stored %d of a batch of 4 with one id repeated, want 3", n)
	}
	db := env.DB(t, "events")
	type row struct {
		id, typ, subject, data      string
		public                      bool
		permissions, people, leadOf []string
		at                          time.Time
	}
	read := func() []row {
		rows, err := db.Query(context.Background(), `SELECT id::text, type, subject, data::text, public, permissions, people, lead_of_teams, time FROM events ORDER BY seq`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.typ, &r.subject, &r.data, &r.public, &r.permissions, &r.people, &r.leadOf, &r.at); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	got := read()
	if len(got) != 3 || got[0].id != first.Event.Id || got[1].id != private.Event.Id || got[2].id != last.Event.Id {
		t.Fatalf("log order: %+v", got)
	}
	b := got[1]
	if b.typ != events.ExpenseSubmitted || b.subject != "expenses/b" || b.public || b.data != `{"name": "expenses/b"}` ||
		!slices.Equal(b.permissions, []string{"finance.record"}) || !slices.Equal(b.people, []string{"people/ann", "people/bo"}) ||
		!slices.Equal(b.leadOf, []string{"web"}) {
		t.Errorf("stored private event: %+v", b)
	}
	// timestamptz keeps microseconds: the rest is cut, not rounded.
	if want := time.Date(2026, 11, 30, 3, 0, 0, 123456000, time.UTC); !b.at.Equal(want) {
		t.Errorf("stored time %v, want %v", b.at, want)
	}
	if got[2].data != `{"n": [1, 2], "name": "items/c"}` {
		t.Errorf("stored data_json: %s", got[2].data)
	}
	if !got[0].public || got[2].public || len(got[2].permissions) != 0 || len(got[2].people) != 0 || len(got[2].leadOf) != 0 {
		t.Errorf("audiences: %+v / %+v", got[0], got[2])
	}
	// Delivered again (at least once), with one new event: only it is stored.
	again := record(events.DonationCreated, "donations/d", &eventsv1.Audience{Anyone: true})
	if n := ingest(t, env, last, again, private); n != 1 {
		t.Fatalf("stored %d on redelivery, want 1", n)
	}
	if got := read(); len(got) != 4 || got[3].id != again.Event.Id {
		t.Errorf("log after redelivery: %+v", got)
	}
}
