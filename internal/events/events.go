// Package events is how a Guildhall service emits domain events: Emit writes
// the event to the service's outbox inside the transaction of the change it
// describes, and the outbox job (Sender) hands it to the events service,
// which keeps the log, the feed and the webhooks. An event never exists
// without its change, and a change never commits without its event.
//
// Events are CloudEvents 1.0 (github.com/cloudevents/sdk-go): a UUID id, the
// emitting service as source (`/guildhall/<service>`), a reverse-DNS
// versioned type (the constants in types.go), the resource name as subject,
// the time in UTC and minimal JSON data. Each event carries its Audience,
// decided by the emitting service under its own read rules: the events
// service shows an event only to callers in it.
//
// It must not import any service package.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/internal/outbox"
)

// Topic is the outbox topic of events.
const Topic = "events"

// ContentType is the data content type of every event.
const ContentType = "application/json"

// Event is one domain event as a service emits it.
type Event struct {
	// Type is one of the constants in types.go.
	Type string
	// Subject is the resource the event is about, e.g. "donations/…".
	Subject string
	// Data is the event's data, minimal: resource names and the fields that
	// changed; encoded as JSON with camelCase names. nil is no data ({}).
	Data proto.Message
	// Audience is who may read the event.
	Audience Audience
	// Time is when the change happened (the service clock); zero is now.
	Time time.Time
}

// Audience is who may read an event besides admins and Guildhall services:
// everyone if Public, else the People named, holders of any of Permissions
// and the leads of LeadOfTeams. The zero Audience is admins and services only.
type Audience struct {
	Public      bool
	Permissions []string
	People      []string
	LeadOfTeams []string
}

// AnyTeam in LeadOfTeams stands for every team: the leads of any team.
const AnyTeam = "*"

// Public is the audience of everyone.
func Public() Audience { return Audience{Public: true} }

// Holders is the audience of the holders of any of perms.
func Holders(perms ...string) Audience { return Audience{Permissions: perms} }

// With returns a with people added (empty names are skipped).
func (a Audience) With(people ...string) Audience {
	for _, p := range people {
		if p != "" {
			a.People = append(a.People, p)
		}
	}
	return a
}

// WithLeadsOf returns a with the leads of teams added (empty names skipped).
func (a Audience) WithLeadsOf(teams ...string) Audience {
	for _, t := range teams {
		if t != "" {
			a.LeadOfTeams = append(a.LeadOfTeams, t)
		}
	}
	return a
}

// Emit queues e inside tx, the transaction of the change it describes.
func Emit(ctx context.Context, tx pgx.Tx, e Event) error {
	rec, err := Record(e)
	if err != nil {
		return err
	}
	return outbox.Enqueue(ctx, tx, Topic, rec)
}

// Message is the outbox row of e, for writers that insert outbox rows in
// statements of their own.
func Message(e Event) (outbox.Message, error) {
	rec, err := Record(e)
	if err != nil {
		return outbox.Message{}, err
	}
	return outbox.NewMessage(Topic, rec)
}

// Record builds the stored form of e with a fresh id, checked as a
// CloudEvent. An unknown type or an empty subject is a programming error.
func Record(e Event) (*eventsv1.EventRecord, error) {
	if !Known(e.Type) {
		return nil, fmt.Errorf("event type %q is not declared in package events", e.Type)
	}
	if e.Subject == "" {
		return nil, fmt.Errorf("event %s has no subject", e.Type)
	}
	b := []byte("{}")
	if e.Data != nil {
		var err error
		if b, err = protojson.Marshal(e.Data); err != nil {
			return nil, fmt.Errorf("encode %s data: %w", e.Type, err)
		}
	}
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	ev := &eventsv1.Event{
		Id: uuid.NewString(), Source: SourceOf(e.Type), SpecVersion: cloudevents.VersionV1,
		Type: e.Type, Subject: e.Subject, Time: timestamppb.New(t.UTC()),
		DataContentType: ContentType,
	}
	if _, err := CloudEventWithData(ev, b); err != nil { // b is data's JSON: not encoded twice
		return nil, err
	}
	a := e.Audience
	// The data travels as its JSON (data_json), never as a Struct: it is
	// stored as JSON, and a Struct would be decoded here only to be encoded
	// again by the events service.
	return &eventsv1.EventRecord{Event: ev, DataJson: b, Audience: &eventsv1.Audience{
		Anyone: a.Public, Permissions: a.Permissions, People: a.People, LeadOfTeams: a.LeadOfTeams,
	}}, nil
}

