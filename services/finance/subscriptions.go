package finance

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/types/known/timestamppb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/money"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

const subscriptions = "subscriptions"

func interval(s string) financev1.Interval {
	return financev1.Interval(pgenum.Number(financev1.Interval_INTERVAL_UNSPECIFIED.Descriptor(), s))
}

func subFromRow(r store.Subscription) *financev1.Subscription {
	sb := &financev1.Subscription{Name: resource.Name(subscriptions, r.ID), Subscriber: r.Subscriber, SubscriberName: r.SubscriberName,
		Amount: mon(r.CurrencyCode, r.Amount), Interval: interval(r.Interval), PaymentCount: r.PaymentCount,
		NextDueDate: r.NextDueDate.Format(convert.DateLayout), CreateTime: timestamppb.New(r.CreateTime), UpdateTime: timestamppb.New(r.UpdateTime)}
	if r.TierID.Valid && r.TierID.String != "" {
		sb.Tier = resource.Name(tiers, r.TierID.String)
	}
	sb.State = subscriptionState(r.State)
	return sb
}

// scanSub converts a subscription row, passing its error on.
func scanSub(r store.Subscription, err error) (*financev1.Subscription, error) {
	if err != nil {
		return nil, err
	}
	return subFromRow(r), nil
}

// CreateSubscription records recurring support; it starts ACTIVE.
func (s *Server) CreateSubscription(ctx context.Context, req *financev1.CreateSubscriptionRequest) (*financev1.Subscription, error) {
	sb := req.GetSubscription()
	if err := resource.Required("subscription", map[string]bool{"amount": sb.GetAmount() != nil,
		"interval":   sb.GetInterval() != financev1.Interval_INTERVAL_UNSPECIFIED,
		"subscriber": sb.GetSubscriber() != "" || sb.GetSubscriberName() != ""}); err != nil {
		return nil, err
	}
	if err := checkAmount("subscription.amount", sb.GetAmount(), false); err != nil {
		return nil, err
	}
	due, err := convert.ParseDateOr("subscription.next_due_date", sb.GetNextDueDate(), today(s.now()))
	if err != nil {
		return nil, err
	}
	if err := s.members.Person(ctx, "subscription.subscriber", sb.GetSubscriber()); err != nil {
		return nil, err
	}
	return doTx(ctx, s, req.GetRequestId(), "CreateSubscription", req, func(tx pgx.Tx) (*financev1.Subscription, error) {
		var tier pgtype.Text
		if sb.GetTier() != "" {
			tier = pgtype.Text{String: resource.ID(tiers, sb.GetTier()), Valid: true}
		}
		out, err := scanSub(s.q.CreateSubscription(ctx, tx, store.CreateSubscriptionParams{ID: resource.NewID(), TierID: tier,
			Subscriber: sb.GetSubscriber(), SubscriberName: sb.GetSubscriberName(), CurrencyCode: sb.GetAmount().GetCurrencyCode(),
			Amount: sb.GetAmount().GetMinorUnits(), Interval: pgenum.Text(sb.GetInterval()), NextDueDate: due, Now: s.now()}))
		if resource.IsForeignKeyViolation(err) {
			return nil, apierr.InvalidField("subscription.tier", "no such tier: "+sb.GetTier())
		}
		if err != nil {
			return nil, err
		}
		if err := lifecycle.Created(ctx, tx, subscriptionHistory, resource.ID(subscriptions, out.GetName()), out.GetState(), s.now(), "created"); err != nil {
			return nil, err
		}
		if err := s.emit(ctx, tx, events.SubscriptionCreated, out.GetName(), subData(out), subAudience(out)); err != nil {
			return nil, err
		}
		if err := s.checkRecurringTotal(ctx, tx, out.GetAmount().GetCurrencyCode()); err != nil {
			return nil, err
		}
		return out, lifecycle.Fill(ctx, tx, subscriptionHistory, out)
	})
}

// checkRecurringTotal refuses a write that takes the currency's active
// subscriptions past money.MaxTotal (so MRR stays exact). It runs after the
// write, in its transaction, holding a lock per currency, so concurrent
// writers see each other's committed rows.
func (s *Server) checkRecurringTotal(ctx context.Context, tx pgx.Tx, currency string) error {
	if err := s.q.LockRecurringTotal(ctx, tx, currency); err != nil {
		return err
	}
	over, err := s.q.RecurringTotalExceeds(ctx, tx, store.RecurringTotalExceedsParams{Bound: money.MaxTotal, CurrencyCode: currency})
	if err != nil {
		return err
	}
	if over {
		return apierr.AmountOutOfRange("active subscriptions in " + currency + " would sum to more than 10^18 minor units")
	}
	return nil
}

// GetSubscription implements AIP-131.
func (s *Server) GetSubscription(ctx context.Context, req *financev1.GetSubscriptionRequest) (*financev1.Subscription, error) {
	sb, err := scanSub(s.q.GetSubscription(ctx, s.db, resource.ID(subscriptions, req.GetName())))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return sb, lifecycle.Fill(ctx, s.db, subscriptionHistory, sb)
}

