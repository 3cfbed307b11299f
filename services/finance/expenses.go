package finance

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
)

const expenses = "expenses"

const expenseColumns = `id::text, payee, category, currency_code, amount, description, invoice_reference, state, submitter,
	required_approvals, reject_reason, coalesce(transaction_id::text, ''), create_time`

func (s *Server) loadExpense(ctx context.Context, db dbtx, id string, lock bool) (*financev1.Expense, error) {
	q := `SELECT ` + expenseColumns + ` FROM expenses WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	var cat, cur, state, txID string
	var amt int64
	var created time.Time
	e := &financev1.Expense{}
	err := db.QueryRow(ctx, q, id).Scan(&id, &e.Payee, &cat, &cur, &amt, &e.Description, &e.InvoiceReference, &state, &e.Submitter,
		&e.RequiredApprovals, &e.RejectReason, &txID, &created)
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, resource.Name(expenses, id))
	}
	e.Name, e.Category, e.Amount, e.CreateTime = resource.Name(expenses, id), resource.Name(accounts, cat), mon(cur, amt), ts(created)
	e.State = expenseState(state)
	if txID != "" {
		e.Transaction = resource.Name(transactions, txID)
	}
	rows, err := db.Query(ctx, `SELECT action, actor, time, state, reason FROM expense_events WHERE expense_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		ev := &financev1.ExpenseEvent{}
		var t time.Time
		var st string
		if err := rows.Scan(&ev.Action, &ev.Actor, &t, &st, &ev.Reason); err != nil {
			return nil, err
		}
		ev.Time, ev.State = ts(t), expenseState(st)
		e.History = append(e.History, ev)
	}
	return e, rows.Err()
}

func expenseState(s string) financev1.Expense_State {
	return financev1.Expense_State(pgenum.Number(financev1.Expense_STATE_UNSPECIFIED.Descriptor(), s))
}

func (s *Server) expenseEvent(ctx context.Context, tx pgx.Tx, id, action, actor string, state financev1.Expense_State, reason string) error {
	_, err := tx.Exec(ctx, `INSERT INTO expense_events (expense_id, seq, action, actor, time, state, reason)
		VALUES ($1, (SELECT coalesce(max(seq), 0) + 1 FROM expense_events WHERE expense_id = $1), $2, $3, $4, $5, $6)`,
		id, action, actor, s.now(), pgenum.Text(state), reason)
	return err
}

