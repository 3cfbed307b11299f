package finance

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
)

const (
	tiers         = "tiers"
	subscriptions = "subscriptions"
	sponsorships  = "sponsorships"
)

func interval(s string) financev1.Interval {
	return financev1.Interval(pgenum.Number(financev1.Interval_INTERVAL_UNSPECIFIED.Descriptor(), s))
}

// advance moves a due date on by one interval.
func advance(d time.Time, iv string) time.Time {
	if iv == "year" {
		return d.AddDate(1, 0, 0)
	}
	return d.AddDate(0, 1, 0)
}

const tierColumns = `id, display_name, description, currency_code, amount, interval, create_time`

func scanTier(row pgx.Row) (*financev1.Tier, error) {
	var id, cur, iv string
	var amt int64
	var created time.Time
	t := &financev1.Tier{}
	if err := row.Scan(&id, &t.DisplayName, &t.Description, &cur, &amt, &iv, &created); err != nil {
		return nil, err
	}
	t.Name, t.Amount, t.Interval, t.CreateTime = resource.Name(tiers, id), mon(cur, amt), interval(iv), ts(created)
	return t, nil
}

// CreateTier adds a tier under a chosen id.
func (s *Server) CreateTier(ctx context.Context, req *financev1.CreateTierRequest) (*financev1.Tier, error) {
	t := req.GetTier()
	if err := resource.Required("tier", map[string]bool{"display_name": t.GetDisplayName() != "", "amount": t.GetAmount() != nil,
		"interval": t.GetInterval() != financev1.Interval_INTERVAL_UNSPECIFIED}); err != nil {
		return nil, err
	}
	if err := checkAmount("tier.amount", t.GetAmount(), false); err != nil {
		return nil, err
	}
	return resource.Create(ctx, s.db, resource.Name(tiers, req.GetTierId()), req.GetRequestId(), "CreateTier", req, func(tx pgx.Tx) (*financev1.Tier, error) {
		return scanTier(tx.QueryRow(ctx, `INSERT INTO tiers (id, display_name, description, currency_code, amount, interval, create_time)
			VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING `+tierColumns, req.GetTierId(), t.GetDisplayName(), t.GetDescription(),
			t.GetAmount().GetCurrencyCode(), t.GetAmount().GetMinorUnits(), pgenum.Text(t.GetInterval()), s.now()))
	})
}

// GetTier implements AIP-131.
func (s *Server) GetTier(ctx context.Context, req *financev1.GetTierRequest) (*financev1.Tier, error) {
	t, err := scanTier(s.db.QueryRow(ctx, `SELECT `+tierColumns+` FROM tiers WHERE id = $1`, resource.ID(tiers, req.GetName())))
	return t, resource.NotFoundIfNoRows(err, req.GetName())
}

// ListTiers lists tiers by id.
func (s *Server) ListTiers(ctx context.Context, req *financev1.ListTiersRequest) (*financev1.ListTiersResponse, error) {
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(tiers))
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+tierColumns+` FROM tiers WHERE id > $1 ORDER BY id LIMIT $2`, page.After(), page.Limit())
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*financev1.Tier, error) { return scanTier(r) })
	if err != nil {
		return nil, err
	}
	resp := &financev1.ListTiersResponse{}
	resp.Tiers, resp.NextPageToken = pagination.Finish(page, list, func(t *financev1.Tier) string { return resource.ID(tiers, t.Name) })
	return resp, nil
}

const subColumns = `id::text, coalesce(tier_id, ''), subscriber, subscriber_name, currency_code, amount, interval, state, next_due_date, payment_count, create_time, update_time`

