package membership

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

const teams = "teams"

// GetTeam implements AIP-131.
func (s *Server) GetTeam(ctx context.Context, req *membershipv1.GetTeamRequest) (*membershipv1.Team, error) {
	row, err := s.q.GetTeam(ctx, s.db, resource.ID(teams, req.GetName()))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return teamFromRow(row.Team, row.MemberCount), nil
}

// ListTeams implements AIP-132, ordered by id.
func (s *Server) ListTeams(ctx context.Context, req *membershipv1.ListTeamsRequest) (*membershipv1.ListTeamsResponse, error) {
	resp := &membershipv1.ListTeamsResponse{}
	var err error
	resp.Teams, resp.NextPageToken, err = pagination.List(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(teams),
		func(after string, limit int32) ([]store.ListTeamsRow, error) {
			return s.q.ListTeams(ctx, s.db, store.ListTeamsParams{After: after, PageSize: limit})
		},
		func(r store.ListTeamsRow) string { return r.Team.ID },
		func(r store.ListTeamsRow) *membershipv1.Team { return teamFromRow(r.Team, r.MemberCount) })
	return resp, err
}

// CreateTeam implements AIP-133 with a client-chosen id.
func (s *Server) CreateTeam(ctx context.Context, req *membershipv1.CreateTeamRequest) (*membershipv1.Team, error) {
	t := req.GetTeam()
	if err := validateTeam(t); err != nil {
		return nil, err
	}
	name := resource.Name(teams, req.GetTeamId())
	return resource.Create(ctx, s.db, name, req.GetRequestId(), "CreateTeam", req, func(tx pgx.Tx) (*membershipv1.Team, error) {
		if err := s.checkParentTeam(ctx, tx, t.GetParent(), req.GetTeamId()); err != nil {
			return nil, err
		}
		if _, err := s.q.CreateTeam(ctx, tx, store.CreateTeamParams{
			ID: req.GetTeamId(), DisplayName: t.GetDisplayName(), Charter: t.GetCharter(),
			Permissions: convert.NonNil(t.GetPermissions()), ParentID: parentID(t.GetParent()), Now: s.now(),
		}); err != nil {
			return nil, err
		}
		if err := s.touch(ctx, tx); err != nil {
			return nil, err
		}
		if err := s.emit(ctx, tx, events.TeamCreated, resource.Name(teams, req.GetTeamId()),
			&membershipv1.Team{Name: resource.Name(teams, req.GetTeamId()), DisplayName: t.GetDisplayName()}, events.Public()); err != nil {
			return nil, err
		}
		row, err := s.q.GetTeam(ctx, tx, req.GetTeamId())
		return teamFromRow(row.Team, row.MemberCount), err
	})
}

// teamFields are the fields UpdateTeam may change. The policy lets leads
// change only display_name and charter.
var teamFields = []string{"display_name", "charter", "permissions", "parent"}

// UpdateTeam implements AIP-134 with an etag check.
func (s *Server) UpdateTeam(ctx context.Context, req *membershipv1.UpdateTeamRequest) (*membershipv1.Team, error) {
	id := resource.ID(teams, req.GetTeam().GetName())
	return resource.Update(ctx, s.db, req.GetTeam(), req.GetUpdateMask(), teamFields,
		func(tx pgx.Tx) (*membershipv1.Team, error) {
			row, err := s.q.GetTeamForUpdate(ctx, tx, id)
			return teamFromRow(row.Team, row.MemberCount), err
		},
		validateTeam,
		func(tx pgx.Tx, t *membershipv1.Team) (*membershipv1.Team, error) {
			if err := s.checkParentTeam(ctx, tx, t.GetParent(), id); err != nil {
				return nil, err
			}
			if err := s.q.UpdateTeam(ctx, tx, store.UpdateTeamParams{
				ID: id, DisplayName: t.GetDisplayName(), Charter: t.GetCharter(),
				Permissions: convert.NonNil(t.GetPermissions()), ParentID: parentID(t.GetParent()), Now: s.now(),
			}); err != nil {
				return nil, err
			}
			if err := s.touch(ctx, tx); err != nil {
				return nil, err
			}
			if err := s.emit(ctx, tx, events.TeamUpdated, resource.Name(teams, id),
				&membershipv1.Team{Name: resource.Name(teams, id)}, events.Public()); err != nil {
				return nil, err
			}
			row, err := s.q.GetTeam(ctx, tx, id)
			return teamFromRow(row.Team, row.MemberCount), err
		})
}