// CreateExpense submits an expense; any person may.
func (s *Server) CreateExpense(ctx context.Context, req *financev1.CreateExpenseRequest) (*financev1.Expense, error) {
	e := req.GetExpense()
	if err := resource.Required("expense", map[string]bool{"payee": e.GetPayee() != "", "category": e.GetCategory() != "",
		"amount": e.GetAmount() != nil, "description": e.GetDescription() != ""}); err != nil {
		return nil, err
	}
	if err := checkAmount("expense.amount", e.GetAmount(), false); err != nil {
		return nil, err
	}
	submitter := auth.From(ctx).GetPerson()
	required := int32(1)
	if e.GetAmount().GetMinorUnits() > s.opts.DualApprovalAbove {
		required = 2
	}
	return doTx(ctx, s, req.GetRequestId(), "CreateExpense", req, func(tx pgx.Tx) (*financev1.Expense, error) {
		cat := resource.ID(accounts, e.GetCategory())
		var typ, cur string
		if err := tx.QueryRow(ctx, `SELECT type, currency_code FROM accounts WHERE id = $1`, cat).Scan(&typ, &cur); err != nil || typ != "expense" {
			return nil, apierr.InvalidField("expense.category", "must be an existing expense account")
		}
		if cur != e.GetAmount().GetCurrencyCode() {
			return nil, apierr.InvalidField("expense.amount.currency_code", "the category is in "+cur)
		}
		id := resource.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO expenses (id, payee, category, currency_code, amount, description, invoice_reference,
			state, submitter, required_approvals, create_time) VALUES ($1,$2,$3,$4,$5,$6,$7,'submitted',$8,$9,$10)`,
			id, e.GetPayee(), cat, cur, e.GetAmount().GetMinorUnits(), e.GetDescription(), e.GetInvoiceReference(), submitter, required, s.now()); err != nil {
			return nil, err
		}
		if err := s.expenseEvent(ctx, tx, id, "submit", submitter, financev1.Expense_STATE_SUBMITTED, ""); err != nil {
			return nil, err
		}
		if err := activity.Record(ctx, tx, submitter, "finance.expense", s.now()); err != nil {
			return nil, err
		}
		return s.loadExpense(ctx, tx, id, false)
	})
}

// transition locks an expense, checks its state and applies change.
func (s *Server) transition(ctx context.Context, name string, from []financev1.Expense_State,
	change func(tx pgx.Tx, e *financev1.Expense, actor string) error) (*financev1.Expense, error) {
	id := resource.ID(expenses, name)
	actor := auth.From(ctx).GetPerson()
	var out *financev1.Expense
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		e, err := s.loadExpense(ctx, tx, id, true)
		if err != nil {
			return err
		}
		ok := false
		for _, st := range from {
			ok = ok || e.GetState() == st
		}
		if !ok {
			return apierr.FailedPrecondition("ILLEGAL_TRANSITION", name+" is "+e.GetState().String())
		}
		if err := change(tx, e, actor); err != nil {
			return err
		}
		out, err = s.loadExpense(ctx, tx, id, false)
		return err
	})
	return out, err
}

func (s *Server) setExpenseState(ctx context.Context, tx pgx.Tx, id string, st financev1.Expense_State) error {
	_, err := tx.Exec(ctx, `UPDATE expenses SET state = $2 WHERE id = $1`, id, pgenum.Text(st))
	return err
}

// ApproveExpense records one approval; the submitter may not approve their
// own expense, and each approver counts once.
func (s *Server) ApproveExpense(ctx context.Context, req *financev1.ApproveExpenseRequest) (*financev1.Expense, error) {
	return s.transition(ctx, req.GetName(), []financev1.Expense_State{financev1.Expense_STATE_SUBMITTED}, func(tx pgx.Tx, e *financev1.Expense, actor string) error {
		if actor == "" || actor == e.GetSubmitter() {
			return apierr.FailedPrecondition("SELF_APPROVAL", "the submitter of an expense may not approve it")
		}
		approvals := 0
		for _, ev := range e.GetHistory() {
			if ev.GetAction() == "approve" {
				if ev.GetActor() == actor {
					return apierr.FailedPrecondition("ALREADY_APPROVED", actor+" already approved "+e.GetName())
				}
				approvals++
			}
		}
		id := resource.ID(expenses, e.GetName())
		state := financev1.Expense_STATE_SUBMITTED
		if int32(approvals+1) >= e.GetRequiredApprovals() {
			state = financev1.Expense_STATE_APPROVED
			if err := s.setExpenseState(ctx, tx, id, state); err != nil {
				return err
			}
		}
		return s.expenseEvent(ctx, tx, id, "approve", actor, state, "")
	})
}

// RejectExpense refuses an expense, with a reason.
func (s *Server) RejectExpense(ctx context.Context, req *financev1.RejectExpenseRequest) (*financev1.Expense, error) {
	return s.transition(ctx, req.GetName(), []financev1.Expense_State{financev1.Expense_STATE_SUBMITTED, financev1.Expense_STATE_APPROVED},
		func(tx pgx.Tx, e *financev1.Expense, actor string) error {
			id := resource.ID(expenses, e.GetName())
			if _, err := tx.Exec(ctx, `UPDATE expenses SET state = 'rejected', reject_reason = $2 WHERE id = $1`, id, req.GetReason()); err != nil {
				return err
			}
			return s.expenseEvent(ctx, tx, id, "reject", actor, financev1.Expense_STATE_REJECTED, req.GetReason())
		})
}

// CancelExpense withdraws an expense.
func (s *Server) CancelExpense(ctx context.Context, req *financev1.CancelExpenseRequest) (*financev1.Expense, error) {
	return s.transition(ctx, req.GetName(), []financev1.Expense_State{financev1.Expense_STATE_SUBMITTED, financev1.Expense_STATE_APPROVED},
		func(tx pgx.Tx, e *financev1.Expense, actor string) error {
			id := resource.ID(expenses, e.GetName())
			if err := s.setExpenseState(ctx, tx, id, financev1.Expense_STATE_CANCELLED); err != nil {
				return err
			}
			return s.expenseEvent(ctx, tx, id, "cancel", actor, financev1.Expense_STATE_CANCELLED, "")
		})
}

// PayExpense posts debit category / credit the paying account. Paying a PAID
// expense returns it as it is: the state, under the row lock, makes it once.
func (s *Server) PayExpense(ctx context.Context, req *financev1.PayExpenseRequest) (*financev1.Expense, error) {
	from := resource.ID(accounts, req.GetPaymentAccount())
	if from == "" {
		from = "bank"
	}
	return doTx(ctx, s, req.GetRequestId(), "PayExpense", req, func(tx pgx.Tx) (*financev1.Expense, error) {
		id := resource.ID(expenses, req.GetName())
		e, err := s.loadExpense(ctx, tx, id, true)
		if err != nil {
			return nil, err
		}
		switch e.GetState() {
		case financev1.Expense_STATE_PAID:
			return e, nil
		case financev1.Expense_STATE_APPROVED:
		default:
			return nil, apierr.FailedPrecondition("ILLEGAL_TRANSITION", req.GetName()+" is "+e.GetState().String()+"; only APPROVED expenses are paid")
		}
		actor := auth.From(ctx).GetPerson()
		cur, amt := e.GetAmount().GetCurrencyCode(), e.GetAmount().GetMinorUnits()
		t, err := s.post(ctx, tx, entry{description: "Expense " + e.GetName() + ": " + e.GetDescription(), when: timeOr(req.GetPayTime(), s.now()),
			source: "expense", creator: actor, lines: []line{
				{account: resource.ID(accounts, e.GetCategory()), currency: cur, amount: amt, field: "name"},
				{account: from, currency: cur, amount: -amt, field: "payment_account"},
			}})
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE expenses SET state = 'paid', transaction_id = $2 WHERE id = $1`, id, t); err != nil {
			return nil, err
		}
		if err := s.expenseEvent(ctx, tx, id, "pay", actor, financev1.Expense_STATE_PAID, ""); err != nil {
			return nil, err
		}
		return s.loadExpense(ctx, tx, id, false)
	})
}

// GetExpense implements AIP-131.
func (s *Server) GetExpense(ctx context.Context, req *financev1.GetExpenseRequest) (*financev1.Expense, error) {
	return s.loadExpense(ctx, s.db, resource.ID(expenses, req.GetName()), false)
}

// ListExpenses lists expenses oldest first.
func (s *Server) ListExpenses(ctx context.Context, req *financev1.ListExpensesRequest) (*financev1.ListExpensesResponse, error) {
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(expenses))
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT id::text FROM expenses WHERE id::text > $1 ORDER BY id LIMIT $2`, page.After(), page.Limit())
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	resp := &financev1.ListExpensesResponse{}
	ids, resp.NextPageToken = pagination.Finish(page, ids, func(id string) string { return id })
	for _, id := range ids {
		e, err := s.loadExpense(ctx, s.db, id, false)
		if err != nil {
			return nil, err
		}
		resp.Expenses = append(resp.Expenses, e)
	}
	return resp, nil
}
