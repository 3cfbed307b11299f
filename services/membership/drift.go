package membership

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

// Drift, after Debian's staged pings and Discourse's rolling windows: a
// person holding anything drift can take away (a team role, a package they
// maintain, a filled position) whose basis (the later of their last activity
// and the newest thing they took on) is older than Window is NUDGED (still
// ACTIVE, with Person.nudged set); NudgeGrace later INACTIVE; EmeritusAfter
// later still EMERITUS, when they give up everything they hold: filled
// positions open again, every other team role is vacated into an OPEN
// position of its team, and they step down from the packages they maintain
// (left without a maintainer, a package is SEEKING_MAINTAINER). So no work
// silently loses its owner.
//
// Teams are never emptied silently: when the INACTIVE person is a team's
// last lead or last member, the team is flagged TEAM_AT_RISK before anything
// is removed; at EMERITUS it carries a standing TEAM_LEADERLESS or
// TEAM_EMPTY flag, as does any team without a lead, until someone takes the
// role. Flags are drift events with a team, which the leads and admins see.
//
// Stages are a function of the basis and the clock, so they come out the same
// whether evaluation runs every minute (Run), on reads, or after a long gap:
// each stage is recorded once per basis, stamped with the time it was
// reached (basis + delay), not when it was noticed. Activity newer than the
// basis ends the drift (RecordActivity).
const (
	stageNudged   = "nudged"
	stageInactive = "inactive"
	stageEmeritus = "emeritus"
)

var stageRank = map[string]int{"": 0, stageNudged: 1, stageInactive: 2, stageEmeritus: 3}
var stageByRank = []string{"", stageNudged, stageInactive, stageEmeritus}

// delay is how long after the basis a stage is reached.
func (d DriftPolicy) delay(rank int) time.Duration {
	out := time.Duration(0)
	if rank >= 1 {
		out += d.Window
	}
	if rank >= 2 {
		out += d.NudgeGrace
	}
	if rank >= 3 {
		out += d.EmeritusAfter
	}
	return out
}

func (s *Server) driftParams(person string) store.DriftCandidatesParams {
	now := s.now()
	return store.DriftCandidatesParams{
		PersonID:       person,
		NudgeBefore:    now.Add(-s.drift.delay(1)),
		InactiveBefore: now.Add(-s.drift.delay(2)),
		EmeritusBefore: now.Add(-s.drift.delay(3)),
	}
}

// evaluateDrift brings the drift stages of one person (or everyone, if "")
// up to the clock. When nothing is due it costs one query.
func (s *Server) evaluateDrift(ctx context.Context, person string) error {
	if s.drift.Window <= 0 {
		return nil // drift detection is off
	}
	due, err := s.q.DriftCandidates(ctx, s.db, s.driftParams(person))
	if err != nil {
		return err
	}
	for _, c := range due {
		if err := database.InTx(ctx, s.db, func(tx pgx.Tx) error { return s.driftPerson(ctx, tx, c.ID) }); err != nil {
			return fmt.Errorf("drift of %s: %w", c.ID, err)
		}
	}
	if person != "" {
		return nil
	}
	// Standing team flags follow the teams as they are now.
	return database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		now := s.now()
		if err := s.q.ResolveTeamFlags(ctx, tx, now); err != nil {
			return err
		}
		return s.q.OpenTeamFlags(ctx, tx, now)
	})
}

// driftPerson records the stages a person has reached, under their row lock
// so concurrent evaluations record each stage once.
func (s *Server) driftPerson(ctx context.Context, tx pgx.Tx, id string) error {
	if _, err := s.q.LockPerson(ctx, tx, id); err != nil {
		return resource.NotFoundIfNoRows(err, resource.Name(people, id))
	}
	rows, err := s.q.DriftCandidates(ctx, tx, s.driftParams(id))
	if err != nil || len(rows) == 0 {
		return err // another evaluation got here first
	}
	c := rows[0]
	from := 0
	if c.DriftBasis != nil && c.DriftBasis.Equal(c.Basis) {
		from = stageRank[c.DriftStage]
	}
	to := stageRank[c.Expected]
	for rank := from + 1; rank <= to; rank++ {
		stage := stageByRank[rank]
		at := c.Basis.Add(s.drift.delay(rank))
		reason := fmt.Sprintf("no activity since %s (%s)", c.Basis.UTC().Format(time.DateOnly), days(s.drift.delay(rank)))
		vacated := []string{}
		switch stage {
		case stageInactive:
			if err := s.flagTeamsAtRisk(ctx, tx, c, at); err != nil {
				return err
			}
		case stageEmeritus:
			if vacated, reason, err = s.vacateAll(ctx, tx, c, at, reason); err != nil {
				return err
			}
		}
		if err := s.insertDrift(ctx, tx, store.InsertDriftEventParams{
			ID: resource.NewID(), PersonID: convert.Text(c.ID), Stage: stage, Time: at, Basis: c.Basis, Reason: reason, VacatedPositions: vacated,
		}); err != nil {
			return err
		}
	}
	state := "active"
	switch c.Expected {
	case stageInactive:
		state = "inactive"
	case stageEmeritus:
		state = "emeritus"
	}
	return s.q.SetDrift(ctx, tx, store.SetDriftParams{ID: c.ID, DriftStage: c.Expected, DriftBasis: &c.Basis, State: state})
}

