package finance

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/types/known/emptypb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/fieldmask"
	"github.com/guildhall/guildhall/internal/money"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

const (
	goals   = "goals"
	budgets = "budgets"
)

func goalFromRow(r store.Goal) *financev1.Goal {
	g := &financev1.Goal{Name: resource.Name(goals, r.ID), DisplayName: r.DisplayName, Description: r.Description,
		Target: mon(r.CurrencyCode, r.Target), Priority: r.Priority, RoadmapItem: r.RoadmapItem, CreateTime: ts(r.CreateTime),
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

// budgetFromRow converts a budget row, without what was spent (see withSpent).
func budgetFromRow(r store.Budget) *financev1.Budget {
	return &financev1.Budget{Name: resource.Name(budgets, r.ID), Category: resource.Name(accounts, r.Category), Year: r.Year,
		Planned: mon(r.CurrencyCode, r.Planned), CreateTime: ts(r.CreateTime), UpdateTime: ts(r.UpdateTime), Etag: resource.Etag(r.Version)}
}

// withSpent converts budget rows, adding what each category spent in its
// year: one query for them all.
func (s *Server) withSpent(ctx context.Context, db dbtx, rows ...store.Budget) ([]*financev1.Budget, error) {
	p := store.BudgetsSpentParams{Categories: make([]string, len(rows)), Years: make([]int32, len(rows))}
	for i, r := range rows {
		p.Categories[i], p.Years[i] = r.Category, r.Year
	}
	spent, err := s.q.BudgetsSpent(ctx, db, p)
	if err != nil {
		return nil, err
	}
	h, err := s.hidden(ctx, db)
	if err != nil {
		return nil, err
	}
	type key struct {
		category string
		year     int32
	}
	by := make(map[key]int64, len(spent))
	for _, r := range spent {
		by[key{r.Category, r.Year}] = r.Spent
	}
	out := make([]*financev1.Budget, len(rows))
	for i, r := range rows {
		// What is hidden from the caller (view.go) is not spent for them.
		sp := money.SatSub(by[key{r.Category, r.Year}], h.sum(func(m store.HiddenMovementsRow) bool {
			return m.AccountID == r.Category && int32(m.Month.Year()) == r.Year
		}))
		out[i] = budgetFromRow(r)
		out[i].Spent, out[i].Remaining = mon(r.CurrencyCode, sp), mon(r.CurrencyCode, money.SatSub(r.Planned, sp))
	}
	return out, nil
}

// oneWithSpent is withSpent for a single row, passing a read error on.
func (s *Server) oneWithSpent(ctx context.Context, db dbtx, r store.Budget, err error) (*financev1.Budget, error) {
	if err != nil {
		return nil, err
	}
	out, err := s.withSpent(ctx, db, r)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// CreateBudget plans an amount for an expense category and year.
func (s *Server) CreateBudget(ctx context.Context, req *financev1.CreateBudgetRequest) (*financev1.Budget, error) {
	b := req.GetBudget()
	if err := resource.Required("budget", map[string]bool{"category": b.GetCategory() != "", "year": b.GetYear() != 0, "planned": b.GetPlanned() != nil}); err != nil {
		return nil, err
	}
	if err := checkAmount("budget.planned", b.GetPlanned(), true); err != nil {
		return nil, err
	}
	return resource.Create(ctx, s.db, b.GetCategory()+" in "+itoa(b.GetYear()), req.GetRequestId(), "CreateBudget", req, func(tx pgx.Tx) (*financev1.Budget, error) {
		if err := s.acted(ctx, tx); err != nil {
			return nil, err
		}
		cat := resource.ID(accounts, b.GetCategory())
		acct, err := s.q.GetAccount(ctx, tx, cat)
		if err != nil || acct.Type != "expense" {
			return nil, apierr.InvalidField("budget.category", "must be an existing expense account")
		}
		cur := acct.CurrencyCode
		if err := inCurrency("budget.planned", b.GetPlanned(), cur, "the category is in "); err != nil {
			return nil, err
		}
		row, err := s.q.CreateBudget(ctx, tx, store.CreateBudgetParams{ID: resource.NewID(), Category: cat, Year: b.GetYear(), CurrencyCode: cur,
			Planned: b.GetPlanned().GetMinorUnits(), CreateTime: s.now()})
		return s.oneWithSpent(ctx, tx, row, err)
	})
}

// GetBudget implements AIP-131.
func (s *Server) GetBudget(ctx context.Context, req *financev1.GetBudgetRequest) (*financev1.Budget, error) {
	row, err := s.q.GetBudget(ctx, s.db, resource.ID(budgets, req.GetName()))
	b, err := s.oneWithSpent(ctx, s.db, row, err)
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return b, nil
}

// ListBudgets lists budgets by id (creation order).
func (s *Server) ListBudgets(ctx context.Context, req *financev1.ListBudgetsRequest) (*financev1.ListBudgetsResponse, error) {
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(budgets))
	if err != nil {
		return nil, err
	}
	after, err := page.AfterUUID()
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListBudgets(ctx, s.db, store.ListBudgetsParams{After: after, PageSize: page.Limit()})
	if err != nil {
		return nil, err
	}
	resp := &financev1.ListBudgetsResponse{}
	rows, resp.NextPageToken = pagination.Finish(page, rows, func(r store.Budget) string { return r.ID })
	resp.Budgets, err = s.withSpent(ctx, s.db, rows...)
	return resp, err
}

// budgetFields are the fields UpdateBudget may change: the category and
// year identify the budget (one per category and year), and the planned
// amount stays in the category's currency.
var budgetFields = []string{"planned"}

// UpdateBudget implements AIP-134 with an etag check.
func (s *Server) UpdateBudget(ctx context.Context, req *financev1.UpdateBudgetRequest) (*financev1.Budget, error) {
	id := resource.ID(budgets, req.GetBudget().GetName())
	var currency string
	return resource.Update(ctx, s.db, req.GetBudget(), req.GetUpdateMask(), budgetFields,
		func(tx pgx.Tx) (*financev1.Budget, error) {
			if err := s.acted(ctx, tx); err != nil {
				return nil, err
			}
			row, err := s.q.GetBudgetForUpdate(ctx, tx, id)
			currency = row.CurrencyCode
			return budgetFromRow(row), err
		},
		func(b *financev1.Budget) error {
			if err := checkAmount("budget.planned", b.GetPlanned(), true); err != nil {
				return err
			}
			return inCurrency("budget.planned", b.GetPlanned(), currency, "the category is in ")
		},
		func(tx pgx.Tx, b *financev1.Budget) (*financev1.Budget, error) {
			row, err := s.q.UpdateBudget(ctx, tx, store.UpdateBudgetParams{ID: id, Planned: b.GetPlanned().GetMinorUnits(), Now: s.now()})
			return s.oneWithSpent(ctx, tx, row, err)
		})
}

// DeleteBudget implements AIP-135; nothing refers to a budget.
func (s *Server) DeleteBudget(ctx context.Context, req *financev1.DeleteBudgetRequest) (*emptypb.Empty, error) {
	id := resource.ID(budgets, req.GetName())
	err := resource.Delete(ctx, s.db, req.GetName(), req.GetEtag(),
		func(tx pgx.Tx) (*financev1.Budget, error) {
			if err := s.acted(ctx, tx); err != nil {
				return nil, err
			}
			row, err := s.q.GetBudgetForUpdate(ctx, tx, id)
			return budgetFromRow(row), err
		},
		func(tx pgx.Tx) error { return s.q.DeleteBudget(ctx, tx, id) })
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func itoa(n int32) string { return fmtInt(int64(n)) }
