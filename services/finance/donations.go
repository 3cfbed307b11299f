package finance

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/outbox"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

const donations = "donations"

// depositByChannel is where money arriving by each channel is deposited
// unless the request names an account (per currency: see defaults.go).
var depositByChannel = map[financev1.Donation_Channel]string{
	financev1.Donation_CHANNEL_PAYPAL: "paypal",
	financev1.Donation_CHANNEL_BANK:   "bank",
	financev1.Donation_CHANNEL_CASH:   "cash",
	financev1.Donation_CHANNEL_CARD:   "bank",
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
	cur, amt := d.GetAmount().GetCurrencyCode(), d.GetAmount().GetMinorUnits()
	deposit := resource.ID(accounts, d.GetDepositAccount())
	if !inKind && deposit == "" {
		base := depositByChannel[d.GetChannel()]
		if base == "" {
			return nil, apierr.InvalidField("donation.deposit_account", "value is required for this channel")
		}
		var err error
		if deposit, err = s.resolveOn(ctx, assetDefault(base), cur, "donation.deposit_account", d.GetChannel().String()+" gifts", false); err != nil {
			return nil, err
		}
	}
	if err := s.members.Person(ctx, "donation.donor", d.GetDonor()); err != nil {
		return nil, err
	}
	visibility := d.GetVisibility()
	if visibility == financev1.Donation_VISIBILITY_UNSPECIFIED {
		visibility = financev1.Donation_VISIBILITY_PRIVATE
	}
	// Without a goal's fund, gifts are income of accounts/donations or its
	// account for the currency (defaults.go); the field to blame for a
	// mismatch is the one the caller sent.
	income, incomeField := "", "donation.amount.currency_code"
	var goalID string
	if d.GetGoal() != "" {
		// A goal's fund account and currency never change once created.
		g := resource.ID(goals, d.GetGoal())
		goal, err := s.q.GetGoal(ctx, s.db, g)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, apierr.InvalidField("donation.goal", "no such goal: "+d.GetGoal())
		}
		if err != nil {
			return nil, err
		}
		if err := inCurrency("donation.amount", d.GetAmount(), goal.CurrencyCode, "the goal is in "); err != nil {
			return nil, err
		}
		goalID = g
		if goal.FundAccount.Valid {
			income, incomeField = goal.FundAccount.String, "donation.goal"
		}
	}
	if income == "" && !inKind {
		// The deposit first: a refused gift creates no account.
		if err := s.checkLines(ctx, s.db, []line{{account: deposit, currency: cur, field: "donation.deposit_account"}}); err != nil {
			return nil, err
		}
		var err error
		if income, err = s.resolveOn(ctx, incomeDefault("donations"), cur, incomeField, "gifts without a goal fund", visibility == financev1.Donation_VISIBILITY_PRIVATE); err != nil {
			return nil, err
		}
	}
	// Everything the reply holds is known before the write (ids, times at
	// the database's microsecond precision), so the idempotency key with its
	// response, the entry, its postings, the donation and the activity report
	// go in as one statement, shared with concurrent donations (group commit).
	recorder := auth.From(ctx).GetPerson()
	now := s.now().Truncate(time.Microsecond)
	when := timeOr(d.GetReceiveTime(), now).Truncate(time.Microsecond)
	out := &financev1.Donation{
		Name: resource.Name(donations, resource.NewID()), Amount: mon(cur, amt), Donor: d.GetDonor(), DonorName: d.GetDonorName(),
		DonorEmail: d.GetDonorEmail(), Visibility: visibility, Channel: d.GetChannel(), ExternalReference: d.GetExternalReference(),
		Goal: d.GetGoal(), Description: d.GetDescription(), ReceiveTime: timestamppb.New(when), Recorder: recorder, CreateTime: timestamppb.New(now),
		State: financev1.Donation_STATE_RECEIVED,
	}
	w := donationWrite{donation: out, goalID: goalID, requestID: req.GetRequestId()}
	if !inKind {
		w.entry = entry{description: "Donation " + out.Name, when: when, source: "donation", creator: recorder, lines: []line{
			{account: deposit, currency: cur, amount: amt, field: "donation.deposit_account"},
			{account: income, currency: cur, amount: -amt, field: incomeField},
		}}
		if err := s.checkLines(ctx, s.db, w.entry.lines); err != nil {
			return nil, err
		}
		out.DepositAccount, out.Transaction = resource.Name(accounts, deposit), resource.Name(transactions, resource.NewID())
	}
	if w.requestID != "" {
		var err error
		if w.key, err = idempotency.NewKey(ctx, w.requestID, createDonation, req, out); err != nil {
			return nil, err
		}
	}
	// The donor gave and the recorder recorded: both are activity. Only a
	// PUBLIC gift is its donor's, though: every trace of activity is public
	// (last_active_time, drift state), and would name the donor of an
	// ANONYMOUS or PRIVATE gift by its time.
	donor := d.GetDonor()
	if visibility != financev1.Donation_VISIBILITY_PUBLIC {
		donor = ""
	}
	for _, a := range []struct{ person, kind string }{{donor, "finance.donation"}, {recorder, activity.Kind(ctx, "finance")}} {
		if a.person == "" {
			continue
		}
		m, err := activity.Message(a.person, a.kind, now)
		if err != nil {
			return nil, err
		}
		w.activity = append(w.activity, m)
	}
	ev, err := donationEvent(out)
	if err != nil {
		return nil, err
	}
	w.activity = append(w.activity, ev)
	wrote, err := s.donationWriter.Do(ctx, w)
	if err != nil {
		return nil, s.ledgerError(err)
	}
	if !wrote {
		// The request id was used before: replay its response, or refuse a
		// different request (REQUEST_ID_REUSED).
		return doTx(ctx, s, req.GetRequestId(), createDonation, req, func(pgx.Tx) (*financev1.Donation, error) {
			return nil, apierr.Unavailable("request id vanished while replaying; retry")
		})
	}
	return out, nil
}

