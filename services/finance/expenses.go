package finance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

const expenses = "expenses"

func (s *Server) loadExpense(ctx context.Context, db dbtx, id string, lock bool) (*financev1.Expense, error) {
	get := s.q.GetExpense
	if lock {
		get = s.q.GetExpenseForUpdate
	}
	r, err := get(ctx, db, id)
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, resource.Name(expenses, id))
	}
	events, err := s.q.ListExpenseHistory(ctx, db, r.ID)
	if err != nil {
		return nil, err
	}
	return expenseFromRow(r, events), nil
}

// expenseFromRow builds an expense from its row and its events.
func expenseFromRow(r store.Expense, events []store.ExpenseEvent) *financev1.Expense {
	e := &financev1.Expense{
		Name: resource.Name(expenses, r.ID), Payee: r.Payee, Category: resource.Name(accounts, r.Category), Amount: mon(r.CurrencyCode, r.Amount),
		Description: r.Description, InvoiceReference: r.InvoiceReference, State: expenseState(r.State), Submitter: r.Submitter,
		RequiredApprovals: r.RequiredApprovals, RejectReason: r.RejectReason, CreateTime: timestamppb.New(r.CreateTime),
	}
	if r.TransactionID != nil {
		e.Transaction = resource.Name(transactions, *r.TransactionID)
	}
	for _, ev := range events {
		h := &financev1.ExpenseEvent{Action: ev.Action, Actor: ev.Actor, Time: timestamppb.New(ev.Time), State: expenseState(ev.State), Reason: ev.Reason}
		if ev.TransactionID != nil {
			h.Transaction = resource.Name(transactions, *ev.TransactionID)
		}
		e.History = append(e.History, h)
	}
	return e
}

func expenseState(s string) financev1.Expense_State {
	return financev1.Expense_State(pgenum.Number(financev1.Expense_STATE_UNSPECIFIED.Descriptor(), s))
}

func (s *Server) expenseEvent(ctx context.Context, tx pgx.Tx, id, action, actor string, state financev1.Expense_State, reason string) error {
	if err := s.q.CreateExpenseEvent(ctx, tx, store.CreateExpenseEventParams{ExpenseID: id, Action: action, Actor: actor, Time: s.now(),
		State: pgenum.Text(state), Reason: reason}); err != nil {
		return err
	}
	return s.emitExpense(ctx, tx, id, action, state, "")
}

// personPayee matches a payee that names a person.
var personPayee = regexp.MustCompile(`^people/[a-z][a-z0-9-]{0,62}$`)

// namesPerson reports whether payee is meant as a person's resource name,
// however it is spelled ("People/X ", "people/x").
func namesPerson(payee string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(payee)), "people/")
}

// checkPayee refuses a payee that looks like a person's name but is not one
// membership knows, so the separation-of-duties rule compares the real
// person: a misspelt `People/Jane` would otherwise slip past it.
func (s *Server) checkPayee(ctx context.Context, payee string) error {
	if !namesPerson(payee) {
		return nil
	}
	if !personPayee.MatchString(payee) {
		return apierr.InvalidField("expense.payee", "a person is named people/{person} in lower case, e.g. people/jcrisp; a vendor by its name: "+payee)
	}
	return s.members.Person(ctx, "expense.payee", payee)
}