// ListSubscriptions lists subscriptions oldest first; overdue=true keeps
// ACTIVE ones due before today (by the service clock).
func (s *Server) ListSubscriptions(ctx context.Context, req *financev1.ListSubscriptionsRequest) (*financev1.ListSubscriptionsResponse, error) {
	resp := &financev1.ListSubscriptionsResponse{}
	var err error
	resp.Subscriptions, resp.NextPageToken, err = pagination.ListUUID(req.GetPageToken(), req.GetPageSize(),
		pagination.Fingerprint(subscriptions, strconvBool(req.GetOverdue())),
		func(after string, limit int32) ([]store.Subscription, error) {
			return s.q.ListSubscriptions(ctx, s.db, store.ListSubscriptionsParams{After: after, PageSize: limit,
				Overdue: req.GetOverdue(), Today: today(s.now())})
		},
		func(r store.Subscription) string { return r.ID }, subFromRow)
	if err != nil {
		return nil, err
	}
	return resp, lifecycle.Fill(ctx, s.db, subscriptionHistory, resp.Subscriptions...)
}

func strconvBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// subscriptionHistory keeps every subscription's creation and moves, with
// who made each and when (migration 00011).
var subscriptionHistory = lifecycle.History{Collection: subscriptions, Table: "subscription_transitions", Key: "subscription_id"}

// subscriptionMoves are a subscription's moves: paused and resumed, and
// cancelled for good.
var subscriptionMoves = lifecycle.New("subscription", map[financev1.Subscription_State][]financev1.Subscription_State{
	financev1.Subscription_STATE_ACTIVE: {financev1.Subscription_STATE_PAUSED, financev1.Subscription_STATE_CANCELLED},
	financev1.Subscription_STATE_PAUSED: {financev1.Subscription_STATE_ACTIVE, financev1.Subscription_STATE_CANCELLED},
})

func subscriptionState(s string) financev1.Subscription_State {
	return financev1.Subscription_State(pgenum.Number(financev1.Subscription_STATE_UNSPECIFIED.Descriptor(), s))
}

// subState moves subscription name to state to; a subscription resumed
// must keep the currency's recurring total in range (checkRecurringTotal).
func (s *Server) subState(ctx context.Context, name string, to financev1.Subscription_State) (*financev1.Subscription, error) {
	id := resource.ID(subscriptions, name)
	var out *financev1.Subscription
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		row, _, err := lifecycle.Transition(ctx, tx, lifecycle.Spec[financev1.Subscription_State, store.Subscription]{
			Machine: subscriptionMoves, Name: name, To: to, Now: s.now(),
			Lock: func(tx pgx.Tx) (store.Subscription, error) { return s.q.GetSubscriptionForUpdate(ctx, tx, id) },
			Of: func(r store.Subscription) (financev1.Subscription_State, string) {
				return subscriptionState(r.State), ""
			},
			Apply: func(tx pgx.Tx, r store.Subscription, m lifecycle.Move[financev1.Subscription_State]) (store.Subscription, error) {
				return s.q.SetSubscriptionState(ctx, tx, store.SetSubscriptionStateParams{ID: id, State: pgenum.Text(m.To),
					FromStates: []string{r.State}, UpdateTime: m.Time})
			},
			Record: lifecycle.Record[financev1.Subscription_State](ctx, subscriptionHistory, id),
			After:  s.transitioned,
		})
		if err != nil {
			return err
		}
		out = subFromRow(row)
		if to == financev1.Subscription_STATE_ACTIVE {
			if err := s.checkRecurringTotal(ctx, tx, out.GetAmount().GetCurrencyCode()); err != nil {
				return err
			}
		}
		if err := s.acted(ctx, tx); err != nil {
			return err
		}
		return lifecycle.Fill(ctx, tx, subscriptionHistory, out)
	})
	return out, err
}

// PauseSubscription pauses an ACTIVE subscription.
func (s *Server) PauseSubscription(ctx context.Context, req *financev1.PauseSubscriptionRequest) (*financev1.Subscription, error) {
	return s.subState(ctx, req.GetName(), financev1.Subscription_STATE_PAUSED)
}

// ResumeSubscription resumes a PAUSED subscription.
func (s *Server) ResumeSubscription(ctx context.Context, req *financev1.ResumeSubscriptionRequest) (*financev1.Subscription, error) {
	return s.subState(ctx, req.GetName(), financev1.Subscription_STATE_ACTIVE)
}

// CancelSubscription ends a subscription.
func (s *Server) CancelSubscription(ctx context.Context, req *financev1.CancelSubscriptionRequest) (*financev1.Subscription, error) {
	return s.subState(ctx, req.GetName(), financev1.Subscription_STATE_CANCELLED)
}