// donationWrite is one donation, ready to be written.
type donationWrite struct {
	donation  *financev1.Donation // the reply; its names carry the new ids
	goalID    string              // goal id, or "" for none
	entry     entry               // no lines for in-kind gifts
	requestID string
	key       idempotency.Key  // when requestID is set
	activity  []outbox.Message // outbox rows: the donor's and the recorder's activity, and the event
}

// createDonation is the method name request ids of donations are kept under.
const createDonation = "CreateDonation"

// writeDonations records a batch of donations in one statement and reports,
// per donation, whether it was written (false: its request id was taken).
// A request id that one caller sends twice in the batch is written once; the later
// caller replays, as it would against an earlier batch.
func (s *Server) writeDonations(ctx context.Context, ws []donationWrite) ([]bool, error) {
	var p store.RecordDonationsParams
	rows := newStatementRows()
	for i, w := range ws {
		if _, ok := rows.add(i, w.requestID, w.key, w.entry.lines, w.activity); !ok {
			continue
		}
		d := w.donation
		p.Ids = append(p.Ids, resource.ID(donations, d.GetName()))
		p.TransactionIds = append(p.TransactionIds, resource.ID(transactions, d.GetTransaction()))
		p.TxDescriptions = append(p.TxDescriptions, w.entry.description)
		p.ReceiveTimes = append(p.ReceiveTimes, d.GetReceiveTime().AsTime())
		p.Recorders = append(p.Recorders, d.GetRecorder())
		p.CurrencyCodes = append(p.CurrencyCodes, d.GetAmount().GetCurrencyCode())
		p.Amounts = append(p.Amounts, d.GetAmount().GetMinorUnits())
		p.Donors = append(p.Donors, d.GetDonor())
		p.DonorNames = append(p.DonorNames, d.GetDonorName())
		p.DonorEmails = append(p.DonorEmails, d.GetDonorEmail())
		p.Visibilities = append(p.Visibilities, pgenum.Text(d.GetVisibility()))
		p.Channels = append(p.Channels, pgenum.Text(d.GetChannel()))
		p.ExternalReferences = append(p.ExternalReferences, d.GetExternalReference())
		p.GoalIds = append(p.GoalIds, w.goalID)
		p.Descriptions = append(p.Descriptions, d.GetDescription())
		p.DepositAccounts = append(p.DepositAccounts, resource.ID(accounts, d.GetDepositAccount()))
		p.CreateTimes = append(p.CreateTimes, d.GetCreateTime().AsTime())
	}
	p.KeyItems, p.Callers, p.RequestIds, p.Methods = rows.KeyItems, rows.Callers, rows.RequestIds, rows.Methods
	p.RequestHashes, p.Responses = rows.RequestHashes, rows.Responses
	p.PostingItems, p.PostingSeqs, p.PostingAccounts = rows.PostingItems, rows.PostingSeqs, rows.PostingAccounts
	p.PostingCurrencies, p.PostingAmounts = rows.PostingCurrencies, rows.PostingAmounts
	p.ActivityItems, p.ActivityTopics, p.ActivityPayloads = rows.OutboxItems, rows.OutboxTopics, rows.OutboxPayloads
	written, err := s.q.RecordDonations(ctx, s.db, p)
	if needsExclusive(err) {
		// Large gifts, or balances near their bound: the ledger checks them
		// with the accounts locked (see doTx).
		err = database.InTx(ctx, s.db, func(tx pgx.Tx) error {
			if err := setExclusive(ctx, tx); err != nil {
				return err
			}
			written, err = s.q.RecordDonations(ctx, tx, p)
			return err
		})
	}
	if err != nil {
		return nil, err
	}
	return rows.written(written, len(ws)), nil
}