func scanSub(row pgx.Row) (*financev1.Subscription, error) {
	var id, tier, cur, iv, state string
	var amt int64
	var due, created, updated time.Time
	sb := &financev1.Subscription{}
	if err := row.Scan(&id, &tier, &sb.Subscriber, &sb.SubscriberName, &cur, &amt, &iv, &state, &due, &sb.PaymentCount, &created, &updated); err != nil {
		return nil, err
	}
	sb.Name, sb.Amount, sb.Interval = resource.Name(subscriptions, id), mon(cur, amt), interval(iv)
	if tier != "" {
		sb.Tier = resource.Name(tiers, tier)
	}
	sb.State = financev1.Subscription_State(pgenum.Number(financev1.Subscription_STATE_UNSPECIFIED.Descriptor(), state))
	sb.NextDueDate, sb.CreateTime, sb.UpdateTime = due.Format(dateLayout), ts(created), ts(updated)
	return sb, nil
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
	due, err := parseDate("subscription.next_due_date", sb.GetNextDueDate(), today(s.now()))
	if err != nil {
		return nil, err
	}
	if err := s.checkPerson(ctx, "subscription.subscriber", sb.GetSubscriber()); err != nil {
		return nil, err
	}
	return doTx(ctx, s, req.GetRequestId(), "CreateSubscription", req, func(tx pgx.Tx) (*financev1.Subscription, error) {
		var tier *string
		if sb.GetTier() != "" {
			t := resource.ID(tiers, sb.GetTier())
			tier = &t
		}
		out, err := scanSub(tx.QueryRow(ctx, `INSERT INTO subscriptions (id, tier_id, subscriber, subscriber_name, currency_code, amount, interval, state, next_due_date, create_time, update_time)
			VALUES ($1,$2,$3,$4,$5,$6,$7,'active',$8,$9,$9) RETURNING `+subColumns, resource.NewID(), tier, sb.GetSubscriber(), sb.GetSubscriberName(),
			sb.GetAmount().GetCurrencyCode(), sb.GetAmount().GetMinorUnits(), pgenum.Text(sb.GetInterval()), due, s.now()))
		if resource.IsForeignKeyViolation(err) {
			return nil, apierr.InvalidField("subscription.tier", "no such tier: "+sb.GetTier())
		}
		return out, err
	})
}

// GetSubscription implements AIP-131.
func (s *Server) GetSubscription(ctx context.Context, req *financev1.GetSubscriptionRequest) (*financev1.Subscription, error) {
	sb, err := scanSub(s.db.QueryRow(ctx, `SELECT `+subColumns+` FROM subscriptions WHERE id = $1`, resource.ID(subscriptions, req.GetName())))
	return sb, resource.NotFoundIfNoRows(err, req.GetName())
}

// ListSubscriptions lists subscriptions oldest first; overdue=true keeps
// ACTIVE ones due before today (by the service clock).
func (s *Server) ListSubscriptions(ctx context.Context, req *financev1.ListSubscriptionsRequest) (*financev1.ListSubscriptionsResponse, error) {
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(subscriptions, strconvBool(req.GetOverdue())))
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+subColumns+` FROM subscriptions WHERE id::text > $1
		AND (NOT $3 OR (state = 'active' AND next_due_date < $4)) ORDER BY id LIMIT $2`, page.After(), page.Limit(), req.GetOverdue(), today(s.now()))
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*financev1.Subscription, error) { return scanSub(r) })
	if err != nil {
		return nil, err
	}
	resp := &financev1.ListSubscriptionsResponse{}
	resp.Subscriptions, resp.NextPageToken = pagination.Finish(page, list, func(x *financev1.Subscription) string { return resource.ID(subscriptions, x.Name) })
	return resp, nil
}

func strconvBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (s *Server) subState(ctx context.Context, name string, from []string, to string) (*financev1.Subscription, error) {
	var out *financev1.Subscription
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		out, err = scanSub(tx.QueryRow(ctx, `UPDATE subscriptions SET state = $2, update_time = $4 WHERE id = $1 AND state = ANY($3)
			RETURNING `+subColumns, resource.ID(subscriptions, name), to, from, s.now()))
		if err == pgx.ErrNoRows {
			if _, gerr := s.GetSubscription(ctx, &financev1.GetSubscriptionRequest{Name: name}); gerr != nil {
				return gerr
			}
			return apierr.FailedPrecondition("ILLEGAL_TRANSITION", name+" cannot become "+to+" from its current state")
		}
		return err
	})
	return out, err
}

