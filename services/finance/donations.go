package finance

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

const donations = "donations"

// readPrivate is the permission that lifts donor privacy.
const readPrivate = "finance.read_private"

// depositByChannel is where money arriving by each channel is deposited
// unless the request names an account.
var depositByChannel = map[financev1.Donation_Channel]string{
	financev1.Donation_CHANNEL_PAYPAL: "paypal",
	financev1.Donation_CHANNEL_BANK:   "bank",
	financev1.Donation_CHANNEL_CASH:   "cash",
	financev1.Donation_CHANNEL_CARD:   "bank",
}

// checkPerson makes sure `people/{id}` exists, asking membership.
func (s *Server) checkPerson(ctx context.Context, field, name string) error {
	if name == "" || s.opts.Membership == nil {
		return nil
	}
	_, err := s.opts.Membership.GetPerson(ctx, &membershipv1.GetPersonRequest{Name: name})
	if status.Code(err) == codes.NotFound {
		return apierr.InvalidField(field, "no such person: "+name)
	}
	if err != nil {
		return apierr.Unavailable("cannot check " + name + " with membership; retry")
	}
	return nil
}

// CreateDonation records a gift and posts debit deposit / credit income (or
// the goal's fund) in the same transaction.
func (s *Server) CreateDonation(ctx context.Context, req *financev1.CreateDonationRequest) (*financev1.Donation, error) {
	d := req.GetDonation()
	if err := resource.Required("donation", map[string]bool{
		"amount":  d.GetAmount() != nil,
		"channel": d.GetChannel() != financev1.Donation_CHANNEL_UNSPECIFIED,
		"donor":   d.GetDonor() != "" || d.GetDonorName() != "",
	}); err != nil {
		return nil, err
	}
	if err := checkAmount("donation.amount", d.GetAmount(), true); err != nil {
		return nil, err
	}
	inKind := d.GetChannel() == financev1.Donation_CHANNEL_IN_KIND || d.GetAmount().GetMinorUnits() == 0
	if inKind && d.GetDescription() == "" {
		return nil, apierr.InvalidField("donation.description", "in-kind and zero contributions need a description of what was given")
	}
	deposit := resource.ID(accounts, d.GetDepositAccount())
	if deposit == "" {
		deposit = depositByChannel[d.GetChannel()]
	}
	if !inKind && deposit == "" {
		return nil, apierr.InvalidField("donation.deposit_account", "value is required for this channel")
	}
	if err := s.checkPerson(ctx, "donation.donor", d.GetDonor()); err != nil {
		return nil, err
	}
	visibility := d.GetVisibility()
	if visibility == financev1.Donation_VISIBILITY_UNSPECIFIED {
		visibility = financev1.Donation_VISIBILITY_PRIVATE
	}
	income := "donations"
	var goalID pgtype.Text
	if d.GetGoal() != "" {
		// A goal's fund account and currency never change once created.
		g := resource.ID(goals, d.GetGoal())
		goal, err := s.q.GetGoal(ctx, s.db, g)
		if err == pgx.ErrNoRows {
			return nil, apierr.InvalidField("donation.goal", "no such goal: "+d.GetGoal())
		}
		if err != nil {
			return nil, err
		}
		if err := inCurrency("donation.amount", d.GetAmount(), goal.CurrencyCode, "the goal is in "); err != nil {
			return nil, err
		}
		goalID = pgtype.Text{String: g, Valid: true}
		if goal.FundAccount.Valid {
			income = goal.FundAccount.String
		}
	}
	// Everything the reply holds is known before the write (ids, times at
	// the database's microsecond precision), so the idempotency key with its
	// response, the entry, its postings, the donation and the activity report
	// go in as one statement: one round trip and one commit per donation.
	recorder := auth.From(ctx).GetPerson()
	now := s.now().Truncate(time.Microsecond)
	when := timeOr(d.GetReceiveTime(), now).Truncate(time.Microsecond)
	cur, amt := d.GetAmount().GetCurrencyCode(), d.GetAmount().GetMinorUnits()
	id := resource.NewID()
	out := &financev1.Donation{
		Name: resource.Name(donations, id), Amount: mon(cur, amt), Donor: d.GetDonor(), DonorName: d.GetDonorName(),
		DonorEmail: d.GetDonorEmail(), Visibility: visibility, Channel: d.GetChannel(), ExternalReference: d.GetExternalReference(),
		Goal: d.GetGoal(), Description: d.GetDescription(), ReceiveTime: ts(when), Recorder: recorder, CreateTime: ts(now),
	}
	posting := entry{}.params("")
	var txID *string
	if !inKind {
		e := entry{description: "Donation " + out.Name, when: when, source: "donation", creator: recorder, lines: []line{
			{account: deposit, currency: cur, amount: amt, field: "donation.deposit_account"},
			{account: income, currency: cur, amount: -amt, field: "donation.goal"},
		}}
		if err := s.checkLines(ctx, s.db, e.lines); err != nil {
			return nil, err
		}
		t := resource.NewID()
		posting, txID = e.params(t), &t
		out.DepositAccount, out.Transaction = resource.Name(accounts, deposit), resource.Name(transactions, t)
	}
	var requestID *string
	var hash, resp, activityPayload []byte
	if req.GetRequestId() != "" {
		r := req.GetRequestId()
		requestID = &r
		var err error
		if hash, err = idempotency.Hash(req); err != nil {
			return nil, err
		}
		if resp, err = (proto.MarshalOptions{Deterministic: true}).Marshal(out); err != nil {
			return nil, err
		}
	}
	if d.GetDonor() != "" {
		var err error
		activityPayload, err = proto.Marshal(&membershipv1.Activity{EventId: uuid.NewString(), Person: d.GetDonor(), Kind: "finance.donation", Time: ts(now)})
		if err != nil {
			return nil, err
		}
	}
	deposited := ""
	if !inKind {
		deposited = deposit
	}
	wrote, err := s.q.RecordDonation(ctx, s.db, store.RecordDonationParams{
		RequestID: requestID, RequestHash: hash, Response: resp,
		TransactionID: txID, TxDescription: posting.Description, ReceiveTime: when, Recorder: recorder,
		Accounts: posting.Accounts, Currencies: posting.Currencies, Amounts: posting.Amounts,
		ID: id, CurrencyCode: cur, Amount: amt, Donor: d.GetDonor(), DonorName: d.GetDonorName(), DonorEmail: d.GetDonorEmail(),
		Visibility: pgenum.Text(visibility), Channel: pgenum.Text(d.GetChannel()), ExternalReference: d.GetExternalReference(),
		GoalID: goalID, Description: d.GetDescription(), DepositAccount: deposited, CreateTime: now,
		ActivityTopic: activity.Topic, ActivityPayload: activityPayload,
	})
	if err != nil {
		return nil, ledgerError(s, err)
	}
	if wrote == 0 {
		// The request id was used before: replay its response, or refuse a
		// different request (REQUEST_ID_REUSED).
		return doTx(ctx, s, req.GetRequestId(), "CreateDonation", req, func(pgx.Tx) (*financev1.Donation, error) {
			return nil, apierr.Unavailable("request id vanished while replaying; retry")
		})
	}
	return out, nil
}