// DeleteTeam implements AIP-135; memberships and positions go with the team.
func (s *Server) DeleteTeam(ctx context.Context, req *membershipv1.DeleteTeamRequest) (*emptypb.Empty, error) {
	id := resource.ID(teams, req.GetName())
	err := resource.Delete(ctx, s.db, req.GetName(), req.GetEtag(),
		func(tx pgx.Tx) (*membershipv1.Team, error) {
			row, err := s.q.GetTeamForUpdate(ctx, tx, id)
			return teamFromRow(row.Team, row.MemberCount), err
		},
		func(tx pgx.Tx) error {
			if err := s.q.DeleteTeam(ctx, tx, id); err != nil {
				return err
			}
			if err := s.emit(ctx, tx, events.TeamDeleted, req.GetName(), &membershipv1.Team{Name: req.GetName()}, events.Public()); err != nil {
				return err
			}
			return s.touch(ctx, tx)
		})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// checkParentTeam refuses a missing parent and a team nested in itself
// (directly or through its ancestors).
func (s *Server) checkParentTeam(ctx context.Context, tx pgx.Tx, parent, self string) error {
	for cur, hops := resource.ID(teams, parent), 0; cur != ""; hops++ {
		if cur == self || hops > 64 {
			return apierr.InvalidField("team.parent", "a team cannot be nested in itself")
		}
		row, err := s.q.GetTeam(ctx, tx, cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return apierr.InvalidField("team.parent", parent+" does not exist")
		}
		if err != nil {
			return err
		}
		cur = row.Team.ParentID.String
	}
	return nil
}

func validateTeam(t *membershipv1.Team) error {
	return resource.Required("team", map[string]bool{"display_name": t.GetDisplayName() != ""})
}

func parentID(parent string) pgtype.Text {
	if parent == "" {
		return pgtype.Text{}
	}
	return pgtype.Text{String: resource.ID(teams, parent), Valid: true}
}

func teamFromRow(r store.Team, members int32) *membershipv1.Team {
	t := &membershipv1.Team{
		Name:        resource.Name(teams, r.ID),
		DisplayName: r.DisplayName,
		Charter:     r.Charter,
		Permissions: r.Permissions,
		MemberCount: members,
		CreateTime:  timestamppb.New(r.CreateTime),
		UpdateTime:  timestamppb.New(r.UpdateTime),
		Etag:        resource.Etag(r.Version),
	}
	if r.ParentID.Valid {
		t.Parent = resource.Name(teams, r.ParentID.String)
	}
	return t
}

// ListTeamMembers lists a team's members by person id, or with `teams/-`
// every team's (AIP-159) by team then person; `role` keeps one role.
func (s *Server) ListTeamMembers(ctx context.Context, req *membershipv1.ListTeamMembersRequest) (*membershipv1.ListTeamMembersResponse, error) {
	role := ""
	if req.GetRole() != membershipv1.Role_ROLE_UNSPECIFIED {
		role = pgenum.Text(req.GetRole())
	}
	resp := &membershipv1.ListTeamMembersResponse{}
	if req.GetParent() == "teams/-" {
		page, err := pagination.StartKeys(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint("members", req.GetParent(), role), 2)
		if err != nil {
			return nil, err
		}
		if err := s.evaluateDrift(ctx, ""); err != nil {
			return nil, err
		}
		params := store.ListAllTeamMembersParams{Role: role, PageSize: page.Limit()}
		if after := page.AfterKeys(); after != nil {
			params.AfterTeam, params.AfterPerson = after[0], after[1]
		}
		rows, err := s.q.ListAllTeamMembers(ctx, s.db, params)
		if err != nil {
			return nil, err
		}
		rows, resp.NextPageToken = pagination.FinishKeys(page, rows, func(r store.ListAllTeamMembersRow) []string {
			return []string{r.TeamMember.TeamID, r.TeamMember.PersonID}
		})
		for _, r := range rows {
			resp.TeamMembers = append(resp.TeamMembers, memberFromRow(r.TeamMember, r.DisplayName))
		}
		return resp, nil
	}
	teamID := resource.ID(teams, req.GetParent())
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint("members", req.GetParent(), role))
	if err != nil {
		return nil, err
	}
	if _, err := s.q.GetTeam(ctx, s.db, teamID); err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetParent())
	}
	if err := s.evaluateDrift(ctx, ""); err != nil {
		return nil, err
	}
	rows, err := s.q.ListTeamMembers(ctx, s.db, store.ListTeamMembersParams{TeamID: teamID, After: page.After(), Role: role, PageSize: page.Limit()})
	if err != nil {
		return nil, err
	}
	resp.TeamMembers, resp.NextPageToken = pagination.FinishAs(page, rows,
		func(r store.ListTeamMembersRow) string { return r.TeamMember.PersonID },
		func(r store.ListTeamMembersRow) *membershipv1.TeamMember {
			return memberFromRow(r.TeamMember, r.DisplayName)
		})
	return resp, nil
}

