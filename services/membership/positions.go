package membership

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

// ReasonPositionNotOpen is the FAILED_PRECONDITION reason of a fill of a
// position that is filled or closed.
const ReasonPositionNotOpen = typev1.ErrorReason_POSITION_NOT_OPEN

// GetPosition implements AIP-131.
func (s *Server) GetPosition(ctx context.Context, req *membershipv1.GetPositionRequest) (*membershipv1.Position, error) {
	teamID, id := resource.SplitChild(req.GetName())
	row, err := s.q.GetPosition(ctx, s.db, store.GetPositionParams{TeamID: teamID, ID: id})
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return positionFromRow(row), nil
}

// ListPositions lists one team's positions, or every team's under teams/-,
// optionally of one state, in creation order.
func (s *Server) ListPositions(ctx context.Context, req *membershipv1.ListPositionsRequest) (*membershipv1.ListPositionsResponse, error) {
	state := ""
	if req.GetState() != membershipv1.Position_STATE_UNSPECIFIED {
		state = pgenum.Text(req.GetState())
	}
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint("positions", req.GetParent(), state, req.GetRoadmapItem()))
	if err != nil {
		return nil, err
	}
	teamID := resource.ID(teams, req.GetParent())
	if teamID == "-" {
		teamID = ""
	} else if _, err := s.q.GetTeam(ctx, s.db, teamID); err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetParent())
	}
	if err := s.evaluateDrift(ctx, ""); err != nil {
		return nil, err
	}
	rows, err := s.q.ListPositions(ctx, s.db, store.ListPositionsParams{TeamID: teamID, State: state, RoadmapItem: req.GetRoadmapItem(), After: page.After(), PageSize: page.Limit()})
	if err != nil {
		return nil, err
	}
	resp := &membershipv1.ListPositionsResponse{}
	resp.Positions, resp.NextPageToken = pagination.FinishAs(page, rows, func(r store.Position) string { return r.ID }, positionFromRow)
	return resp, nil
}

// CreatePosition opens a position in a team; its id is server-assigned.
func (s *Server) CreatePosition(ctx context.Context, req *membershipv1.CreatePositionRequest) (*membershipv1.Position, error) {
	p := req.GetPosition()
	if p.GetState() == membershipv1.Position_STATE_UNSPECIFIED {
		p.State = membershipv1.Position_STATE_OPEN
	}
	if err := validatePosition(p); err != nil {
		return nil, err
	}
	if p.GetState() == membershipv1.Position_STATE_FILLED {
		return nil, apierr.InvalidField("position.state", "a position is created OPEN or CLOSED; fill it with :fill")
	}
	if err := s.items.Item(ctx, "position.roadmap_item", p.GetRoadmapItem()); err != nil {
		return nil, err
	}
	teamID := resource.ID(teams, req.GetParent())
	return resource.Create(ctx, s.db, req.GetParent()+"/positions", req.GetRequestId(), "CreatePosition", req, func(tx pgx.Tx) (*membershipv1.Position, error) {
		if _, err := s.q.GetTeam(ctx, tx, teamID); err != nil {
			return nil, resource.NotFoundIfNoRows(err, req.GetParent())
		}
		row, err := s.insertPosition(ctx, tx, teamID, p)
		if err != nil {
			return nil, err
		}
		if err := s.touch(ctx, tx); err != nil {
			return nil, err
		}
		out := positionFromRow(row)
		return out, s.emitPosition(ctx, tx, membershipv1.Position_STATE_UNSPECIFIED, out)
	})
}

func (s *Server) insertPosition(ctx context.Context, tx pgx.Tx, teamID string, p *membershipv1.Position) (store.Position, error) {
	return s.q.CreatePosition(ctx, tx, store.CreatePositionParams{
		ID: resource.NewID(), TeamID: teamID, Title: p.GetTitle(), Description: p.GetDescription(),
		Skills: convert.NonNil(p.GetSkills()), HoursPerMonth: p.GetHoursPerMonth(), Role: pgenum.Text(p.GetRole()),
		State: pgenum.Text(p.GetState()), OpenToDiscussion: p.GetOpenToDiscussion(), RoadmapItem: p.GetRoadmapItem(), Now: s.now(),
	})
}

var positionFields = []string{"title", "description", "skills", "hours_per_month", "role", "state", "open_to_discussion", "roadmap_item"}

