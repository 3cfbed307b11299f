package finance

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
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

const sponsorships = "sponsorships"

func sponsorshipFromRow(r store.Sponsorship) *financev1.Sponsorship {
	sp := &financev1.Sponsorship{Name: resource.Name(sponsorships, r.ID), Organisation: r.Organisation, Package: r.Package,
		Amount: mon(r.CurrencyCode, r.Amount), Paid: mon(r.CurrencyCode, r.Paid), Period: interval(r.Period),
		StartDate: r.StartDate.Format(convert.DateLayout), CreateTime: timestamppb.New(r.CreateTime), UpdateTime: timestamppb.New(r.UpdateTime), Etag: resource.Etag(r.Version)}
	sp.Kind = financev1.Sponsorship_Kind(pgenum.Number(financev1.Sponsorship_KIND_UNSPECIFIED.Descriptor(), r.Kind))
	sp.State = sponsorshipState(r.State)
	if r.EndDate != nil {
		sp.EndDate = r.EndDate.Format(convert.DateLayout)
	}
	return sp
}

// scanSponsorship converts a sponsorship row, passing its error on.
func scanSponsorship(r store.Sponsorship, err error) (*financev1.Sponsorship, error) {
	if err != nil {
		return nil, err
	}
	return sponsorshipFromRow(r), nil
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
	start, err := convert.ParseDateOr("sponsorship.start_date", sp.GetStartDate(), today(s.now()))
	if err != nil {
		return nil, err
	}
	end, err := endDate(sp.GetEndDate(), start)
	if err != nil {
		return nil, err
	}
	return doTx(ctx, s, req.GetRequestId(), "CreateSponsorship", req, func(tx pgx.Tx) (*financev1.Sponsorship, error) {
		out, err := emitted(ctx, s, tx, events.SponsorshipCreated, events.Public(), sponsorshipData)(scanSponsorship(s.q.CreateSponsorship(ctx, tx, store.CreateSponsorshipParams{ID: resource.NewID(), Organisation: sp.GetOrganisation(),
			Package: sp.GetPackage(), Kind: pgenum.Text(sp.GetKind()), CurrencyCode: sp.GetAmount().GetCurrencyCode(), Amount: sp.GetAmount().GetMinorUnits(),
			Period: pgenum.Text(sp.GetPeriod()), StartDate: start, EndDate: end, CreateTime: s.now()})))
		if err != nil {
			return nil, err
		}
		if err := lifecycle.Created(ctx, tx, sponsorshipHistory, resource.ID(sponsorships, out.GetName()), out.GetState(), s.now(), "created"); err != nil {
			return nil, err
		}
		return out, lifecycle.Fill(ctx, tx, sponsorshipHistory, out)
	})
}

// endDate parses a deal's optional end date, which may not precede its start.
func endDate(value string, start time.Time) (*time.Time, error) {
	if value == "" {
		return nil, nil
	}
	e, err := convert.ParseDateOr("sponsorship.end_date", value, time.Time{})
	if err != nil {
		return nil, err
	}
	if e.Before(start) {
		return nil, apierr.InvalidField("sponsorship.end_date", "must not be before start_date")
	}
	return &e, nil
}

// sponsorshipFields are the fields UpdateSponsorship may change.
var sponsorshipFields = []string{"organisation", "package", "amount", "period", "end_date"}

