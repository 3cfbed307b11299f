package membership

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"

	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

// touch records the caller's own write as activity, inside the write's
// transaction: a person's own writes count, so drift never catches someone
// who is busy here.
func (s *Server) touch(ctx context.Context, tx pgx.Tx) error {
	p := auth.From(ctx).GetPerson()
	if p == "" {
		return nil
	}
	id, kind, now := resource.ID(people, p), activity.Kind(ctx, "membership"), s.now()
	if _, err := s.q.InsertActivityEvent(ctx, tx, store.InsertActivityEventParams{
		EventID: resource.NewID(), PersonID: id, Kind: kind, Time: now, ReceiveTime: now,
	}); err != nil {
		return err
	}
	return s.recordActivity(ctx, tx, id, kind, now)
}

// recordActivity moves a person's last activity forward; if that ends a
// drift, the return is recorded as an ACTIVE drift step. Activity of an
// unknown person is ignored.
func (s *Server) recordActivity(ctx context.Context, tx pgx.Tx, personID, kind string, at time.Time) error {
	ended, err := s.q.RecordActivity(ctx, tx, store.RecordActivityParams{PersonID: personID, At: at})
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && ended == "") {
		return nil
	}
	if err != nil {
		return err
	}
	return s.insertDrift(ctx, tx, store.InsertDriftEventParams{
		ID: resource.NewID(), PersonID: convert.Text(personID), Stage: "active", Time: at, Basis: at,
		Reason: "active again after being " + ended + " (" + kind + ")", VacatedPositions: []string{},
	})
}

// latestActivity is a person's latest event in one report.
type latestActivity struct {
	time time.Time
	kind string
}

// ReportActivity records activity reported by the other services (through
// their outboxes) and by bridges holding activity.report. Each event counts
// once per reporter, by event id: a bridge's ids are kept apart from other
// reporters', so one cannot spend another's. A person's last_active_time
// only moves forward, and never beyond the clock. Reports naming unknown
// people record nothing and come back in unknown_people. The reporting
// person's own call is their activity too.
func (s *Server) ReportActivity(ctx context.Context, req *membershipv1.ReportActivityRequest) (*membershipv1.ReportActivityResponse, error) {
	var bad []apierr.FieldViolation
	for i, a := range req.GetActivities() {
		at := fmt.Sprintf("activities[%d].", i)
		if a.GetEventId() == "" || len(a.GetEventId()) > 100 {
			bad = append(bad, apierr.FieldViolation{Field: at + "event_id", Description: "required, at most 100 characters"})
		}
		if !personName.MatchString(a.GetPerson()) {
			bad = append(bad, apierr.FieldViolation{Field: at + "person", Description: "must be people/{person}"})
		}
		if a.GetKind() == "" || len(a.GetKind()) > 64 {
			bad = append(bad, apierr.FieldViolation{Field: at + "kind", Description: "required, at most 64 characters"})
		}
		if a.GetTime() != nil && a.GetTime().CheckValid() != nil {
			bad = append(bad, apierr.FieldViolation{Field: at + "time", Description: "not a valid time"})
		}
	}
	if len(bad) > 0 {
		return nil, apierr.Invalid(bad...)
	}
	// Services report uuids from their outboxes; a person's event ids are
	// their own namespace.
	scope := ""
	if caller := auth.From(ctx); caller.GetService() == "" && caller.GetPerson() != "" {
		scope = caller.GetPerson() + ":"
	}
	ids := make([]string, 0, len(req.GetActivities()))
	for _, a := range req.GetActivities() {
		ids = append(ids, resource.ID(people, a.GetPerson()))
	}
	resp := &membershipv1.ReportActivityResponse{}
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		resp.Recorded, resp.UnknownPeople = 0, nil
		found, err := s.q.ExistingPeople(ctx, tx, ids)
		if err != nil {
			return err
		}
		known := map[string]bool{}
		for _, id := range found {
			known[id] = true
		}
		now := s.now()
		// People's rows are locked in one order, so concurrent reports (the
		// services' outboxes, bridges) cannot deadlock on them.
		latest := map[string]latestActivity{}
		acts := slices.Clone(req.GetActivities())
		slices.SortStableFunc(acts, func(a, b *membershipv1.Activity) int { return strings.Compare(a.GetPerson(), b.GetPerson()) })
		// The known people's events go in one statement; ids it did not
		// record (stored before, or repeated in this report) are skipped.
		ins := store.InsertActivityEventsParams{ReceiveTime: now}
		for _, a := range acts {
			person := resource.ID(people, a.GetPerson())
			if !known[person] {
				if !slices.Contains(resp.UnknownPeople, a.GetPerson()) {
					resp.UnknownPeople = append(resp.UnknownPeople, a.GetPerson())
				}
				continue
			}
			t := now
			if a.GetTime() != nil && a.GetTime().AsTime().Before(now) {
				t = a.GetTime().AsTime()
			}
			ins.EventIds = append(ins.EventIds, scope+a.GetEventId())
			ins.PersonIds = append(ins.PersonIds, person)
			ins.Kinds = append(ins.Kinds, a.GetKind())
			ins.Times = append(ins.Times, t)
		}
		recorded := map[string]bool{}
		if len(ins.EventIds) > 0 {
			ids, err := s.q.InsertActivityEvents(ctx, tx, ins)
			if err != nil {
				return err
			}
			for _, id := range ids {
				recorded[id] = true
			}
		}
		for i, id := range ins.EventIds {
			if !recorded[id] {
				continue
			}
			delete(recorded, id) // an id repeated in the report counts once
			resp.Recorded++
			// A person's last activity moves once per report, to their
			// latest: one update of their row instead of one per event
			// (a busy person's events arrive by the hundred in a batch).
			person, t := ins.PersonIds[i], ins.Times[i]
			if l, ok := latest[person]; !ok || t.After(l.time) {
				latest[person] = latestActivity{t, ins.Kinds[i]}
			}
		}
		for _, person := range slices.Sorted(maps.Keys(latest)) {
			if err := s.recordActivity(ctx, tx, person, latest[person].kind, latest[person].time); err != nil {
				return err
			}
		}
		slices.Sort(resp.UnknownPeople)
		return s.touch(ctx, tx)
	})
	return resp, err
}

var personName = regexp.MustCompile(`^people/[a-z][a-z0-9-]{0,62}$`)