// flagTeamsAtRisk flags each team whose last active lead or last active
// member c is, as c becomes INACTIVE (at), before EMERITUS would take the
// role away.
func (s *Server) flagTeamsAtRisk(ctx context.Context, tx pgx.Tx, c store.DriftCandidatesRow, at time.Time) error {
	sole, err := s.q.SoleHolderTeams(ctx, tx, store.SoleHolderTeamsParams{PersonID: c.ID, OnlyActive: true})
	if err != nil {
		return err
	}
	emeritusAt := c.Basis.Add(s.drift.delay(3)).UTC().Format(time.DateOnly)
	for _, t := range sole {
		what := "last active lead"
		if t.LastMember {
			what = "last active member"
		} else if !t.LastLead {
			continue
		}
		if err := s.insertDrift(ctx, tx, store.InsertDriftEventParams{
			ID: resource.NewID(), PersonID: convert.Text(c.ID), TeamID: t.TeamID, Stage: "team_at_risk", Time: at, Basis: c.Basis,
			Reason: fmt.Sprintf("%s, the team's %s, is inactive (no activity since %s); on %s they become emeritus and the team loses them, unless they return or someone else takes the role",
				c.DisplayName, what, c.Basis.UTC().Format(time.DateOnly), emeritusAt),
			VacatedPositions: []string{},
		}); err != nil {
			return err
		}
	}
	return nil
}

// vacateAll takes away everything an EMERITUS person holds and flags the
// teams left without a lead or members. It returns the positions opened and
// the reason extended with what happened.
func (s *Server) vacateAll(ctx context.Context, tx pgx.Tx, c store.DriftCandidatesRow, at time.Time, reason string) ([]string, string, error) {
	sole, err := s.q.SoleHolderTeams(ctx, tx, store.SoleHolderTeamsParams{PersonID: c.ID})
	if err != nil {
		return nil, "", err
	}
	// Positions they filled open again; their roles need no second position.
	reopened, err := s.q.ReopenPositionsOf(ctx, tx, store.ReopenPositionsOfParams{PersonID: convert.Text(c.ID), Now: s.now()})
	if err != nil {
		return nil, "", err
	}
	vacated := []string{}
	held := map[[2]string]bool{}
	for _, p := range reopened {
		vacated = append(vacated, positionName(p.TeamID, p.ID))
		held[[2]string{p.TeamID, p.Role}] = true
	}
	roles, err := s.vacateRoles(ctx, tx, c.ID, c.DisplayName, held)
	if err != nil {
		return nil, "", err
	}
	vacated = append(vacated, roles...)
	reason += fmt.Sprintf("; %d role(s) and position(s) vacated into open positions", len(vacated))
	pkgs, err := s.stepDown(ctx, tx, c.ID, "seeking_maintainer")
	if err != nil {
		return nil, "", err
	}
	if len(pkgs) > 0 {
		reason += "; stepped down as maintainer of " + strings.Join(pkgs, ", ")
	}
	for _, t := range sole {
		stage, what := "team_leaderless", "its last lead"
		if t.LastMember {
			stage, what = "team_empty", "its last member"
		} else if !t.LastLead {
			continue
		}
		if err := s.insertDrift(ctx, tx, store.InsertDriftEventParams{
			ID: resource.NewID(), PersonID: convert.Text(c.ID), TeamID: t.TeamID, Stage: stage, Time: at, Basis: c.Basis,
			Reason: fmt.Sprintf("%s, %s, became emeritus after no activity since %s; the role is open for someone to take",
				c.DisplayName, what, c.Basis.UTC().Format(time.DateOnly)),
			VacatedPositions: vacated,
		}); err != nil {
			return nil, "", err
		}
	}
	return vacated, reason, nil
}

