package roadmap

import (
	"context"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/memberref"
)

// checkTeam fails unless team (`teams/{team}`), if set, exists in membership.
func (s *Server) checkTeam(ctx context.Context, field, team string) error {
	if team == "" {
		return nil
	}
	_, err := s.members.Team(ctx, field, team)
	return err
}

// countEligible counts who may vote: the members of team (membership counts
// them), or every person, paged through at the maximum page size.
func (s *Server) countEligible(ctx context.Context, team string) (int32, error) {
	if team != "" {
		t, err := s.members.Team(ctx, "proposal.eligible_team", team)
		return t.GetMemberCount(), err
	}
	if s.opts.Membership == nil {
		return 0, memberref.Unavailable()
	}
	ctx, cancel := context.WithTimeout(ctx, 4*memberref.Timeout)
	defer cancel()
	var n int32
	for token := ""; ; {
		resp, err := s.opts.Membership.ListPeople(ctx, &membershipv1.ListPeopleRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return 0, memberref.Unavailable()
		}
		n += int32(len(resp.GetPeople()))
		if token = resp.GetNextPageToken(); token == "" {
			return n, nil
		}
	}
}
