package finance

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/outbox"
	"github.com/guildhall/guildhall/internal/resource"
)

// Audiences of finance's events, after its read rules (policy.go).
var (
	// books reads the journal, expenses and subscriptions.
	books = events.Holders(readPrivate, PermRecord)
	// expenseReaders are the books and those who approve and pay.
	expenseReaders = events.Holders(readPrivate, PermRecord, PermApprove, PermPay)
)

// emit writes a finance event in tx, the write's transaction.
func (s *Server) emit(ctx context.Context, tx pgx.Tx, typ, subject string, data proto.Message, a events.Audience) error {
	return events.Emit(ctx, tx, events.Event{Type: typ, Subject: subject, Data: data, Audience: a, Time: s.now()})
}

// donationEvent is the outbox row announcing a recorded donation, shown as
// the donor allowed (donationAudience).
func donationEvent(d *financev1.Donation) (outbox.Message, error) {
	data, a := donationAudience(d, &financev1.Donation{Name: d.GetName(), Amount: d.GetAmount(), Donor: d.GetDonor(), Goal: d.GetGoal(), Visibility: d.GetVisibility()})
	return events.Message(events.Event{Type: events.DonationCreated, Subject: d.GetName(), Data: data, Audience: a,
		Time: d.GetCreateTime().AsTime()})
}

// donationAudience is who hears about donation d, and what (data, cut to
// what they may see): a PUBLIC gift everyone, with donor and amount; an
// ANONYMOUS one everyone, with its amount and without its donor; a PRIVATE
// one only the books and the donor, and no one else at all: public figures
// leave it out until its month ends (view.go), and an event anyone could
// read would tell its time, and by the figures of the month's end, its
// amount.
func donationAudience(d, data *financev1.Donation) (*financev1.Donation, events.Audience) {
	a := events.Public()
	switch d.GetVisibility() {
	case financev1.Donation_VISIBILITY_PUBLIC:
	case financev1.Donation_VISIBILITY_ANONYMOUS:
		data.Donor = ""
	default:
		a = books.With(d.GetDonor())
	}
	return data, a
}

// donationReversedEvent is the outbox row announcing that the entry of
// donation d was reversed (the gift refunded), at now, to the audience of
// its gift, beside the books' TransactionReversed. A PRIVATE gift's event
// carries neither donor nor amount: its audience may read the donation, and
// nothing else should leave with it.
func donationReversedEvent(d *financev1.Donation, now time.Time) (outbox.Message, error) {
	data := &financev1.Donation{Name: d.GetName(), Amount: d.GetAmount(), Donor: d.GetDonor(), Goal: d.GetGoal(),
		Visibility: d.GetVisibility(), State: financev1.Donation_STATE_REFUNDED}
	if d.GetVisibility() != financev1.Donation_VISIBILITY_PUBLIC && d.GetVisibility() != financev1.Donation_VISIBILITY_ANONYMOUS {
		data = &financev1.Donation{Name: d.GetName(), Visibility: d.GetVisibility(), State: financev1.Donation_STATE_REFUNDED}
	}
	data, a := donationAudience(d, data)
	return events.Message(events.Event{Type: events.DonationReversed, Subject: d.GetName(), Data: data, Audience: a, Time: now})
}

// expenseEvents maps expense history actions to event types.
var expenseEvents = map[string]string{
	"submit": events.ExpenseSubmitted, "approve": events.ExpenseApproved, "reject": events.ExpenseRejected,
	"cancel": events.ExpenseCancelled, "pay": events.ExpensePaid,
}

// emitExpense announces an expense's step to those who may read it: the
// books, approvers, payers and the submitter. A first approval of two
// needed is no event; the approval that makes it APPROVED is.
func (s *Server) emitExpense(ctx context.Context, tx pgx.Tx, id, action string, state financev1.Expense_State, transaction string) error {
	typ, ok := expenseEvents[action]
	if !ok || (action == "approve" && state != financev1.Expense_STATE_APPROVED) {
		return nil
	}
	e, err := s.q.GetExpense(ctx, tx, id)
	if err != nil {
		return err
	}
	name := expenses + "/" + id
	data := expenseData(name, state, e.Submitter, transaction)
	if action == "submit" {
		// What an approver needs to know (the mail to approvers says it).
		data.Payee, data.Amount, data.Description = e.Payee, mon(e.CurrencyCode, e.Amount), e.Description
	}
	return s.emit(ctx, tx, typ, name, data, expenseReaders.With(e.Submitter))
}

// expenseData is what an expense's event tells of it: its name, state,
// submitter and the entry that paid it.
func expenseData(name string, state financev1.Expense_State, submitter, transaction string) *financev1.Expense {
	return &financev1.Expense{Name: name, State: state, Submitter: submitter, Transaction: transaction}
}

// emitted passes a write's result through, emitting typ about it (its
// name, with data(v)) in tx if the write succeeded.
func emitted[T interface {
	proto.Message
	GetName() string
}](ctx context.Context, s *Server, tx pgx.Tx, typ string, a events.Audience, data func(T) proto.Message) func(T, error) (T, error) {
	return func(v T, err error) (T, error) {
		if err != nil {
			return v, err
		}
		return v, s.emit(ctx, tx, typ, v.GetName(), data(v), a)
	}
}

func subData(v *financev1.Subscription) proto.Message {
	return &financev1.Subscription{Name: v.GetName(), State: v.GetState(), Subscriber: v.GetSubscriber()}
}

func sponsorshipData(v *financev1.Sponsorship) proto.Message {
	return &financev1.Sponsorship{Name: v.GetName(), State: v.GetState(), Organisation: v.GetOrganisation()}
}

// subAudience is who reads a subscription: the books and its subscriber.
func subAudience(v *financev1.Subscription) events.Audience { return books.With(v.GetSubscriber()) }

// emitTransition announces a subscription's or sponsorship's move (the
// lifecycle hook). Expenses announce their steps with their history
// (expenseEvent), which knows the approvals.
func (s *Server) emitTransition(ctx context.Context, tx pgx.Tx, c lifecycle.Change) error {
	data := events.TransitionData(c.Name, c.From, c.To)
	switch c.Kind {
	case "subscription":
		sub, err := scanSub(s.q.GetSubscription(ctx, tx, resource.ID(subscriptions, c.Name)))
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, events.SubscriptionStateChanged, c.Name, data, subAudience(sub))
	case "sponsorship":
		return s.emit(ctx, tx, events.SponsorshipStateChanged, c.Name, data, events.Public())
	}
	return nil
}