// sameName compares a vendor-style payee with a display name, ignoring case
// and spacing.
func sameName(a, b string) bool {
	return a != "" && strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

// checkDuties applies the separation of duties: neither the submitter nor
// the payee of an expense may approve or pay it (act). The payee is the
// actor when it is their resource name or, for a payee given as a name
// rather than people/{person}, their display name.
func (s *Server) checkDuties(ctx context.Context, e *financev1.Expense, actor, act string, reason typev1.ErrorReason) error {
	if actor == "" {
		return apierr.FailedPrecondition(reason, "only a person may "+act+" an expense")
	}
	if actor == e.GetSubmitter() {
		return apierr.FailedPrecondition(reason, "the submitter of an expense may not "+act+" it")
	}
	if e.GetPayee() == actor {
		return apierr.FailedPrecondition(reason, "the payee of an expense may not "+act+" it")
	}
	if !namesPerson(e.GetPayee()) {
		p, err := s.members.Lookup(ctx, "", actor)
		var ae *apierr.Error
		if errors.As(err, &ae) && ae.Code == codes.InvalidArgument {
			// A caller membership no longer knows has no display name.
			p, err = &membershipv1.Person{}, nil
		}
		if err != nil {
			return err
		}
		if sameName(e.GetPayee(), p.GetDisplayName()) {
			return apierr.FailedPrecondition(reason, "the payee of an expense may not "+act+" it: "+actor+" is "+p.GetDisplayName())
		}
	}
	return nil
}

// payEvent records a payment step with its entry.
func (s *Server) payEvent(ctx context.Context, tx pgx.Tx, id, actor, transaction string) error {
	if err := s.q.CreateExpenseEvent(ctx, tx, store.CreateExpenseEventParams{ExpenseID: id, Action: "pay", Actor: actor, Time: s.now(),
		State: pgenum.Text(financev1.Expense_STATE_PAID), TransactionID: &transaction}); err != nil {
		return err
	}
	return s.emitExpense(ctx, tx, id, "pay", financev1.Expense_STATE_PAID, resource.Name(transactions, transaction))
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
	if err := s.checkPayee(ctx, e.GetPayee()); err != nil {
		return nil, err
	}
	submitter := auth.From(ctx).GetPerson()
	required := int32(1)
	if e.GetAmount().GetMinorUnits() > s.opts.DualApprovalAbove {
		required = 2
	}
	return doTx(ctx, s, req.GetRequestId(), "CreateExpense", req, func(tx pgx.Tx) (*financev1.Expense, error) {
		cat := resource.ID(accounts, e.GetCategory())
		acct, err := s.q.GetAccount(ctx, tx, cat)
		if err != nil || acct.Type != "expense" {
			return nil, apierr.InvalidField("expense.category", "must be an existing expense account")
		}
		cur := acct.CurrencyCode
		if err := inCurrency("expense.amount", e.GetAmount(), cur, "the category is in "); err != nil {
			return nil, err
		}
		id := resource.NewID()
		if err := s.q.CreateExpense(ctx, tx, store.CreateExpenseParams{ID: id, Payee: e.GetPayee(), Category: cat, CurrencyCode: cur,
			Amount: e.GetAmount().GetMinorUnits(), Description: e.GetDescription(), InvoiceReference: e.GetInvoiceReference(),
			Submitter: submitter, RequiredApprovals: required, CreateTime: s.now()}); err != nil {
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

// expenseMoves are an expense's moves: approved (once enough approvers
// have), paid, or, until paid, rejected or cancelled.
var expenseMoves = lifecycle.New("expense", map[financev1.Expense_State][]financev1.Expense_State{
	financev1.Expense_STATE_SUBMITTED: {financev1.Expense_STATE_APPROVED, financev1.Expense_STATE_REJECTED, financev1.Expense_STATE_CANCELLED},
	financev1.Expense_STATE_APPROVED:  {financev1.Expense_STATE_PAID, financev1.Expense_STATE_REJECTED, financev1.Expense_STATE_CANCELLED},
})

// expenseMove is the transition of expense id (named name) towards to,
// made by change, which records its own history event. stay makes asking
// for the current state no move.
func (s *Server) expenseMove(ctx context.Context, id, name string, to financev1.Expense_State, stay bool,
	change func(tx pgx.Tx, e *financev1.Expense, actor string) error) lifecycle.Spec[financev1.Expense_State, *financev1.Expense] {
	actor := auth.From(ctx).GetPerson()
	return lifecycle.Spec[financev1.Expense_State, *financev1.Expense]{
		Machine: expenseMoves, Name: name, To: to, Now: s.now(), Stay: stay,
		Lock: func(tx pgx.Tx) (*financev1.Expense, error) { return s.loadExpense(ctx, tx, id, true) },
		Of:   func(e *financev1.Expense) (financev1.Expense_State, string) { return e.GetState(), "" },
		Apply: func(tx pgx.Tx, e *financev1.Expense, _ lifecycle.Move[financev1.Expense_State]) (*financev1.Expense, error) {
			if err := change(tx, e, actor); err != nil {
				return nil, err
			}
			return s.loadExpense(ctx, tx, id, false)
		},
		After: s.transitioned,
	}
}

// transition moves an expense towards to (see expenseMove). A non-empty
// duty ("approve") applies the separation of duties first (see
// checkDuties), refusing with reason; it asks membership before the row is
// locked, since the submitter and payee never change.
func (s *Server) transition(ctx context.Context, name string, to financev1.Expense_State, duty string, reason typev1.ErrorReason,
	change func(tx pgx.Tx, e *financev1.Expense, actor string) error) (*financev1.Expense, error) {
	id := resource.ID(expenses, name)
	if duty != "" {
		e, err := s.loadExpense(ctx, s.db, id, false)
		if err != nil {
			return nil, err
		}
		if err := s.checkDuties(ctx, e, auth.From(ctx).GetPerson(), duty, reason); err != nil {
			return nil, err
		}
	}
	var out *financev1.Expense
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if out, _, err = lifecycle.Transition(ctx, tx, s.expenseMove(ctx, id, name, to, false, change)); err != nil {
			return err
		}
		return s.acted(ctx, tx)
	})
	return out, err
}

func (s *Server) setExpenseState(ctx context.Context, tx pgx.Tx, id string, st financev1.Expense_State) error {
	return s.q.SetExpenseState(ctx, tx, store.SetExpenseStateParams{ID: id, State: pgenum.Text(st)})
}

// ApproveExpense records one approval; neither the submitter nor the payee
// may approve (SELF_APPROVAL), and each approver counts once.
func (s *Server) ApproveExpense(ctx context.Context, req *financev1.ApproveExpenseRequest) (*financev1.Expense, error) {
	return s.transition(ctx, req.GetName(), financev1.Expense_STATE_APPROVED, "approve", typev1.ErrorReason_SELF_APPROVAL, func(tx pgx.Tx, e *financev1.Expense, actor string) error {
		approvals := 0
		for _, ev := range e.GetHistory() {
			if ev.GetAction() == "approve" {
				if ev.GetActor() == actor {
					return apierr.FailedPrecondition(typev1.ErrorReason_ALREADY_APPROVED, actor+" already approved "+e.GetName())
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
	return s.transition(ctx, req.GetName(), financev1.Expense_STATE_REJECTED, "", typev1.ErrorReason_ERROR_REASON_UNSPECIFIED,
		func(tx pgx.Tx, e *financev1.Expense, actor string) error {
			id := resource.ID(expenses, e.GetName())
			if err := s.q.RejectExpense(ctx, tx, store.RejectExpenseParams{ID: id, RejectReason: req.GetReason()}); err != nil {
				return err
			}
			return s.expenseEvent(ctx, tx, id, "reject", actor, financev1.Expense_STATE_REJECTED, req.GetReason())
		})
}

// CancelExpense withdraws an expense.
func (s *Server) CancelExpense(ctx context.Context, req *financev1.CancelExpenseRequest) (*financev1.Expense, error) {
	return s.transition(ctx, req.GetName(), financev1.Expense_STATE_CANCELLED, "", typev1.ErrorReason_ERROR_REASON_UNSPECIFIED,
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
// Neither the submitter nor the payee may pay (SELF_PAYMENT).
func (s *Server) PayExpense(ctx context.Context, req *financev1.PayExpenseRequest) (*financev1.Expense, error) {
	const method = "PayExpense"
	id := resource.ID(expenses, req.GetName())
	row, err := s.q.GetExpenseForPayment(ctx, s.db, id)
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	history, err := expenseHistory(row.History)
	if err != nil {
		return nil, err
	}
	pre := expenseFromRow(row.Expense, history)
	actor := auth.From(ctx).GetPerson()
	if err := s.checkDuties(ctx, pre, actor, "pay", typev1.ErrorReason_SELF_PAYMENT); err != nil {
		return nil, err
	}
	from := resource.ID(accounts, req.GetPaymentAccount())
	if from == "" {
		// accounts/bank, or the bank account for the expense's currency.
		if from, err = s.resolveOn(ctx, assetDefault("bank"), pre.GetAmount().GetCurrencyCode(), "payment_account", "payments", false); err != nil {
			return nil, err
		}
	}
	payment := func(e *financev1.Expense, when time.Time) entry {
		cur, amt := e.GetAmount().GetCurrencyCode(), e.GetAmount().GetMinorUnits()
		return entry{description: "Expense " + e.GetName() + ": " + e.GetDescription(), when: timeOr(req.GetPayTime(), when),
			source: "expense", creator: actor, lines: []line{
				{account: resource.ID(accounts, e.GetCategory()), currency: cur, amount: amt, field: "name"},
				{account: from, currency: cur, amount: -amt, field: "payment_account"},
			}}
	}
	// locked pays under the expense's row lock, from the row as it is.
	locked := once(s, req.GetRequestId(), method, req, func(tx pgx.Tx) (*financev1.Expense, error) {
		// Paying a PAID expense is no move: it is returned as it is.
		e, _, err := lifecycle.Transition(ctx, tx, s.expenseMove(ctx, id, req.GetName(), financev1.Expense_STATE_PAID, true,
			func(tx pgx.Tx, e *financev1.Expense, actor string) error {
				t, err := s.post(ctx, tx, payment(e, s.now()))
				if err != nil {
					return err
				}
				if err := s.q.PayExpense(ctx, tx, store.PayExpenseParams{ID: id, TransactionID: &t}); err != nil {
					return err
				}
				return s.payEvent(ctx, tx, id, actor, t)
			}))
		return e, err
	})
	if pre.GetState() != financev1.Expense_STATE_APPROVED {
		// Its errors (or a PAID expense as it is) come from the locked path.
		return doWrite(ctx, s, nil, locked)
	}
	// Otherwise the payment, the expense PAID with the step in its history,
	// and the reply are computed from the row as read (writePayment).
	return writePayment(ctx, s, req, req.GetRequestId(), method, &paidRow{expense: id, version: row.Version},
		func(now time.Time) entry { return payment(pre, now) },
		func(entryID string, now time.Time) (*financev1.Expense, events.Event, error) {
			out := pre
			out.State = financev1.Expense_STATE_PAID
			out.Transaction = resource.Name(transactions, entryID)
			out.History = append(out.History, &financev1.ExpenseEvent{Action: "pay", Actor: actor, Time: timestamppb.New(now),
				State: financev1.Expense_STATE_PAID, Transaction: out.GetTransaction()})
			return out, events.Event{Type: events.ExpensePaid, Subject: out.GetName(),
				Data: expenseData(out.GetName(), out.GetState(), out.GetSubmitter(), out.GetTransaction()), Audience: expenseReaders.With(out.GetSubmitter())}, nil
		}, locked)
}

// expenseHistory decodes an expense's history as GetExpenseForPayment reads
// it with the expense: a JSON array of expense_events rows, in order.
func expenseHistory(doc []byte) ([]store.ExpenseEvent, error) {
	var rows []store.ExpenseEvent
	if err := json.Unmarshal(doc, &rows); err != nil {
		return nil, fmt.Errorf("expense history: %w", err)
	}
	return rows, nil
}

// GetExpense implements AIP-131.
func (s *Server) GetExpense(ctx context.Context, req *financev1.GetExpenseRequest) (*financev1.Expense, error) {
	return s.loadExpense(ctx, s.db, resource.ID(expenses, req.GetName()), false)
}

// ListExpenses lists expenses oldest first.
func (s *Server) ListExpenses(ctx context.Context, req *financev1.ListExpensesRequest) (*financev1.ListExpensesResponse, error) {
	// Two queries for the page, not two per expense.
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(expenses))
	if err != nil {
		return nil, err
	}
	after, err := page.AfterUUID()
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListExpenses(ctx, s.db, store.ListExpensesParams{After: after, PageSize: page.Limit()})
	if err != nil {
		return nil, err
	}
	resp := &financev1.ListExpensesResponse{}
	rows, resp.NextPageToken = pagination.Finish(page, rows, func(r store.Expense) string { return r.ID })
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	events, err := s.q.ListExpenseEvents(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	byExpense := map[string][]store.ExpenseEvent{}
	for _, ev := range events {
		byExpense[ev.ExpenseID] = append(byExpense[ev.ExpenseID], ev)
	}
	for _, r := range rows {
		resp.Expenses = append(resp.Expenses, expenseFromRow(r, byExpense[r.ID]))
	}
	return resp, nil
}