// UpdateSponsorship implements AIP-134 with an etag check. The currency is
// fixed with the deal; payments already posted keep their amounts.
func (s *Server) UpdateSponsorship(ctx context.Context, req *financev1.UpdateSponsorshipRequest) (*financev1.Sponsorship, error) {
	id := resource.ID(sponsorships, req.GetSponsorship().GetName())
	var cur store.Sponsorship
	return resource.Update(ctx, s.db, req.GetSponsorship(), req.GetUpdateMask(), sponsorshipFields,
		func(tx pgx.Tx) (*financev1.Sponsorship, error) {
			if err := s.acted(ctx, tx); err != nil {
				return nil, err
			}
			row, err := s.q.GetSponsorshipForUpdate(ctx, tx, id)
			cur = row
			return scanSponsorship(row, err)
		},
		func(sp *financev1.Sponsorship) error {
			if err := resource.Required("sponsorship", map[string]bool{"organisation": sp.GetOrganisation() != "", "amount": sp.GetAmount() != nil,
				"period": sp.GetPeriod() != financev1.Interval_INTERVAL_UNSPECIFIED}); err != nil {
				return err
			}
			if err := checkAmount("sponsorship.amount", sp.GetAmount(), false); err != nil {
				return err
			}
			if err := inCurrency("sponsorship.amount", sp.GetAmount(), cur.CurrencyCode, "the deal's currency is fixed: "); err != nil {
				return err
			}
			_, err := endDate(sp.GetEndDate(), cur.StartDate)
			return err
		},
		func(tx pgx.Tx, sp *financev1.Sponsorship) (*financev1.Sponsorship, error) {
			end, err := endDate(sp.GetEndDate(), cur.StartDate)
			if err != nil {
				return nil, err
			}
			out, err := scanSponsorship(s.q.UpdateSponsorship(ctx, tx, store.UpdateSponsorshipParams{ID: id, Organisation: sp.GetOrganisation(),
				Package: sp.GetPackage(), Amount: sp.GetAmount().GetMinorUnits(), Period: pgenum.Text(sp.GetPeriod()), EndDate: end, Now: s.now()}))
			if err != nil {
				return nil, err
			}
			return out, lifecycle.Fill(ctx, tx, sponsorshipHistory, out)
		})
}

// GetSponsorship implements AIP-131.
func (s *Server) GetSponsorship(ctx context.Context, req *financev1.GetSponsorshipRequest) (*financev1.Sponsorship, error) {
	sp, err := scanSponsorship(s.q.GetSponsorship(ctx, s.db, resource.ID(sponsorships, req.GetName())))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return sp, lifecycle.Fill(ctx, s.db, sponsorshipHistory, sp)
}

// ListSponsorships lists deals oldest first.
func (s *Server) ListSponsorships(ctx context.Context, req *financev1.ListSponsorshipsRequest) (*financev1.ListSponsorshipsResponse, error) {
	resp := &financev1.ListSponsorshipsResponse{}
	var err error
	resp.Sponsorships, resp.NextPageToken, err = pagination.ListUUID(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(sponsorships),
		func(after string, limit int32) ([]store.Sponsorship, error) {
			return s.q.ListSponsorships(ctx, s.db, store.ListSponsorshipsParams{After: after, PageSize: limit})
		},
		func(r store.Sponsorship) string { return r.ID }, sponsorshipFromRow)
	if err != nil {
		return nil, err
	}
	return resp, lifecycle.Fill(ctx, s.db, sponsorshipHistory, resp.Sponsorships...)
}

