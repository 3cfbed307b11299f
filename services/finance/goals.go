package finance

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
)

const (
	goals   = "goals"
	budgets = "budgets"
)

const goalColumns = `id, display_name, description, currency_code, target, period, priority, roadmap_item, coalesce(fund_account, ''), create_time, version`

func scanGoal(row pgx.Row) (*financev1.Goal, error) {
	var id, cur, period, fund string
	var target, version int64
	var created time.Time
	g := &financev1.Goal{}
	if err := row.Scan(&id, &g.DisplayName, &g.Description, &cur, &target, &period, &g.Priority, &g.RoadmapItem, &fund, &created, &version); err != nil {
		return nil, err
	}
	g.Name, g.Target, g.CreateTime, g.Etag = resource.Name(goals, id), mon(cur, target), ts(created), resource.Etag(version)
	g.Period = financev1.Goal_Period(pgenum.Number(financev1.Goal_PERIOD_UNSPECIFIED.Descriptor(), period))
	if fund != "" {
		g.FundAccount = resource.Name(accounts, fund)
	}
	return g, nil
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

// fillProgress sets progress: credits to the fund account in the period
// (from the monthly movements), or donations earmarked for the goal.
func (s *Server) fillProgress(ctx context.Context, db dbtx, g *financev1.Goal) error {
	from := periodStart(g.GetPeriod(), s.now())
	var sum int64
	var err error
	if g.GetFundAccount() != "" {
		err = db.QueryRow(ctx, `SELECT coalesce(-sum(amount), 0)::bigint FROM account_months WHERE account_id = $1 AND month >= $2`,
			resource.ID(accounts, g.GetFundAccount()), from).Scan(&sum)
	} else {
		err = db.QueryRow(ctx, `SELECT coalesce(sum(d.amount), 0)::bigint FROM donations d
			WHERE d.goal_id = $1 AND d.receive_time >= $2 AND d.transaction_id IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_id = d.transaction_id)`,
			resource.ID(goals, g.GetName()), from).Scan(&sum)
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
	name := resource.Name(goals, req.GetGoalId())
	return resource.Create(ctx, s.db, name, req.GetRequestId(), "CreateGoal", req, func(tx pgx.Tx) (*financev1.Goal, error) {
		var fund *string
		if g.GetFundAccount() != "" {
			f := resource.ID(accounts, g.GetFundAccount())
			var cur string
			if err := tx.QueryRow(ctx, `SELECT currency_code FROM accounts WHERE id = $1`, f).Scan(&cur); err != nil || cur != g.GetTarget().GetCurrencyCode() {
				return nil, apierr.InvalidField("goal.fund_account", "must be an existing account in the target's currency")
			}
			fund = &f
		}
		out, err := scanGoal(tx.QueryRow(ctx, `INSERT INTO goals (id, display_name, description, currency_code, target, period, priority, roadmap_item, fund_account, create_time)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING `+goalColumns,
			req.GetGoalId(), g.GetDisplayName(), g.GetDescription(), g.GetTarget().GetCurrencyCode(), g.GetTarget().GetMinorUnits(),
			pgenum.Text(g.GetPeriod()), g.GetPriority(), g.GetRoadmapItem(), fund, s.now()))
		if err != nil {
			return nil, err
		}
		return out, s.fillProgress(ctx, tx, out)
	})
}

// GetGoal implements AIP-131.
func (s *Server) GetGoal(ctx context.Context, req *financev1.GetGoalRequest) (*financev1.Goal, error) {
	g, err := scanGoal(s.db.QueryRow(ctx, `SELECT `+goalColumns+` FROM goals WHERE id = $1`, resource.ID(goals, req.GetName())))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return g, s.fillProgress(ctx, s.db, g)
}

// ListGoals lists goals in priority order (then id), keyset-paged on both.
func (s *Server) ListGoals(ctx context.Context, req *financev1.ListGoalsRequest) (*financev1.ListGoalsResponse, error) {
	q := pagination.Fingerprint(goals)
	c, err := pagination.Decode(req.GetPageToken(), q, 2)
	if err != nil {
		return nil, err
	}
	size := pagination.Size(req.GetPageSize())
	var rows pgx.Rows
	if len(c.After) == 2 {
		rows, err = s.db.Query(ctx, `SELECT `+goalColumns+` FROM goals WHERE (priority, id) > ($1::int, $2) ORDER BY priority, id LIMIT $3`, c.After[0], c.After[1], size+1)
	} else {
		rows, err = s.db.Query(ctx, `SELECT `+goalColumns+` FROM goals ORDER BY priority, id LIMIT $1`, size+1)
	}
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*financev1.Goal, error) { return scanGoal(r) })
	if err != nil {
		return nil, err
	}
	resp := &financev1.ListGoalsResponse{}
	if int32(len(list)) > size {
		list = list[:size]
		last := list[len(list)-1]
		resp.NextPageToken = pagination.Encode(pagination.Cursor{After: []string{itoa(last.Priority), resource.ID(goals, last.Name)}, Query: q})
	}
	for _, g := range list {
		if err := s.fillProgress(ctx, s.db, g); err != nil {
			return nil, err
		}
	}
	resp.Goals = list
	return resp, nil
}

