package membership

import (
	"context"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

// emit writes a membership event in tx, the write's transaction. People,
// teams and positions are public and so are their events; a person's email
// never goes into one. Offers are seen by coordinators and team leads
// (volunteerAudience).
func (s *Server) emit(ctx context.Context, tx pgx.Tx, typ, subject string, data proto.Message, a events.Audience) error {
	return events.Emit(ctx, tx, events.Event{Type: typ, Subject: subject, Data: data, Audience: a, Time: s.now()})
}

// volunteerAudience is who reads an offer: holders of volunteers.coordinate
// and the leads of any team (see privacy.go).
func volunteerAudience() events.Audience {
	return events.Holders(PermCoordinateVolunteers).WithLeadsOf(events.AnyTeam)
}

// emitMember announces a change of a team's membership: the team is the
// subject, the person and role the data.
func (s *Server) emitMember(ctx context.Context, tx pgx.Tx, typ, teamID, personID string, role membershipv1.Role) error {
	name := resource.Name(teams, teamID) + "/members/" + personID
	return s.emit(ctx, tx, typ, resource.Name(teams, teamID),
		&membershipv1.TeamMember{Name: name, Person: resource.Name(people, personID), Role: role}, events.Public())
}

// emitPosition announces a position that became open, filled or closed.
func (s *Server) emitPosition(ctx context.Context, tx pgx.Tx, was membershipv1.Position_State, p *membershipv1.Position) error {
	if p.GetState() == was {
		return nil
	}
	typ := map[membershipv1.Position_State]string{
		membershipv1.Position_STATE_OPEN: events.PositionOpened, membershipv1.Position_STATE_FILLED: events.PositionFilled,
		membershipv1.Position_STATE_CLOSED: events.PositionClosed,
	}[p.GetState()]
	if typ == "" {
		return nil
	}
	return s.emit(ctx, tx, typ, p.GetName(), &membershipv1.Position{Name: p.GetName(), Title: p.GetTitle(),
		State: p.GetState(), FilledBy: p.GetFilledBy()}, events.Public())
}

// volunteerEvents are the funnel moves that are events.
var volunteerEvents = map[membershipv1.Volunteer_State]string{
	membershipv1.Volunteer_STATE_MATCHED: events.VolunteerMatched, membershipv1.Volunteer_STATE_ONBOARDING: events.VolunteerOnboarded,
	membershipv1.Volunteer_STATE_ACTIVE: events.VolunteerActivated, membershipv1.Volunteer_STATE_DECLINED: events.VolunteerDeclined,
}

// emitVolunteer announces an offer's move through the funnel (never its contact).
func (s *Server) emitVolunteer(ctx context.Context, tx pgx.Tx, v store.Volunteer) error {
	st := membershipv1.Volunteer_State(pgenum.Number(membershipv1.Volunteer_STATE_UNSPECIFIED.Descriptor(), v.State))
	typ, ok := volunteerEvents[st]
	if !ok {
		return nil
	}
	name := resource.Name(volunteers, v.ID)
	data := &membershipv1.Volunteer{Name: name, State: st}
	if v.Position != "" {
		data.Position = v.Position
	}
	if v.PersonID.Valid {
		data.Person = resource.Name(people, v.PersonID.String)
	}
	return s.emit(ctx, tx, typ, name, data, volunteerAudience().With(data.GetPerson()))
}

// insertDrift records a drift stage and, if it is new, announces it to the
// person and the leads of the teams concerned: the flag's team, or the
// person's teams (as ListDriftEvents shows it).
func (s *Server) insertDrift(ctx context.Context, tx pgx.Tx, p store.InsertDriftEventParams) error {
	n, err := s.q.InsertDriftEvent(ctx, tx, p)
	if err != nil || n == 0 {
		return err
	}
	data := &membershipv1.DriftEvent{Stage: p.Stage, Time: timestamppb.New(p.Time), Reason: p.Reason}
	a := events.Audience{}
	subject := ""
	if p.PersonID.Valid {
		data.Person = resource.Name(people, p.PersonID.String)
		a = a.With(data.Person)
		subject = data.Person
		ms, err := s.q.PersonMemberships(ctx, tx, p.PersonID.String)
		if err != nil {
			return err
		}
		for _, m := range ms {
			a = a.WithLeadsOf(resource.Name(teams, m.TeamID))
		}
	}
	if p.TeamID != "" {
		data.Team = resource.Name(teams, p.TeamID)
		a = a.WithLeadsOf(data.Team)
		subject = data.Team
	}
	return s.emit(ctx, tx, events.DriftStageReached, subject, data, a)
}

// emitTransition announces a volunteer offer's or a package's move (the
// lifecycle hook).
func (s *Server) emitTransition(ctx context.Context, tx pgx.Tx, c lifecycle.Change) error {
	switch c.Kind {
	case "volunteer":
		v, err := s.q.GetVolunteer(ctx, tx, resource.ID(volunteers, c.Name))
		if err != nil {
			return err
		}
		return s.emitVolunteer(ctx, tx, v)
	case "package":
		return s.emit(ctx, tx, events.PackageStateChanged, c.Name, events.TransitionData(c.Name, c.From, c.To), events.Public())
	}
	return nil
}