// RecordSponsorshipPayment posts one period's payment, once per request_id;
// the income account is accounts/sponsorship or accounts/advertising.
func (s *Server) RecordSponsorshipPayment(ctx context.Context, req *financev1.RecordSponsorshipPaymentRequest) (*financev1.Sponsorship, error) {
	const method = "RecordSponsorshipPayment"
	id := resource.ID(sponsorships, req.GetName())
	// A deal's kind and currency never change, so the default accounts for
	// it are resolved before the transaction (defaults.go).
	pre, err := s.q.GetSponsorshipForPayment(ctx, s.db, id)
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	read := sponsorshipFromRow(pre.Sponsorship)
	deposit, income, err := s.paymentAccounts(ctx, req.GetDepositAccount(), pgenum.Text(read.GetKind()), read.GetAmount().GetCurrencyCode(), "sponsorship payments")
	if err != nil {
		return nil, err
	}
	payment := func(sp *financev1.Sponsorship, when time.Time) entry {
		cur, amt := sp.GetAmount().GetCurrencyCode(), sp.GetAmount().GetMinorUnits()
		return entry{description: "Payment for " + req.GetName() + " (" + sp.GetOrganisation() + ")",
			when: timeOr(req.GetReceiveTime(), when), source: pgenum.Text(sp.GetKind()), creator: auth.From(ctx).GetPerson(), lines: []line{
				{account: deposit, currency: cur, amount: amt, field: "deposit_account"},
				{account: income, currency: cur, amount: -amt, field: "name"},
			}}
	}
	// locked pays under the deal's row lock, from the row as it is.
	locked := once(s, req.GetRequestId(), method, req, func(tx pgx.Tx) (*financev1.Sponsorship, error) {
		sp, err := scanSponsorship(s.q.GetSponsorshipForUpdate(ctx, tx, id))
		if err != nil {
			return nil, resource.NotFoundIfNoRows(err, req.GetName())
		}
		// The row lock above serializes payments of the deal.
		if err := sponsorshipPayable(req.GetName(), sp); err != nil {
			return nil, err
		}
		t, err := s.post(ctx, tx, payment(sp, s.now()))
		if err != nil {
			return nil, err
		}
		if err := s.q.CreateSponsorshipPayment(ctx, tx, store.CreateSponsorshipPaymentParams{TransactionID: t, SponsorshipID: &id}); err != nil {
			return nil, err
		}
		add := func(tx pgx.Tx) (store.Sponsorship, error) {
			return s.q.AddSponsorshipPayment(ctx, tx, store.AddSponsorshipPaymentParams{ID: id, Now: s.now()})
		}
		var row store.Sponsorship
		if sp.GetState() == financev1.Sponsorship_STATE_PROPOSED {
			// The first payment makes the deal ACTIVE: a move on the record.
			row, _, err = lifecycle.Transition(ctx, tx, s.sponsorshipMove(ctx, id, req.GetName(), financev1.Sponsorship_STATE_ACTIVE, "first payment",
				func(tx pgx.Tx, _ lifecycle.Move[financev1.Sponsorship_State]) (store.Sponsorship, error) {
					return add(tx)
				}))
		} else {
			row, err = add(tx)
		}
		out, err := emitted(ctx, s, tx, events.SponsorshipPaymentRecorded, events.Public(), sponsorshipData)(scanSponsorship(row, err))
		if err != nil {
			return nil, err
		}
		return out, lifecycle.Fill(ctx, tx, sponsorshipHistory, out)
	})
	if read.GetState() != financev1.Sponsorship_STATE_ACTIVE || sponsorshipPayable(req.GetName(), read) != nil {
		// A first payment moves the deal (a transition on the record), and
		// errors (or a retry's first answer) come from the locked path.
		return doWrite(ctx, s, nil, locked)
	}
	// Otherwise the payment, the deal's new total and the reply are computed
	// from the row as read (writePayment).
	amt := read.GetAmount().GetMinorUnits()
	return writePayment(ctx, s, req, req.GetRequestId(), method, &paidRow{sponsorship: id, version: pre.Version, amount: amt},
		func(now time.Time) entry { return payment(read, now) },
		func(_ string, now time.Time) (*financev1.Sponsorship, events.Event, error) {
			out := read
			out.Paid = mon(out.GetAmount().GetCurrencyCode(), pre.Sponsorship.Paid+amt)
			out.UpdateTime = timestamppb.New(now)
			out.Etag = resource.Etag(pre.Sponsorship.Version + 1)
			ev := events.Event{Type: events.SponsorshipPaymentRecorded, Subject: out.GetName(), Data: sponsorshipData(out), Audience: events.Public()}
			return out, ev, lifecycle.FillFrom(out, pre.History)
		}, locked)
}