// ledgerError maps the database's refusals of a single-statement write.
func ledgerError(s *Server, err error) error {
	var pe *pgconn.PgError
	switch {
	case resource.IsForeignKeyViolation(err):
		s.accounts.Clear()
		return apierr.FailedPrecondition("ACCOUNT_NOT_FOUND", "an account of the entry no longer exists; retry")
	case errors.As(err, &pe) && (pe.Code == "23514" || pe.Code == "23001"):
		return apierr.FailedPrecondition("LEDGER_RULE", "the ledger refused the entry: "+pe.Message)
	}
	return err
}

func donationFromRow(r store.Donation) *financev1.Donation {
	d := &financev1.Donation{Name: resource.Name(donations, r.ID), Amount: mon(r.CurrencyCode, r.Amount), Donor: r.Donor,
		DonorName: r.DonorName, DonorEmail: r.DonorEmail, ExternalReference: r.ExternalReference, Description: r.Description,
		Recorder: r.Recorder, ReceiveTime: ts(r.ReceiveTime), CreateTime: ts(r.CreateTime)}
	d.Visibility = financev1.Donation_Visibility(pgenum.Number(financev1.Donation_VISIBILITY_UNSPECIFIED.Descriptor(), r.Visibility))
	d.Channel = financev1.Donation_Channel(pgenum.Number(financev1.Donation_CHANNEL_UNSPECIFIED.Descriptor(), r.Channel))
	if r.GoalID.Valid && r.GoalID.String != "" {
		d.Goal = resource.Name(goals, r.GoalID.String)
	}
	if r.DepositAccount != "" {
		d.DepositAccount = resource.Name(accounts, r.DepositAccount)
	}
	if r.TransactionID != nil {
		d.Transaction = resource.Name(transactions, *r.TransactionID)
	}
	return d
}

// redactDonation applies the donor's visibility for callers without
// finance.read_private who are not the donor: ANONYMOUS hides the donor,
// PRIVATE hides donor and amount; emails and ledger links are never public.
func redactDonation(p *auth.Principal, d *financev1.Donation) *financev1.Donation {
	if auth.Has(p, readPrivate) || (p.GetPerson() != "" && p.GetPerson() == d.GetDonor()) {
		return d
	}
	d.DonorEmail, d.Recorder, d.Transaction, d.ExternalReference = "", "", "", ""
	switch d.GetVisibility() {
	case financev1.Donation_VISIBILITY_PUBLIC:
	case financev1.Donation_VISIBILITY_ANONYMOUS:
		d.Donor, d.DonorName = "", ""
	default:
		d.Donor, d.DonorName, d.Amount, d.Description = "", "", nil, ""
	}
	return d
}

// GetDonation implements AIP-131, redacted as the donor allowed.
func (s *Server) GetDonation(ctx context.Context, req *financev1.GetDonationRequest) (*financev1.Donation, error) {
	row, err := s.q.GetDonation(ctx, s.db, resource.ID(donations, req.GetName()))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return redactDonation(auth.From(ctx), donationFromRow(row)), nil
}

// ListDonations lists donations oldest first, redacted as each donor allowed.
func (s *Server) ListDonations(ctx context.Context, req *financev1.ListDonationsRequest) (*financev1.ListDonationsResponse, error) {
	p := auth.From(ctx)
	resp := &financev1.ListDonationsResponse{}
	var err error
	resp.Donations, resp.NextPageToken, err = pagination.List(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(donations),
		func(after string, limit int32) ([]store.Donation, error) {
			return s.q.ListDonations(ctx, s.db, store.ListDonationsParams{After: after, PageSize: limit})
		},
		func(r store.Donation) string { return r.ID },
		func(r store.Donation) *financev1.Donation { return redactDonation(p, donationFromRow(r)) })
	return resp, err
}
