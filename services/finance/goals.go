package finance

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/types/known/timestamppb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/fieldmask"
	"github.com/guildhall/guildhall/internal/money"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

const goals = "goals"

func goalFromRow(r store.Goal) *financev1.Goal {
	g := &financev1.Goal{Name: resource.Name(goals, r.ID), DisplayName: r.DisplayName, Description: r.Description,
		Target: mon(r.CurrencyCode, r.Target), Priority: r.Priority, RoadmapItem: r.RoadmapItem, CreateTime: timestamppb.New(r.CreateTime),
		Etag: resource.Etag(r.Version)}
	g.Period = financev1.Goal_Period(pgenum.Number(financev1.Goal_PERIOD_UNSPECIFIED.Descriptor(), r.Period))
	if r.FundAccount.Valid && r.FundAccount.String != "" {
		g.FundAccount = resource.Name(accounts, r.FundAccount.String)
	}
	return g
}

// scanGoal converts a goal row, passing its error on.
func scanGoal(r store.Goal, err error) (*financev1.Goal, error) {
	if err != nil {
		return nil, err
	}
	return goalFromRow(r), nil
}

// periodStart is the first day of g's current period; one-off goals count all time.
func periodStart(p financev1.Goal_Period, now time.Time) time.Time {
	switch p {
	case financev1.Goal_PERIOD_MONTHLY:
		return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	case financev1.Goal_PERIOD_YEARLY:
		return time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// fillProgress sets progress as ctx's caller may see it (view.go): credits
// to the fund account in the period (from the monthly movements) less those
// hidden from the caller, or donations earmarked for the goal.
func (s *Server) fillProgress(ctx context.Context, db dbtx, g *financev1.Goal) error {
	h, err := s.hidden(ctx, db)
	if err != nil {
		return err
	}
	return s.fillProgressSeeing(ctx, db, g, h)
}

// fillProgressSeeing is fillProgress with the hidden movements read once.
func (s *Server) fillProgressSeeing(ctx context.Context, db dbtx, g *financev1.Goal, h hidden) error {
	from := periodStart(g.GetPeriod(), s.now())
	var sum int64
	var err error
	if fund := resource.ID(accounts, g.GetFundAccount()); fund != "" {
		sum, err = s.q.FundProgress(ctx, db, store.FundProgressParams{AccountID: fund, Since: from})
		// Progress counts credits (negative postings); hidden ones come off.
		sum = money.Sat(sum, h.sum(func(r store.HiddenMovementsRow) bool { return r.AccountID == fund && !r.Month.Before(from) }))
	} else {
		sum, err = s.q.GoalDonationProgress(ctx, db, store.GoalDonationProgressParams{
			GoalID: pgtype.Text{String: resource.ID(goals, g.GetName()), Valid: true}, Since: from, VisibleAt: s.visibleAt(ctx)})
	}
	g.Progress = mon(g.GetTarget().GetCurrencyCode(), sum)
	return err
}

func (s *Server) checkGoal(g *financev1.Goal) error {
	if err := resource.Required("goal", map[string]bool{
		"display_name": g.GetDisplayName() != "", "target": g.GetTarget() != nil,
		"period": g.GetPeriod() != financev1.Goal_PERIOD_UNSPECIFIED,
	}); err != nil {
		return err
	}
	return checkAmount("goal.target", g.GetTarget(), false)
}

// CreateGoal adds a goal under a chosen id.
func (s *Server) CreateGoal(ctx context.Context, req *financev1.CreateGoalRequest) (*financev1.Goal, error) {
	g := req.GetGoal()
	if err := s.checkGoal(g); err != nil {
		return nil, err
	}
	// Ask roadmap before the transaction, so no row lock waits on the network.
	if err := s.items.Item(ctx, "goal.roadmap_item", g.GetRoadmapItem()); err != nil {
		return nil, err
	}
	name := resource.Name(goals, req.GetGoalId())
	return resource.Create(ctx, s.db, name, req.GetRequestId(), "CreateGoal", req, func(tx pgx.Tx) (*financev1.Goal, error) {
		if err := s.acted(ctx, tx); err != nil {
			return nil, err
		}
		var fund pgtype.Text
		if g.GetFundAccount() != "" {
			f := resource.ID(accounts, g.GetFundAccount())
			acct, err := s.q.GetAccount(ctx, tx, f)
			if err != nil || acct.CurrencyCode != g.GetTarget().GetCurrencyCode() {
				return nil, apierr.InvalidField("goal.fund_account", "must be an existing account in the target's currency")
			}
			fund = pgtype.Text{String: f, Valid: true}
		}
		out, err := scanGoal(s.q.CreateGoal(ctx, tx, store.CreateGoalParams{ID: req.GetGoalId(), DisplayName: g.GetDisplayName(),
			Description: g.GetDescription(), CurrencyCode: g.GetTarget().GetCurrencyCode(), Target: g.GetTarget().GetMinorUnits(),
			Period: pgenum.Text(g.GetPeriod()), Priority: g.GetPriority(), RoadmapItem: g.GetRoadmapItem(), FundAccount: fund, CreateTime: s.now()}))
		if err != nil {
			return nil, err
		}
		return out, s.fillProgress(ctx, tx, out)
	})
}

// GetGoal implements AIP-131.
func (s *Server) GetGoal(ctx context.Context, req *financev1.GetGoalRequest) (*financev1.Goal, error) {
	g, err := scanGoal(s.q.GetGoal(ctx, s.db, resource.ID(goals, req.GetName())))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return g, s.fillProgress(ctx, s.db, g)
}

// ListGoals lists goals in priority order (then id), keyset-paged on both.
func (s *Server) ListGoals(ctx context.Context, req *financev1.ListGoalsRequest) (*financev1.ListGoalsResponse, error) {
	page, err := pagination.StartKeys(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(goals), 2)
	if err != nil {
		return nil, err
	}
	var rows []store.Goal
	if after := page.AfterKeys(); after != nil {
		prio, perr := strconv.ParseInt(after[0], 10, 32)
		if perr != nil {
			return nil, pagination.BadToken()
		}
		rows, err = s.q.ListGoalsAfter(ctx, s.db, store.ListGoalsAfterParams{AfterPriority: int32(prio), AfterID: after[1], PageSize: page.Limit()})
	} else {
		rows, err = s.q.ListGoals(ctx, s.db, page.Limit())
	}
	if err != nil {
		return nil, err
	}
	resp := &financev1.ListGoalsResponse{}
	rows, resp.NextPageToken = pagination.FinishKeys(page, rows, func(r store.Goal) []string { return []string{itoa(r.Priority), r.ID} })
	h, err := s.hidden(ctx, s.db)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		g := goalFromRow(r)
		if err := s.fillProgressSeeing(ctx, s.db, g, h); err != nil {
			return nil, err
		}
		resp.Goals = append(resp.Goals, g)
	}
	return resp, nil
}

var goalFields = []string{"display_name", "description", "priority", "roadmap_item", "target"}

// UpdateGoal implements AIP-134.
func (s *Server) UpdateGoal(ctx context.Context, req *financev1.UpdateGoalRequest) (*financev1.Goal, error) {
	id := resource.ID(goals, req.GetGoal().GetName())
	if fieldmask.Touches(req.GetGoal(), req.GetUpdateMask(), "roadmap_item") {
		if err := s.items.Item(ctx, "goal.roadmap_item", req.GetGoal().GetRoadmapItem()); err != nil {
			return nil, err
		}
	}
	var currency string
	return resource.Update(ctx, s.db, req.GetGoal(), req.GetUpdateMask(), goalFields,
		func(tx pgx.Tx) (*financev1.Goal, error) {
			if err := s.acted(ctx, tx); err != nil {
				return nil, err
			}
			row, err := s.q.GetGoalForUpdate(ctx, tx, id)
			currency = row.CurrencyCode
			return scanGoal(row, err)
		},
		func(g *financev1.Goal) error {
			if err := s.checkGoal(g); err != nil {
				return err
			}
			return inCurrency("goal.target", g.GetTarget(), currency, "the goal's currency is fixed: ")
		},
		func(tx pgx.Tx, g *financev1.Goal) (*financev1.Goal, error) {
			out, err := scanGoal(s.q.UpdateGoal(ctx, tx, store.UpdateGoalParams{ID: id, DisplayName: g.GetDisplayName(),
				Description: g.GetDescription(), Priority: g.GetPriority(), RoadmapItem: g.GetRoadmapItem(), Target: g.GetTarget().GetMinorUnits()}))
			if err != nil {
				return nil, err
			}
			return out, s.fillProgress(ctx, tx, out)
		})
}

func itoa(n int32) string { return fmtInt(int64(n)) }

// goalBatch is how many goals one transaction of the goals job checks.
const goalBatch = 100

// announceReached is a pass of the finance.goals job: every goal whose
// progress, as the public sees it, reached its target is announced
// (GoalReached) once per period, the mark and the event in one
// transaction, with the goals claimed FOR UPDATE SKIP LOCKED so replicas
// share them. A job rather than the write: a goal is reached by donations
// (written in batches, batch.go) and by any entry crediting its fund, and
// progress is read as the public reads it, so a PRIVATE gift, which public
// figures leave out until its month ends (view.go), is never told by the
// time of an event.
func (s *Server) announceReached(ctx context.Context) (bool, error) {
	after := ""
	for {
		n := 0
		err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
			now := s.now()
			rows, err := s.q.ClaimGoalsToAnnounce(ctx, tx, store.ClaimGoalsToAnnounceParams{Now: now, After: after, MaxCount: goalBatch})
			if err != nil {
				return err
			}
			n = len(rows)
			// As the public sees it: an anonymous caller, the movements hidden from them.
			public := auth.With(ctx, &auth.Principal{})
			h, err := s.hidden(public, tx)
			if err != nil {
				return err
			}
			for _, r := range rows {
				after = r.ID
				g := goalFromRow(store.Goal{ID: r.ID, DisplayName: r.DisplayName, CurrencyCode: r.CurrencyCode, Target: r.Target,
					Period: r.Period, FundAccount: r.FundAccount, CreateTime: r.CreateTime, Version: r.Version})
				if err := s.fillProgressSeeing(public, tx, g, h); err != nil {
					return err
				}
				if g.GetProgress().GetMinorUnits() < g.GetTarget().GetMinorUnits() {
					continue
				}
				if err := s.q.MarkGoalReached(ctx, tx, store.MarkGoalReachedParams{ID: r.ID, PeriodStart: &r.PeriodStart}); err != nil {
					return err
				}
				if err := s.emit(ctx, tx, events.GoalReached, g.GetName(),
					&financev1.Goal{Name: g.GetName(), DisplayName: g.GetDisplayName(), Target: g.GetTarget(), Period: g.GetPeriod()},
					events.Public()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || n < goalBatch {
			return false, err
		}
	}
}