// sponsorshipPayable refuses a payment of deal sp, named name, that has
// ended, or that would take its paid total past money.MaxTotal.
func sponsorshipPayable(name string, sp *financev1.Sponsorship) error {
	if sponsorshipMoves.Final(sp.GetState()) {
		return apierr.FailedPrecondition(typev1.ErrorReason_ILLEGAL_TRANSITION, name+" has ended")
	}
	if sp.GetPaid().GetMinorUnits() > money.MaxTotal-sp.GetAmount().GetMinorUnits() {
		return apierr.AmountOutOfRange(name + " would be paid more than 10^18 minor units in all")
	}
	return nil
}

// sponsorshipHistory keeps every deal's creation and moves, with who made
// each and when (migration 00011).
var sponsorshipHistory = lifecycle.History{Collection: sponsorships, Table: "sponsorship_transitions", Key: "sponsorship_id"}

// sponsorshipMoves are a deal's moves: its first payment makes it ACTIVE
// (AddSponsorshipPayment), and it ends, for good, by EndSponsorship.
var sponsorshipMoves = lifecycle.New("sponsorship", map[financev1.Sponsorship_State][]financev1.Sponsorship_State{
	financev1.Sponsorship_STATE_PROPOSED: {financev1.Sponsorship_STATE_ACTIVE, financev1.Sponsorship_STATE_ENDED},
	financev1.Sponsorship_STATE_ACTIVE:   {financev1.Sponsorship_STATE_ENDED},
})

func sponsorshipState(s string) financev1.Sponsorship_State {
	return financev1.Sponsorship_State(pgenum.Number(financev1.Sponsorship_STATE_UNSPECIFIED.Descriptor(), s))
}

// EndSponsorship ends a deal; its end date becomes today unless set.
func (s *Server) EndSponsorship(ctx context.Context, req *financev1.EndSponsorshipRequest) (*financev1.Sponsorship, error) {
	id := resource.ID(sponsorships, req.GetName())
	var sp *financev1.Sponsorship
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		row, _, err := lifecycle.Transition(ctx, tx, s.sponsorshipMove(ctx, id, req.GetName(), financev1.Sponsorship_STATE_ENDED, "",
			func(tx pgx.Tx, m lifecycle.Move[financev1.Sponsorship_State]) (store.Sponsorship, error) {
				return s.q.EndSponsorship(ctx, tx, store.EndSponsorshipParams{ID: id, Today: today(m.Time), Now: m.Time})
			}))
		if err != nil {
			return err
		}
		sp = sponsorshipFromRow(row)
		if err := s.acted(ctx, tx); err != nil {
			return err
		}
		return lifecycle.Fill(ctx, tx, sponsorshipHistory, sp)
	})
	return sp, err
}

// sponsorshipMove is deal id's (named name) move to to, made by apply and
// kept in its history with note.
func (s *Server) sponsorshipMove(ctx context.Context, id, name string, to financev1.Sponsorship_State, note string,
	apply func(pgx.Tx, lifecycle.Move[financev1.Sponsorship_State]) (store.Sponsorship, error)) lifecycle.Spec[financev1.Sponsorship_State, store.Sponsorship] {
	return lifecycle.Spec[financev1.Sponsorship_State, store.Sponsorship]{
		Machine: sponsorshipMoves, Name: name, To: to, Note: note, Now: s.now(),
		Lock: func(tx pgx.Tx) (store.Sponsorship, error) { return s.q.GetSponsorshipForUpdate(ctx, tx, id) },
		Of: func(r store.Sponsorship) (financev1.Sponsorship_State, string) {
			return sponsorshipState(r.State), resource.Etag(r.Version)
		},
		Apply: func(tx pgx.Tx, _ store.Sponsorship, m lifecycle.Move[financev1.Sponsorship_State]) (store.Sponsorship, error) {
			return apply(tx, m)
		},
		Record: lifecycle.Record[financev1.Sponsorship_State](ctx, sponsorshipHistory, id),
		After:  s.transitioned,
	}
}