// UpdatePosition implements AIP-134. A position may be reopened or closed
// here; only :fill fills it.
func (s *Server) UpdatePosition(ctx context.Context, req *membershipv1.UpdatePositionRequest) (*membershipv1.Position, error) {
	teamID, id := resource.SplitChild(req.GetPosition().GetName())
	key := store.GetPositionForUpdateParams{TeamID: teamID, ID: id}
	var was membershipv1.Position_State
	var wasItem string
	return resource.Update(ctx, s.db, req.GetPosition(), req.GetUpdateMask(), positionFields,
		func(tx pgx.Tx) (*membershipv1.Position, error) {
			row, err := s.q.GetPositionForUpdate(ctx, tx, key)
			p := positionFromRow(row)
			was, wasItem = p.GetState(), p.GetRoadmapItem()
			return p, err
		},
		func(p *membershipv1.Position) error {
			if err := validatePosition(p); err != nil {
				return err
			}
			if p.GetState() == membershipv1.Position_STATE_FILLED && was != membershipv1.Position_STATE_FILLED {
				return apierr.InvalidField("position.state", "fill a position with :fill")
			}
			// Only a newly named item is checked: one named before stays
			// valid even if roadmap cannot answer now.
			if p.GetRoadmapItem() != wasItem {
				return s.items.Item(ctx, "position.roadmap_item", p.GetRoadmapItem())
			}
			return nil
		},
		func(tx pgx.Tx, p *membershipv1.Position) (*membershipv1.Position, error) {
			row, err := s.q.UpdatePosition(ctx, tx, store.UpdatePositionParams{
				TeamID: teamID, ID: id, Title: p.GetTitle(), Description: p.GetDescription(),
				Skills: convert.NonNil(p.GetSkills()), HoursPerMonth: p.GetHoursPerMonth(), Role: pgenum.Text(p.GetRole()),
				State: pgenum.Text(p.GetState()), OpenToDiscussion: p.GetOpenToDiscussion(), RoadmapItem: p.GetRoadmapItem(), Now: s.now(),
			})
			if err != nil {
				return nil, err
			}
			if err := s.touch(ctx, tx); err != nil {
				return nil, err
			}
			out := positionFromRow(row)
			return out, s.emitPosition(ctx, tx, was, out)
		})
}

// FillPosition gives an open position to a person, who becomes a member of
// the team with the position's role. Of concurrent fills exactly one wins:
// the conditional update takes the row lock, and the losers find it filled.
func (s *Server) FillPosition(ctx context.Context, req *membershipv1.FillPositionRequest) (*membershipv1.Position, error) {
	teamID, id := resource.SplitChild(req.GetName())
	personID := resource.ID(people, req.GetPerson())
	var out *membershipv1.Position
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := s.q.GetPerson(ctx, tx, personID); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return apierr.InvalidField("person", req.GetPerson()+" does not exist")
			}
			return err
		}
		row, err := s.fill(ctx, tx, teamID, id, personID)
		if err != nil {
			return err
		}
		out = positionFromRow(row)
		return s.touch(ctx, tx)
	})
	return out, err
}

// fill is FillPosition inside tx, also used when a volunteer becomes ACTIVE.
func (s *Server) fill(ctx context.Context, tx pgx.Tx, teamID, id, personID string) (store.Position, error) {
	row, err := s.q.FillOpenPosition(ctx, tx, store.FillOpenPositionParams{
		PersonID: convert.Text(personID), Now: s.now(), TeamID: teamID, ID: id,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		cur, gerr := s.q.GetPosition(ctx, tx, store.GetPositionParams{TeamID: teamID, ID: id})
		if gerr != nil {
			return row, resource.NotFoundIfNoRows(gerr, positionName(teamID, id))
		}
		return row, apierr.FailedPrecondition(ReasonPositionNotOpen,
			positionName(teamID, id)+" is "+strings.ToUpper(cur.State)+", not OPEN; only an open position can be filled")
	}
	if err != nil {
		return row, err
	}
	err = s.q.UpsertMemberForPosition(ctx, tx, store.UpsertMemberForPositionParams{
		TeamID: teamID, PersonID: personID, Role: row.Role, Since: s.now(),
	})
	if err != nil {
		return row, err
	}
	return row, s.emitPosition(ctx, tx, membershipv1.Position_STATE_OPEN, positionFromRow(row))
}

func validatePosition(p *membershipv1.Position) error {
	return resource.Required("position", map[string]bool{
		"title": p.GetTitle() != "",
		"role":  p.GetRole() != membershipv1.Role_ROLE_UNSPECIFIED,
	})
}

func positionName(teamID, id string) string { return resource.Name(teams, teamID) + "/positions/" + id }

func positionFromRow(r store.Position) *membershipv1.Position {
	p := &membershipv1.Position{
		Name:             positionName(r.TeamID, r.ID),
		Title:            r.Title,
		Description:      r.Description,
		Skills:           r.Skills,
		HoursPerMonth:    r.HoursPerMonth,
		Role:             membershipv1.Role(pgenum.Number(membershipv1.Role_ROLE_UNSPECIFIED.Descriptor(), r.Role)),
		State:            membershipv1.Position_State(pgenum.Number(membershipv1.Position_STATE_UNSPECIFIED.Descriptor(), r.State)),
		OpenToDiscussion: r.OpenToDiscussion,
		RoadmapItem:      r.RoadmapItem,
		CreateTime:       timestamppb.New(r.CreateTime),
		UpdateTime:       timestamppb.New(r.UpdateTime),
		Etag:             resource.Etag(r.Version),
	}
	if r.FilledBy.Valid {
		p.FilledBy = resource.Name(people, r.FilledBy.String)
	}
	return p
}
