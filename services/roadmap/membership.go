package roadmap

import (
	"context"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
)

// membershipTimeout bounds each call to membership, so a hung membership
// service turns into UNAVAILABLE rather than a stuck request.
const membershipTimeout = 5 * time.Second

// unreachable is the error for a membership service that cannot answer.
func unreachable() error {
	return apierr.Unavailable("cannot check people and teams now: the membership service is unavailable")
}

// membershipErr turns a failed lookup of name into the caller's error: an
// unknown name is the caller's mistake (INVALID_ARGUMENT on field), anything
// else means membership could not answer (UNAVAILABLE, never INTERNAL).
func membershipErr(err error, field, name string) error {
	switch status.Code(err) {
	case codes.NotFound, codes.InvalidArgument:
		return apierr.InvalidField(field, "no such "+kindOf(name)+" in membership: "+name)
	case codes.Canceled:
		return err
	}
	return unreachable()
}

func kindOf(name string) string {
	if len(name) > 6 && name[:6] == "teams/" {
		return "team"
	}
	return "person"
}

// checkTeam fails unless team (`teams/{team}`) exists in membership.
func (s *Server) checkTeam(ctx context.Context, field, team string) error {
	if team == "" {
		return nil
	}
	if s.opts.Membership == nil {
		return unreachable()
	}
	ctx, cancel := context.WithTimeout(ctx, membershipTimeout)
	defer cancel()
	if _, err := s.opts.Membership.GetTeam(ctx, &membershipv1.GetTeamRequest{Name: team}); err != nil {
		return membershipErr(err, field, team)
	}
	return nil
}

// checkPeople fails unless every person (`people/{person}`) exists in membership.
func (s *Server) checkPeople(ctx context.Context, field string, people []string) error {
	if len(people) == 0 {
		return nil
	}
	if s.opts.Membership == nil {
		return unreachable()
	}
	ctx, cancel := context.WithTimeout(ctx, membershipTimeout)
	defer cancel()
	var bad []apierr.FieldViolation
	for i, p := range people {
		if _, err := s.opts.Membership.GetPerson(ctx, &membershipv1.GetPersonRequest{Name: p}); err != nil {
			e := membershipErr(err, field, p)
			if ae, ok := e.(*apierr.Error); ok && ae.Code == codes.InvalidArgument {
				bad = append(bad, apierr.FieldViolation{Field: indexed(field, i), Description: "no such person in membership: " + p})
				continue
			}
			return e
		}
	}
	if len(bad) > 0 {
		return apierr.Invalid(bad...)
	}
	return nil
}

func indexed(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// countEligible counts who may vote: the members of team, or every person.
// Lists are paged through at the maximum page size.
func (s *Server) countEligible(ctx context.Context, team string) (int32, error) {
	if s.opts.Membership == nil {
		return 0, unreachable()
	}
	ctx, cancel := context.WithTimeout(ctx, 4*membershipTimeout)
	defer cancel()
	var n int32
	token := ""
	for {
		var next string
		if team != "" {
			resp, err := s.opts.Membership.ListTeamMembers(ctx, &membershipv1.ListTeamMembersRequest{Parent: team, PageSize: 1000, PageToken: token})
			if err != nil {
				return 0, membershipErr(err, "proposal.eligible_team", team)
			}
			n += int32(len(resp.GetTeamMembers()))
			next = resp.GetNextPageToken()
		} else {
			resp, err := s.opts.Membership.ListPeople(ctx, &membershipv1.ListPeopleRequest{PageSize: 1000, PageToken: token})
			if err != nil {
				return 0, unreachable()
			}
			n += int32(len(resp.GetPeople()))
			next = resp.GetNextPageToken()
		}
		if next == "" {
			return n, nil
		}
		token = next
	}
}