// PauseSubscription pauses an ACTIVE subscription.
func (s *Server) PauseSubscription(ctx context.Context, req *financev1.PauseSubscriptionRequest) (*financev1.Subscription, error) {
	return s.subState(ctx, req.GetName(), []string{"active"}, "paused")
}

// ResumeSubscription resumes a PAUSED subscription.
func (s *Server) ResumeSubscription(ctx context.Context, req *financev1.ResumeSubscriptionRequest) (*financev1.Subscription, error) {
	return s.subState(ctx, req.GetName(), []string{"paused"}, "active")
}

// CancelSubscription ends a subscription.
func (s *Server) CancelSubscription(ctx context.Context, req *financev1.CancelSubscriptionRequest) (*financev1.Subscription, error) {
	return s.subState(ctx, req.GetName(), []string{"active", "paused"}, "cancelled")
}

// RecordSubscriptionPayment posts one interval's payment and moves the due
// date on, once per request_id.
func (s *Server) RecordSubscriptionPayment(ctx context.Context, req *financev1.RecordSubscriptionPaymentRequest) (*financev1.Subscription, error) {
	deposit := resource.ID(accounts, req.GetDepositAccount())
	if deposit == "" {
		deposit = "bank"
	}
	return doTx(ctx, s, req.GetRequestId(), "RecordSubscriptionPayment", req, func(tx pgx.Tx) (*financev1.Subscription, error) {
		id := resource.ID(subscriptions, req.GetName())
		sb, err := scanSub(tx.QueryRow(ctx, `SELECT `+subColumns+` FROM subscriptions WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return nil, resource.NotFoundIfNoRows(err, req.GetName())
		}
		if sb.GetState() == financev1.Subscription_STATE_CANCELLED {
			return nil, apierr.FailedPrecondition("ILLEGAL_TRANSITION", req.GetName()+" is cancelled")
		}
		cur, amt := sb.GetAmount().GetCurrencyCode(), sb.GetAmount().GetMinorUnits()
		t, err := s.post(ctx, tx, entry{description: "Subscription payment " + req.GetName(), when: timeOr(req.GetReceiveTime(), s.now()),
			source: "subscription", creator: auth.From(ctx).GetPerson(), lines: []line{
				{account: deposit, currency: cur, amount: amt, field: "deposit_account"},
				{account: "subscriptions", currency: cur, amount: -amt, field: "name"},
			}})
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO payments (transaction_id, subscription_id) VALUES ($1, $2)`, t, id); err != nil {
			return nil, err
		}
		due, _ := time.Parse(dateLayout, sb.GetNextDueDate())
		iv := pgenum.Text(sb.GetInterval())
		return scanSub(tx.QueryRow(ctx, `UPDATE subscriptions SET next_due_date = $2, payment_count = payment_count + 1, update_time = $3
			WHERE id = $1 RETURNING `+subColumns, id, advance(due, iv), s.now()))
	})
}

// GetRecurringRevenue reports MRR per currency over ACTIVE subscriptions:
// monthly amounts plus the sum of yearly amounts divided by 12, rounded down.
func (s *Server) GetRecurringRevenue(ctx context.Context, _ *financev1.GetRecurringRevenueRequest) (*financev1.GetRecurringRevenueResponse, error) {
	rows, err := s.db.Query(ctx, `SELECT currency_code,
		(coalesce(sum(amount) FILTER (WHERE interval = 'month'), 0) + div(coalesce(sum(amount) FILTER (WHERE interval = 'year'), 0), 12))::bigint,
		count(*)::int FROM subscriptions WHERE state = 'active' GROUP BY currency_code ORDER BY currency_code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	resp := &financev1.GetRecurringRevenueResponse{}
	for rows.Next() {
		var cur string
		var mrr int64
		var n int32
		if err := rows.Scan(&cur, &mrr, &n); err != nil {
			return nil, err
		}
		resp.Currencies = append(resp.Currencies, &financev1.RecurringRevenue{Mrr: mon(cur, mrr), ActiveSubscriptions: n})
	}
	return resp, rows.Err()
}
