package membership

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

// withTeams fills Person.teams, which redact also relies on.
func (s *Server) withTeams(ctx context.Context, db store.DBTX, ps []*membershipv1.Person) error {
	ids := make([]string, 0, len(ps))
	byID := map[string]*membershipv1.Person{}
	for _, p := range ps {
		id := resource.ID(people, p.GetName())
		ids = append(ids, id)
		byID[id] = p
		p.Teams = []string{}
	}
	rows, err := s.q.TeamsOfPeople(ctx, db, ids)
	if err != nil {
		return err
	}
	for _, r := range rows {
		byID[r.PersonID].Teams = append(byID[r.PersonID].Teams, resource.Name(teams, r.TeamID))
	}
	return nil
}

// maySeePrivate reports whether the caller may see a person's private
// fields: the person themself, admins, holders of people.read_private, and
// leads of one of the person's teams.
func maySeePrivate(caller *auth.Principal, p *membershipv1.Person) bool {
	if auth.Has(caller, PermReadPrivate) || (caller.GetPerson() != "" && caller.GetPerson() == p.GetName()) {
		return true
	}
	for _, t := range p.GetTeams() {
		if auth.IsLeadOf(caller, t) {
			return true
		}
	}
	return false
}

// redact clears the private fields (email) the caller may not see, and
// coarsens last_active_time to its UTC day (see publicActiveTime). It is the
// one data-visibility rule handlers apply; who may call what is in policy.go.
func redact(ctx context.Context, ps []*membershipv1.Person) {
	caller := auth.From(ctx)
	for _, p := range ps {
		if !maySeePrivate(caller, p) {
			p.Email = ""
			p.LastActiveTime = publicActiveTime(p.GetLastActiveTime())
		}
	}
}

// publicActiveTime is the start of t's UTC day. Activity comes from every
// service, including acts whose actor is not public (a treasurer recording
// a gift, an expense being filed): to the second, a public last activity
// would match the public time of such an act and name its actor. A day holds
// too many acts to match one. (Gifts whose donor is hidden are not reported
// as the donor's activity at all: see finance's CreateDonation.)
func publicActiveTime(t *timestamppb.Timestamp) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	y, m, d := t.AsTime().UTC().Date()
	return timestamppb.New(time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
}

// maySeeContact reports whether the caller may see an offer's contact:
// admins, holders of volunteers.coordinate, and the leads of the team owning
// the position the offer is matched to.
func maySeeContact(caller *auth.Principal, v *membershipv1.Volunteer) bool {
	return auth.Has(caller, PermCoordinateVolunteers) || auth.IsLeadOf(caller, teamOf(v.GetPosition()))
}

// redactContacts clears the contacts the caller may not see.
func redactContacts(ctx context.Context, vs []*membershipv1.Volunteer) {
	caller := auth.From(ctx)
	for _, v := range vs {
		if !maySeeContact(caller, v) {
			v.Contact = ""
		}
	}
}
