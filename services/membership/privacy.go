package membership

import (
	"context"

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
// fields: the person themself, admins, and leads of one of the person's teams.
func maySeePrivate(caller *auth.Principal, p *membershipv1.Person) bool {
	if caller.GetAdmin() || (caller.GetPerson() != "" && caller.GetPerson() == p.GetName()) {
		return true
	}
	for _, t := range p.GetTeams() {
		if auth.IsLeadOf(caller, t) {
			return true
		}
	}
	return false
}

// redact clears the private fields (email) the caller may not see. It is the
// one data-visibility rule handlers apply; who may call what is in policy.go.
func redact(ctx context.Context, ps []*membershipv1.Person) {
	caller := auth.From(ctx)
	for _, p := range ps {
		if !maySeePrivate(caller, p) {
			p.Email = ""
		}
	}
}
