package finance

import (
	"context"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/money"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

const budgets = "budgets"

// budgetFromRow converts a budget row, without what was spent (see withSpent).
func budgetFromRow(r store.Budget) *financev1.Budget {
	return &financev1.Budget{Name: resource.Name(budgets, r.ID), Category: resource.Name(accounts, r.Category), Year: r.Year,
		Planned: mon(r.CurrencyCode, r.Planned), CreateTime: timestamppb.New(r.CreateTime), UpdateTime: timestamppb.New(r.UpdateTime), Etag: resource.Etag(r.Version)}
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