var goalFields = []string{"display_name", "description", "priority", "roadmap_item", "target"}

// UpdateGoal implements AIP-134.
func (s *Server) UpdateGoal(ctx context.Context, req *financev1.UpdateGoalRequest) (*financev1.Goal, error) {
	id := resource.ID(goals, req.GetGoal().GetName())
	return resource.Update(ctx, s.db, req.GetGoal(), req.GetUpdateMask(), goalFields,
		func(tx pgx.Tx) (*financev1.Goal, error) {
			return scanGoal(tx.QueryRow(ctx, `SELECT `+goalColumns+` FROM goals WHERE id = $1 FOR UPDATE`, id))
		},
		s.checkGoal,
		func(tx pgx.Tx, g *financev1.Goal) (*financev1.Goal, error) {
			var cur string
			_ = tx.QueryRow(ctx, `SELECT currency_code FROM goals WHERE id = $1`, id).Scan(&cur)
			if g.GetTarget().GetCurrencyCode() != cur {
				return nil, apierr.InvalidField("goal.target.currency_code", "the goal's currency is fixed: "+cur)
			}
			out, err := scanGoal(tx.QueryRow(ctx, `UPDATE goals SET display_name=$2, description=$3, priority=$4, roadmap_item=$5, target=$6,
				version = version + 1 WHERE id = $1 RETURNING `+goalColumns,
				id, g.GetDisplayName(), g.GetDescription(), g.GetPriority(), g.GetRoadmapItem(), g.GetTarget().GetMinorUnits()))
			if err != nil {
				return nil, err
			}
			return out, s.fillProgress(ctx, tx, out)
		})
}

const budgetColumns = `id::text, category, year, currency_code, planned, create_time`

func (s *Server) scanBudget(ctx context.Context, db dbtx, row pgx.Row) (*financev1.Budget, error) {
	var id, cat, cur string
	var planned int64
	var created time.Time
	b := &financev1.Budget{}
	if err := row.Scan(&id, &cat, &b.Year, &cur, &planned, &created); err != nil {
		return nil, err
	}
	b.Name, b.Category, b.Planned, b.CreateTime = resource.Name(budgets, id), resource.Name(accounts, cat), mon(cur, planned), ts(created)
	var spent int64
	if err := db.QueryRow(ctx, `SELECT coalesce(sum(amount), 0)::bigint FROM account_months
		WHERE account_id = $1 AND month >= make_date($2, 1, 1) AND month < make_date($2 + 1, 1, 1)`, cat, b.Year).Scan(&spent); err != nil {
		return nil, err
	}
	b.Spent, b.Remaining = mon(cur, spent), mon(cur, planned-spent)
	return b, nil
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
		cat := resource.ID(accounts, b.GetCategory())
		var typ, cur string
		if err := tx.QueryRow(ctx, `SELECT type, currency_code FROM accounts WHERE id = $1`, cat).Scan(&typ, &cur); err != nil || typ != "expense" {
			return nil, apierr.InvalidField("budget.category", "must be an existing expense account")
		}
		if cur != b.GetPlanned().GetCurrencyCode() {
			return nil, apierr.InvalidField("budget.planned.currency_code", "the category is in "+cur)
		}
		return s.scanBudget(ctx, tx, tx.QueryRow(ctx, `INSERT INTO budgets (id, category, year, currency_code, planned, create_time)
			VALUES ($1,$2,$3,$4,$5,$6) RETURNING `+budgetColumns, resource.NewID(), cat, b.GetYear(), cur, b.GetPlanned().GetMinorUnits(), s.now()))
	})
}

// GetBudget implements AIP-131.
func (s *Server) GetBudget(ctx context.Context, req *financev1.GetBudgetRequest) (*financev1.Budget, error) {
	b, err := s.scanBudget(ctx, s.db, s.db.QueryRow(ctx, `SELECT `+budgetColumns+` FROM budgets WHERE id = $1`, resource.ID(budgets, req.GetName())))
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
	rows, err := s.db.Query(ctx, `SELECT `+budgetColumns+` FROM budgets WHERE id::text > $1 ORDER BY id LIMIT $2`, page.After(), page.Limit())
	if err != nil {
		return nil, err
	}
	var list []*financev1.Budget
	for rows.Next() {
		var id, cat, cur string
		var planned int64
		var created time.Time
		b := &financev1.Budget{}
		if err := rows.Scan(&id, &cat, &b.Year, &cur, &planned, &created); err != nil {
			rows.Close()
			return nil, err
		}
		b.Name = resource.Name(budgets, id)
		list = append(list, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	resp := &financev1.ListBudgetsResponse{}
	list, resp.NextPageToken = pagination.Finish(page, list, func(b *financev1.Budget) string { return resource.ID(budgets, b.Name) })
	for _, b := range list {
		full, err := s.GetBudget(ctx, &financev1.GetBudgetRequest{Name: b.Name})
		if err != nil {
			return nil, err
		}
		resp.Budgets = append(resp.Budgets, full)
	}
	return resp, nil
}

func itoa(n int32) string { return fmtInt(int64(n)) }
