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

const spColumns = `id::text, organisation, package, kind, currency_code, amount, period, start_date, end_date, state, paid, create_time`

func scanSponsorship(row pgx.Row) (*financev1.Sponsorship, error) {
	var id, kind, cur, period, state string
	var amt, paid int64
	var start time.Time
	var end *time.Time
	var created time.Time
	sp := &financev1.Sponsorship{}
	if err := row.Scan(&id, &sp.Organisation, &sp.Package, &kind, &cur, &amt, &period, &start, &end, &state, &paid, &created); err != nil {
		return nil, err
	}
	sp.Name, sp.Amount, sp.Paid, sp.Period = resource.Name(sponsorships, id), mon(cur, amt), mon(cur, paid), interval(period)
	sp.Kind = financev1.Sponsorship_Kind(pgenum.Number(financev1.Sponsorship_KIND_UNSPECIFIED.Descriptor(), kind))
	sp.State = financev1.Sponsorship_State(pgenum.Number(financev1.Sponsorship_STATE_UNSPECIFIED.Descriptor(), state))
	sp.StartDate, sp.CreateTime = start.Format(dateLayout), ts(created)
	if end != nil {
		sp.EndDate = end.Format(dateLayout)
	}
	return sp, nil
}

// CreateSponsorship records a deal; it starts PROPOSED.
func (s *Server) CreateSponsorship(ctx context.Context, req *financev1.CreateSponsorshipRequest) (*financev1.Sponsorship, error) {
	sp := req.GetSponsorship()
	if err := resource.Required("sponsorship", map[string]bool{"organisation": sp.GetOrganisation() != "", "amount": sp.GetAmount() != nil,
		"kind":   sp.GetKind() != financev1.Sponsorship_KIND_UNSPECIFIED,
		"period": sp.GetPeriod() != financev1.Interval_INTERVAL_UNSPECIFIED}); err != nil {
		return nil, err
	}
	if err := checkAmount("sponsorship.amount", sp.GetAmount(), false); err != nil {
		return nil, err
	}
	start, err := parseDate("sponsorship.start_date", sp.GetStartDate(), today(s.now()))
	if err != nil {
		return nil, err
	}
	var end *time.Time
	if sp.GetEndDate() != "" {
		e, err := parseDate("sponsorship.end_date", sp.GetEndDate(), time.Time{})
		if err != nil {
			return nil, err
		}
		if e.Before(start) {
			return nil, apierr.InvalidField("sponsorship.end_date", "must not be before start_date")
		}
		end = &e
	}
	return doTx(ctx, s, req.GetRequestId(), "CreateSponsorship", req, func(tx pgx.Tx) (*financev1.Sponsorship, error) {
		return scanSponsorship(tx.QueryRow(ctx, `INSERT INTO sponsorships (id, organisation, package, kind, currency_code, amount, period, start_date, end_date, state, create_time)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,'proposed',$10) RETURNING `+spColumns, resource.NewID(), sp.GetOrganisation(), sp.GetPackage(),
			pgenum.Text(sp.GetKind()), sp.GetAmount().GetCurrencyCode(), sp.GetAmount().GetMinorUnits(), pgenum.Text(sp.GetPeriod()), start, end, s.now()))
	})
}

// GetSponsorship implements AIP-131.
func (s *Server) GetSponsorship(ctx context.Context, req *financev1.GetSponsorshipRequest) (*financev1.Sponsorship, error) {
	sp, err := scanSponsorship(s.db.QueryRow(ctx, `SELECT `+spColumns+` FROM sponsorships WHERE id = $1`, resource.ID(sponsorships, req.GetName())))
	return sp, resource.NotFoundIfNoRows(err, req.GetName())
}

// ListSponsorships lists deals oldest first.
func (s *Server) ListSponsorships(ctx context.Context, req *financev1.ListSponsorshipsRequest) (*financev1.ListSponsorshipsResponse, error) {
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(sponsorships))
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+spColumns+` FROM sponsorships WHERE id::text > $1 ORDER BY id LIMIT $2`, page.After(), page.Limit())
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*financev1.Sponsorship, error) { return scanSponsorship(r) })
	if err != nil {
		return nil, err
	}
	resp := &financev1.ListSponsorshipsResponse{}
	resp.Sponsorships, resp.NextPageToken = pagination.Finish(page, list, func(x *financev1.Sponsorship) string { return resource.ID(sponsorships, x.Name) })
	return resp, nil
}

// RecordSponsorshipPayment posts one period's payment, once per request_id;
// the income account is accounts/sponsorship or accounts/advertising.
func (s *Server) RecordSponsorshipPayment(ctx context.Context, req *financev1.RecordSponsorshipPaymentRequest) (*financev1.Sponsorship, error) {
	deposit := resource.ID(accounts, req.GetDepositAccount())
	if deposit == "" {
		deposit = "bank"
	}
	return doTx(ctx, s, req.GetRequestId(), "RecordSponsorshipPayment", req, func(tx pgx.Tx) (*financev1.Sponsorship, error) {
		id := resource.ID(sponsorships, req.GetName())
		sp, err := scanSponsorship(tx.QueryRow(ctx, `SELECT `+spColumns+` FROM sponsorships WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return nil, resource.NotFoundIfNoRows(err, req.GetName())
		}
		if sp.GetState() == financev1.Sponsorship_STATE_ENDED {
			return nil, apierr.FailedPrecondition("ILLEGAL_TRANSITION", req.GetName()+" has ended")
		}
		source := pgenum.Text(sp.GetKind())
		cur, amt := sp.GetAmount().GetCurrencyCode(), sp.GetAmount().GetMinorUnits()
		t, err := s.post(ctx, tx, entry{description: "Payment for " + req.GetName() + " (" + sp.GetOrganisation() + ")",
			when: timeOr(req.GetReceiveTime(), s.now()), source: source, creator: auth.From(ctx).GetPerson(), lines: []line{
				{account: deposit, currency: cur, amount: amt, field: "deposit_account"},
				{account: source, currency: cur, amount: -amt, field: "name"},
			}})
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO payments (transaction_id, sponsorship_id) VALUES ($1, $2)`, t, id); err != nil {
			return nil, err
		}
		return scanSponsorship(tx.QueryRow(ctx, `UPDATE sponsorships SET state = 'active', paid = paid + $2 WHERE id = $1 RETURNING `+spColumns, id, amt))
	})
}

// EndSponsorship ends a deal.
func (s *Server) EndSponsorship(ctx context.Context, req *financev1.EndSponsorshipRequest) (*financev1.Sponsorship, error) {
	sp, err := scanSponsorship(s.db.QueryRow(ctx, `UPDATE sponsorships SET state = 'ended', end_date = coalesce(end_date, $2)
		WHERE id = $1 AND state <> 'ended' RETURNING `+spColumns, resource.ID(sponsorships, req.GetName()), today(s.now())))
	if err == pgx.ErrNoRows {
		if _, gerr := s.GetSponsorship(ctx, &financev1.GetSponsorshipRequest{Name: req.GetName()}); gerr != nil {
			return nil, gerr
		}
		return nil, apierr.FailedPrecondition("ILLEGAL_TRANSITION", req.GetName()+" has already ended")
	}
	return sp, err
}