func donationFromRow(r store.Donation) *financev1.Donation {
	d := &financev1.Donation{Name: resource.Name(donations, r.ID), Amount: mon(r.CurrencyCode, r.Amount), Donor: r.Donor,
		DonorName: r.DonorName, DonorEmail: r.DonorEmail, ExternalReference: r.ExternalReference, Description: r.Description,
		Recorder: r.Recorder, ReceiveTime: timestamppb.New(r.ReceiveTime), CreateTime: timestamppb.New(r.CreateTime)}
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
	d.State = financev1.Donation_STATE_RECEIVED
	if r.RefundTransactionID != nil {
		d.State, d.RefundTransaction = financev1.Donation_STATE_REFUNDED, resource.Name(transactions, *r.RefundTransactionID)
	}
	return d
}

// redactDonation applies the donor's visibility for callers without
// finance.read_private who are not the donor: ANONYMOUS hides the donor,
// PRIVATE hides donor and amount (and the deposit account, which tells its
// currency); emails and ledger links are never public.
func redactDonation(p *auth.Principal, d *financev1.Donation) *financev1.Donation {
	if auth.Has(p, readPrivate) || (p.GetPerson() != "" && p.GetPerson() == d.GetDonor()) {
		return d
	}
	d.DonorEmail, d.Recorder, d.Transaction, d.RefundTransaction, d.ExternalReference = "", "", "", "", ""
	switch d.GetVisibility() {
	case financev1.Donation_VISIBILITY_PUBLIC:
	case financev1.Donation_VISIBILITY_ANONYMOUS:
		d.Donor, d.DonorName = "", ""
	default:
		// The deposit account would tell the amount's currency.
		d.Donor, d.DonorName, d.Amount, d.Description, d.DepositAccount = "", "", nil, "", ""
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
	resp.Donations, resp.NextPageToken, err = pagination.ListUUID(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(donations),
		func(after string, limit int32) ([]store.Donation, error) {
			return s.q.ListDonations(ctx, s.db, store.ListDonationsParams{After: after, PageSize: limit})
		},
		func(r store.Donation) string { return r.ID },
		func(r store.Donation) *financev1.Donation { return redactDonation(p, donationFromRow(r)) })
	return resp, err
}