// SourceOf is the CloudEvents source of an event type: the service named by
// its third segment ("dev.guildhall.finance.…" → "/guildhall/finance").
func SourceOf(eventType string) string {
	parts := strings.SplitN(eventType, ".", 4)
	if len(parts) < 4 {
		return "/guildhall"
	}
	return "/guildhall/" + parts[2]
}

// CloudEvent returns ev as an SDK CloudEvent, validated against the
// CloudEvents 1.0 required attributes.
func CloudEvent(ev *eventsv1.Event) (cloudevents.Event, error) {
	data, err := DataJSON(ev)
	if err != nil {
		return cloudevents.NewEvent(cloudevents.VersionV1), err
	}
	return CloudEventWithData(ev, data)
}

// RecordData is rec's event data as JSON: data_json as sent, or event.data
// encoded ({} when neither is set). data_json must be a JSON object, must
// not come with event.data, and may not hold U+0000, which PostgreSQL's
// jsonb refuses (as the API refuses it in every string).
func RecordData(rec *eventsv1.EventRecord) ([]byte, error) {
	b := rec.GetDataJson()
	if b == nil {
		return DataJSON(rec.GetEvent())
	}
	if rec.GetEvent().GetData() != nil {
		return nil, errors.New("set data_json or event.data, not both")
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' || !json.Valid(b) {
		return nil, errors.New("data_json is not a JSON object")
	}
	if bytes.Contains(b, []byte(`\u0000`)) && holdsNul(b) {
		return nil, errors.New("data_json holds U+0000")
	}
	return b, nil
}

// holdsNul reports whether the JSON document b has U+0000 in a key or a
// string (and not merely the text \u0000 behind an escaped backslash).
func holdsNul(b []byte) bool {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return true
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case string:
			return strings.ContainsRune(v, 0)
		case []any:
			return slices.ContainsFunc(v, walk)
		case map[string]any:
			for k, e := range v {
				if strings.ContainsRune(k, 0) || walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}

// DataJSON is ev's data (a Struct) as JSON ({} when it has none).
func DataJSON(ev *eventsv1.Event) ([]byte, error) {
	if ev.GetData() == nil {
		return []byte("{}"), nil
	}
	b, err := protojson.Marshal(ev.GetData())
	if err != nil {
		return nil, fmt.Errorf("event %s data: %w", ev.GetId(), err)
	}
	return b, nil
}

// CloudEventWithData is CloudEvent for a caller that holds ev's data
// already encoded as JSON (DataJSON), so that it is not encoded again.
func CloudEventWithData(ev *eventsv1.Event, data []byte) (cloudevents.Event, error) {
	ce := cloudevents.NewEvent(cloudevents.VersionV1)
	ce.SetID(ev.GetId())
	ce.SetSource(ev.GetSource())
	ce.SetType(ev.GetType())
	ce.SetSubject(ev.GetSubject())
	ce.SetTime(ev.GetTime().AsTime().UTC())
	if err := ce.SetData(ContentType, data); err != nil {
		return ce, fmt.Errorf("event %s data: %w", ev.GetId(), err)
	}
	if err := ce.Validate(); err != nil {
		return ce, fmt.Errorf("event %s is not a valid CloudEvent: %w", ev.GetId(), err)
	}
	return ce, nil
}