// CreateTeamMember adds a person to a team with a role.
func (s *Server) CreateTeamMember(ctx context.Context, req *membershipv1.CreateTeamMemberRequest) (*membershipv1.TeamMember, error) {
	m := req.GetTeamMember()
	if err := validateMember(m); err != nil {
		return nil, err
	}
	teamID, personID := resource.ID(teams, req.GetParent()), req.GetTeamMemberId()
	name := memberName(teamID, personID)
	return resource.Create(ctx, s.db, name, req.GetRequestId(), "CreateTeamMember", req, func(tx pgx.Tx) (*membershipv1.TeamMember, error) {
		if _, err := s.q.GetTeam(ctx, tx, teamID); err != nil {
			return nil, resource.NotFoundIfNoRows(err, req.GetParent())
		}
		if _, err := s.q.GetPerson(ctx, tx, personID); err != nil {
			return nil, resource.NotFoundIfNoRows(err, resource.Name(people, personID))
		}
		if err := s.q.CreateTeamMember(ctx, tx, store.CreateTeamMemberParams{
			TeamID: teamID, PersonID: personID, Role: pgenum.Text(m.GetRole()), Since: s.now(),
		}); err != nil {
			return nil, err
		}
		if err := s.touch(ctx, tx); err != nil {
			return nil, err
		}
		if err := s.emitMember(ctx, tx, events.TeamMemberAdded, teamID, personID, m.GetRole()); err != nil {
			return nil, err
		}
		row, err := s.q.GetTeamMemberForUpdate(ctx, tx, store.GetTeamMemberForUpdateParams{TeamID: teamID, PersonID: personID})
		return memberFromRow(row.TeamMember, row.DisplayName), err
	})
}

// UpdateTeamMember changes a member's role.
func (s *Server) UpdateTeamMember(ctx context.Context, req *membershipv1.UpdateTeamMemberRequest) (*membershipv1.TeamMember, error) {
	teamID, personID := resource.SplitChild(req.GetTeamMember().GetName())
	key := store.GetTeamMemberForUpdateParams{TeamID: teamID, PersonID: personID}
	return resource.Update(ctx, s.db, req.GetTeamMember(), req.GetUpdateMask(), []string{"role"},
		func(tx pgx.Tx) (*membershipv1.TeamMember, error) {
			row, err := s.q.GetTeamMemberForUpdate(ctx, tx, key)
			return memberFromRow(row.TeamMember, row.DisplayName), err
		},
		validateMember,
		func(tx pgx.Tx, m *membershipv1.TeamMember) (*membershipv1.TeamMember, error) {
			if err := s.q.UpdateTeamMember(ctx, tx, store.UpdateTeamMemberParams{
				TeamID: teamID, PersonID: personID, Role: pgenum.Text(m.GetRole()), Now: s.now(),
			}); err != nil {
				return nil, err
			}
			if err := s.touch(ctx, tx); err != nil {
				return nil, err
			}
			if err := s.emitMember(ctx, tx, events.TeamMemberAdded, teamID, personID, m.GetRole()); err != nil {
				return nil, err
			}
			row, err := s.q.GetTeamMemberForUpdate(ctx, tx, key)
			return memberFromRow(row.TeamMember, row.DisplayName), err
		})
}

// DeleteTeamMember removes a person from a team.
func (s *Server) DeleteTeamMember(ctx context.Context, req *membershipv1.DeleteTeamMemberRequest) (*emptypb.Empty, error) {
	teamID, personID := resource.SplitChild(req.GetName())
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		n, err := s.q.DeleteTeamMember(ctx, tx, store.DeleteTeamMemberParams{TeamID: teamID, PersonID: personID})
		if err != nil {
			return err
		}
		if n == 0 {
			return apierr.NotFound(req.GetName())
		}
		if err := s.emitMember(ctx, tx, events.TeamMemberRemoved, teamID, personID, membershipv1.Role_ROLE_UNSPECIFIED); err != nil {
			return err
		}
		return s.touch(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func validateMember(m *membershipv1.TeamMember) error {
	return resource.Required("team_member", map[string]bool{"role": m.GetRole() != membershipv1.Role_ROLE_UNSPECIFIED})
}

func memberName(teamID, personID string) string {
	return resource.Name(teams, teamID) + "/members/" + personID
}

// teamOf returns teams/{team} of any name below a team.
func teamOf(name string) string {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 || parts[0] != teams || parts[1] == "-" {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

func memberFromRow(m store.TeamMember, displayName string) *membershipv1.TeamMember {
	return &membershipv1.TeamMember{
		Name:        memberName(m.TeamID, m.PersonID),
		Person:      resource.Name(people, m.PersonID),
		Role:        membershipv1.Role(pgenum.Number(membershipv1.Role_ROLE_UNSPECIFIED.Descriptor(), m.Role)),
		Since:       timestamppb.New(m.Since),
		RoleSince:   timestamppb.New(m.RoleSince),
		DisplayName: displayName,
		Etag:        resource.Etag(m.Version),
	}
}

// notFoundOr maps a missing row to NOT_FOUND of name.