// RecordSubscriptionPayment posts one interval's payment and moves the due
// date on, once per request_id.
func (s *Server) RecordSubscriptionPayment(ctx context.Context, req *financev1.RecordSubscriptionPaymentRequest) (*financev1.Subscription, error) {
	const method = "RecordSubscriptionPayment"
	id := resource.ID(subscriptions, req.GetName())
	// A subscription's currency never changes, so the default accounts for
	// it are resolved before the transaction (defaults.go).
	pre, err := s.q.GetSubscriptionForPayment(ctx, s.db, id)
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	read := subFromRow(pre.Subscription)
	deposit, income, err := s.paymentAccounts(ctx, req.GetDepositAccount(), "subscriptions", read.GetAmount().GetCurrencyCode(), "subscription payments")
	if err != nil {
		return nil, err
	}
	payment := func(sb *financev1.Subscription, when time.Time) entry {
		cur, amt := sb.GetAmount().GetCurrencyCode(), sb.GetAmount().GetMinorUnits()
		return entry{description: "Subscription payment " + req.GetName(), when: timeOr(req.GetReceiveTime(), when),
			source: "subscription", creator: auth.From(ctx).GetPerson(), lines: []line{
				{account: deposit, currency: cur, amount: amt, field: "deposit_account"},
				{account: income, currency: cur, amount: -amt, field: "name"},
			}}
	}
	event := func(out *financev1.Subscription) events.Event {
		return events.Event{Type: events.SubscriptionPaymentRecorded, Subject: out.GetName(),
			Data: &financev1.Subscription{Name: out.GetName(), Subscriber: out.GetSubscriber(), NextDueDate: out.GetNextDueDate()}, Audience: subAudience(out)}
	}
	// locked pays under the subscription's row lock, from the row as it is.
	locked := once(s, req.GetRequestId(), method, req, func(tx pgx.Tx) (*financev1.Subscription, error) {
		sb, err := scanSub(s.q.GetSubscriptionForUpdate(ctx, tx, id))
		if err != nil {
			return nil, resource.NotFoundIfNoRows(err, req.GetName())
		}
		if err := subscriptionPayable(req.GetName(), sb); err != nil {
			return nil, err
		}
		t, err := s.post(ctx, tx, payment(sb, s.now()))
		if err != nil {
			return nil, err
		}
		if err := s.q.CreateSubscriptionPayment(ctx, tx, store.CreateSubscriptionPaymentParams{TransactionID: t, SubscriptionID: &id}); err != nil {
			return nil, err
		}
		out, err := scanSub(s.q.AdvanceSubscription(ctx, tx, store.AdvanceSubscriptionParams{ID: id, UpdateTime: s.now()}))
		if err != nil {
			return nil, err
		}
		ev := event(out)
		if err := s.emit(ctx, tx, ev.Type, ev.Subject, ev.Data, ev.Audience); err != nil {
			return nil, err
		}
		return out, lifecycle.Fill(ctx, tx, subscriptionHistory, out)
	})
	if subscriptionPayable(req.GetName(), read) != nil {
		// Its errors (or a retry's first answer) come from the locked path.
		return doWrite(ctx, s, nil, locked)
	}
	// Otherwise the payment, the subscription it moves on and the reply are
	// computed from the row as read (writePayment).
	return writePayment(ctx, s, req, req.GetRequestId(), method, &paidRow{subscription: id, version: pre.Version, nextDue: pre.FollowingDueDate},
		func(now time.Time) entry { return payment(read, now) },
		func(_ string, now time.Time) (*financev1.Subscription, events.Event, error) {
			out := read
			out.PaymentCount++
			out.NextDueDate = pre.FollowingDueDate.Format(convert.DateLayout)
			out.UpdateTime = timestamppb.New(now)
			return out, event(out), lifecycle.FillFrom(out, pre.History)
		}, locked)
}

// subscriptionPayable refuses a payment of subscription sb, named name, that has been
// cancelled, or whose next due date would pass 9999-12-31.
func subscriptionPayable(name string, sb *financev1.Subscription) error {
	if subscriptionMoves.Final(sb.GetState()) {
		return apierr.FailedPrecondition(typev1.ErrorReason_ILLEGAL_TRANSITION, name+" is cancelled")
	}
	// Due dates are YYYY-MM-DD: the last period a schedule can cover
	// ends on 9999-12-31.
	if due, _ := time.Parse(convert.DateLayout, sb.GetNextDueDate()); due.Year() >= 9999 &&
		(sb.GetInterval() == financev1.Interval_INTERVAL_YEAR || due.Month() == time.December) {
		return apierr.FailedPrecondition(typev1.ErrorReason_DATE_OUT_OF_RANGE, name+" is due "+sb.GetNextDueDate()+"; a payment would move it past 9999-12-31")
	}
	return nil
}

// GetRecurringRevenue reports MRR per currency over ACTIVE subscriptions:
// monthly amounts plus the sum of yearly amounts divided by 12, rounded down.
func (s *Server) GetRecurringRevenue(ctx context.Context, _ *financev1.GetRecurringRevenueRequest) (*financev1.GetRecurringRevenueResponse, error) {
	rows, err := s.q.RecurringRevenue(ctx, s.db)
	if err != nil {
		return nil, err
	}
	resp := &financev1.GetRecurringRevenueResponse{}
	for _, r := range rows {
		resp.Currencies = append(resp.Currencies, &financev1.RecurringRevenue{Mrr: mon(r.CurrencyCode, r.Mrr), ActiveSubscriptions: r.Active})
	}
	return resp, nil
}