// vacateRoles turns each of a person's team roles into an open position of
// the same role, unless held says a reopened position already offers it,
// and removes the membership.
func (s *Server) vacateRoles(ctx context.Context, tx pgx.Tx, id, displayName string, held map[[2]string]bool) ([]string, error) {
	ms, err := s.q.PersonMemberships(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, m := range ms {
		if held[[2]string{m.TeamID, m.Role}] {
			if _, err := s.q.DeleteTeamMember(ctx, tx, store.DeleteTeamMemberParams{TeamID: m.TeamID, PersonID: id}); err != nil {
				return nil, err
			}
			continue
		}
		role := membershipv1.Role(pgenum.Number(membershipv1.Role_ROLE_UNSPECIFIED.Descriptor(), m.Role))
		pos, err := s.insertPosition(ctx, tx, m.TeamID, &membershipv1.Position{
			Title: roleTitle(m.Role) + " (vacated by " + displayName + ")",
			Description: displayName + " held this role from " + m.Since.UTC().Format(time.DateOnly) +
				" and became emeritus after a long absence. The role is open to anyone willing to take it on.",
			Role: role, State: membershipv1.Position_STATE_OPEN, OpenToDiscussion: m.Role == "lead",
		})
		if err != nil {
			return nil, err
		}
		if _, err := s.q.DeleteTeamMember(ctx, tx, store.DeleteTeamMemberParams{TeamID: m.TeamID, PersonID: id}); err != nil {
			return nil, err
		}
		out = append(out, positionName(pos.TeamID, pos.ID))
	}
	return out, nil
}

func roleTitle(role string) string {
	if role == "" {
		return ""
	}
	return strings.ToUpper(role[:1]) + role[1:]
}

func days(d time.Duration) string {
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// ListDriftEvents lists drift steps, newest first, after bringing them up to
// the clock.
func (s *Server) ListDriftEvents(ctx context.Context, req *membershipv1.ListDriftEventsRequest) (*membershipv1.ListDriftEventsResponse, error) {
	page, err := pagination.StartKeys(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint("drift"), 2)
	if err != nil {
		return nil, err
	}
	params := store.ListDriftEventsParams{PageSize: page.Limit(), LedTeams: []string{}}
	// A lead's view stops at their own teams (see the SQL); admins and
	// services see every event.
	caller := auth.From(ctx)
	params.SeeAll = caller.GetAdmin() || caller.GetService() != ""
	for team, role := range caller.GetRoles() {
		if role == membershipv1.Role_ROLE_LEAD {
			params.LedTeams = append(params.LedTeams, strings.TrimPrefix(team, teams+"/"))
		}
	}
	if after := page.AfterKeys(); after != nil {
		t, err := time.Parse(time.RFC3339Nano, after[0])
		if err != nil {
			return nil, pagination.BadToken()
		}
		params.AfterTime, params.AfterID = &t, after[1]
	}
	if err := s.evaluateDrift(ctx, ""); err != nil {
		return nil, err
	}
	rows, err := s.q.ListDriftEvents(ctx, s.db, params)
	if err != nil {
		return nil, err
	}
	resp := &membershipv1.ListDriftEventsResponse{}
	rows, resp.NextPageToken = pagination.FinishKeys(page, rows, func(r store.DriftEvent) []string {
		return []string{r.Time.UTC().Format(time.RFC3339Nano), r.ID}
	})
	for _, r := range rows {
		e := &membershipv1.DriftEvent{
			Stage: strings.ToUpper(r.Stage), Time: timestamppb.New(r.Time),
			Reason: r.Reason, VacatedPositions: r.VacatedPositions, ResolveTime: convert.Timestamp(r.ResolveTime),
		}
		if r.PersonID.Valid {
			e.Person = resource.Name(people, r.PersonID.String)
		}
		if r.TeamID != "" {
			e.Team = resource.Name(teams, r.TeamID)
		}
		resp.DriftEvents = append(resp.DriftEvents, e)
	}
	return resp, nil
}

// DriftInterval is how often the drift job brings every person's stages up
// to the clock, so roles are vacated and principals updated even when
// nobody reads.
const DriftInterval = time.Minute

// Jobs implements service.Part: drift, one replica at a time (each stage is
// recorded under the person's row lock in any case).
func (s *Server) Jobs() []job.Job {
	return []job.Job{{
		Name: config.Membership + ".drift", Interval: DriftInterval, Exclusive: s.db,
		Pass: func(ctx context.Context) (bool, error) { return false, s.evaluateDrift(ctx, "") },
	}, s.signInPurge()}
}
