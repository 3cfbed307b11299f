package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/listfilter"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/services/events/store"
)

// IngestEvents appends the events of a service's outbox to the log, in the
// order given, skipping ids already stored (the outbox delivers at least
// once), and queues each public one for the webhooks subscribed to its type.
func (s *Server) IngestEvents(ctx context.Context, req *eventsv1.IngestEventsRequest) (*eventsv1.IngestEventsResponse, error) {
	var bad []apierr.FieldViolation
	data := make([][]byte, len(req.GetEvents())) // each event's data as JSON, encoded once
	for i, rec := range req.GetEvents() {
		if _, err := uuid.Parse(rec.GetEvent().GetId()); err != nil {
			bad = append(bad, apierr.FieldViolation{Field: fmt.Sprintf("events[%d].event.id", i), Description: "must be a UUID"})
			continue
		}
		// The log's JSON argument carries times as RFC 3339, which a valid
		// Timestamp (years 1–9999) always fits.
		if t := rec.GetEvent().GetTime(); t != nil && t.CheckValid() != nil {
			bad = append(bad, apierr.FieldViolation{Field: fmt.Sprintf("events[%d].event.time", i), Description: "must be a valid time in years 1–9999"})
			continue
		}
		b, err := events.RecordData(rec)
		if err != nil {
			bad = append(bad, apierr.FieldViolation{Field: fmt.Sprintf("events[%d].data_json", i), Description: err.Error()})
			continue
		}
		ce, err := events.CloudEventWithData(rec.GetEvent(), b)
		if err != nil {
			bad = append(bad, apierr.FieldViolation{Field: fmt.Sprintf("events[%d].event", i), Description: "not a valid CloudEvent 1.0: " + err.Error()})
		}
		data[i] = ce.Data()
	}
	if len(bad) > 0 {
		return nil, apierr.Invalid(bad...)
	}
	stored := 0
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		stored = 0
		n, err := s.appendEvents(ctx, tx, req.GetEvents(), data)
		stored = n
		return err
	})
	if err != nil {
		return nil, err
	}
	return &eventsv1.IngestEventsResponse{Stored: int32(stored)}, nil
}

// appendEvents writes records to the log inside tx under the log lock, in
// one statement (AppendEvents), and queues the deliveries of the public
// ones; it reports how many were new. data[i] is recs[i]'s data as JSON
// (events.RecordData).
func (s *Server) appendEvents(ctx context.Context, tx pgx.Tx, recs []*eventsv1.EventRecord, data [][]byte) (int, error) {
	if err := s.q.LockLog(ctx, tx); err != nil {
		return 0, err
	}
	batch := make([]logEntry, len(recs))
	for i, rec := range recs {
		ev, a := rec.GetEvent(), rec.GetAudience()
		batch[i] = logEntry{
			ID: ev.GetId(), Source: ev.GetSource(), Type: ev.GetType(), Subject: ev.GetSubject(),
			// timestamptz keeps microseconds; pgx truncated, and so do we.
			Time: ev.GetTime().AsTime().UTC().Truncate(time.Microsecond), Data: data[i], Public: a.GetAnyone(),
			Permissions: a.GetPermissions(), People: a.GetPeople(), LeadOfTeams: a.GetLeadOfTeams(),
		}
	}
	doc, err := json.Marshal(batch)
	if err != nil {
		return 0, err
	}
	stored, err := s.q.AppendEvents(ctx, tx, doc)
	return len(stored), err
}

// logEntry is one event as AppendEvents reads it from its JSON argument.
type logEntry struct {
	ID          string          `json:"id"`
	Source      string          `json:"source"`
	Type        string          `json:"type"`
	Subject     string          `json:"subject"`
	Time        time.Time       `json:"time"`
	Data        json.RawMessage `json:"data"`
	Public      bool            `json:"public"`
	Permissions []string        `json:"permissions"`
	People      []string        `json:"people"`
	LeadOfTeams []string        `json:"lead_of_teams"`
}

// ListEvents implements the feed: the events the caller may read, in log
// order, after the cursor. The page token names the last event returned
// (never a position in the log), so a reader learns nothing of the events
// hidden from them, not even how many lie between two it sees.
func (s *Server) ListEvents(ctx context.Context, req *eventsv1.ListEventsRequest) (*eventsv1.ListEventsResponse, error) {
	if err := listfilter.Apply(req); err != nil {
		return nil, err
	}
	query := pagination.Fingerprint("events", req.GetType(), req.GetSubject())
	c, err := pagination.Decode(req.GetPageToken(), query, 1)
	if err != nil {
		return nil, err
	}
	after := int64(0)
	if req.GetPageToken() != "" && c.After[0] != "" {
		if _, err := uuid.Parse(c.After[0]); err != nil {
			return nil, pagination.BadToken()
		}
		after, err = s.q.EventSeq(ctx, s.db, c.After[0])
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, pagination.BadToken()
		}
		if err != nil {
			return nil, err
		}
	}
	p := auth.From(ctx)
	var led []string
	for team, role := range p.GetRoles() {
		if role == membershipv1.Role_ROLE_LEAD {
			led = append(led, team)
		}
	}
	if len(led) > 0 {
		led = append(led, events.AnyTeam) // a lead is a lead of "any team"
	}
	var people []string
	if p.GetPerson() != "" {
		people = []string{p.GetPerson()}
	}
	rows, err := s.q.ListEvents(ctx, s.db, store.ListEventsParams{
		After: after, Type: req.GetType(), Subject: req.GetSubject(),
		ReadAll: p.GetAdmin() || p.GetService() != "",
		People:  convert.NonNil(people), Permissions: convert.NonNil(p.GetPermissions()), LeadOfTeams: convert.NonNil(led),
		PageSize: pagination.Size(req.GetPageSize()),
	})
	if err != nil {
		return nil, err
	}
	resp := &eventsv1.ListEventsResponse{}
	for _, r := range rows {
		ev, err := eventFromRow(r.ID, r.Source, r.Type, r.Subject, r.Time, r.Data)
		if err != nil {
			return nil, err
		}
		resp.Events = append(resp.Events, ev)
	}
	last := c.After
	if len(rows) > 0 {
		last = []string{rows[len(rows)-1].ID}
	}
	if len(last) == 0 {
		last = []string{""}
	}
	resp.NextPageToken = pagination.Encode(pagination.Cursor{After: last, Query: query})
	return resp, nil
}

// eventFromRow is a stored event as the API shows it.
func eventFromRow(id, source, typ, subject string, t time.Time, data []byte) (*eventsv1.Event, error) {
	d := &structpb.Struct{}
	if err := protojson.Unmarshal(data, d); err != nil {
		return nil, fmt.Errorf("event %s data: %w", id, err)
	}
	return &eventsv1.Event{Id: id, Source: source, SpecVersion: "1.0", Type: typ, Subject: subject,
		Time: timestamppb.New(t), DataContentType: events.ContentType, Data: d}, nil
}
