package finance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/money"
	"github.com/guildhall/guildhall/internal/outbox"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/internal/sqlstate"
	"github.com/guildhall/guildhall/services/finance/store"
)

const transactions = "transactions"

// line is one posting of an entry being written; field names it in errors.
type line struct {
	account  string // account id
	currency string
	amount   int64
	field    string
}

// entry is a journal entry being written.
type entry struct {
	description string
	when        time.Time
	source      string     // manual, donation, subscription, sponsorship, advertising, expense
	reverses    string     // transaction id
	hiddenUntil *time.Time // when its amounts join public figures (view.go); nil: now
	creator     string
	lines       []line
}

// post writes e inside tx and returns its id. It checks what callers can get
// wrong (unknown accounts, currency mismatches, imbalance) to give field
// violations; the database triggers enforce the same rules at commit anyway.
func (s *Server) post(ctx context.Context, tx pgx.Tx, e entry) (string, error) {
	if err := s.checkLines(ctx, tx, e.lines); err != nil {
		return "", err
	}
	id := resource.NewID()
	if err := s.q.PostEntry(ctx, tx, e.params(id)); err != nil {
		return "", s.ledgerError(err)
	}
	return id, nil
}

// params are the parameters of an entry with id.
func (e entry) params(id string) store.PostEntryParams {
	accts := make([]string, len(e.lines))
	currs := make([]string, len(e.lines))
	amts := make([]int64, len(e.lines))
	for i, l := range e.lines {
		accts[i], currs[i], amts[i] = l.account, l.currency, l.amount
	}
	var reverses *string
	if e.reverses != "" {
		reverses = &e.reverses
	}
	return store.PostEntryParams{ID: id, Accounts: accts, Currencies: currs, Amounts: amts, Description: e.description,
		EffectiveTime: e.when, Source: e.source, ReversesID: reverses, Creator: e.creator, HiddenUntil: e.hiddenUntil}
}

// checkLines reports, as field violations, what the ledger triggers would
// refuse at commit: unknown accounts, currencies not the account's, and
// postings that do not sum to zero per currency.
func (s *Server) checkLines(ctx context.Context, db dbtx, lines []line) error {
	cur, err := s.currencies(ctx, db, lines)
	if err != nil {
		return err
	}
	sums := map[string]int64{}
	var v []apierr.FieldViolation
	for _, l := range lines {
		c, ok := cur[l.account]
		switch {
		case !ok:
			v = append(v, apierr.FieldViolation{Field: l.field, Description: "no such account: accounts/" + l.account})
		case c != l.currency:
			v = append(v, apierr.FieldViolation{Field: l.field, Description: fmt.Sprintf("accounts/%s is in %s, not %s", l.account, c, l.currency)})
		}
		sums[l.currency] += l.amount
	}
	for c, sum := range sums {
		if sum != 0 {
			v = append(v, apierr.FieldViolation{Field: "transaction.postings", Description: fmt.Sprintf("postings in %s sum to %d, not 0", c, sum)})
		}
	}
	if len(v) > 0 {
		return apierr.Invalid(v...)
	}
	return nil
}

// currencies returns the currency of each account of lines, from a cache:
// an account's currency never changes, and an account with postings cannot
// be deleted, so a cached currency can only be stale for an account that
// was deleted unused (and the ledger triggers still check at commit).
func (s *Server) currencies(ctx context.Context, tx dbtx, lines []line) (map[string]string, error) {
	out := map[string]string{}
	var missing []string
	for _, l := range lines {
		if c, ok := s.accounts.Load(l.account); ok {
			out[l.account] = c.(string)
		} else {
			missing = append(missing, l.account)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	rows, err := s.q.AccountCurrencies(ctx, tx, missing)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r.CurrencyCode
		s.accounts.Store(r.ID, r.CurrencyCode)
	}
	return out, nil
}

// transactionFromRow is the entry r, with its postings (r.Postings, a JSON
// array of postings rows in order).
func transactionFromRow(r store.GetTransactionRow) (*financev1.Transaction, error) {
	t := &financev1.Transaction{Name: resource.Name(transactions, r.ID), Description: r.Description, Creator: r.Creator,
		EffectiveTime: timestamppb.New(r.EffectiveTime), CreateTime: timestamppb.New(r.CreateTime)}
	t.Source = financev1.Transaction_Source(pgenum.Number(financev1.Transaction_SOURCE_UNSPECIFIED.Descriptor(), r.Source))
	if r.Reverses != "" {
		t.Reverses = resource.Name(transactions, r.Reverses)
	}
	if r.ReversedBy != "" {
		t.ReversedBy = resource.Name(transactions, r.ReversedBy)
	}
	var postings []store.Posting // amounts decoded from their digits: exact
	if err := json.Unmarshal(r.Postings, &postings); err != nil {
		return nil, fmt.Errorf("postings of %s: %w", t.Name, err)
	}
	for _, p := range postings {
		t.Postings = append(t.Postings, &financev1.Posting{Account: resource.Name(accounts, p.AccountID), Amount: mon(p.CurrencyCode, p.Amount)})
	}
	return t, nil
}

// dbtx is a pool or a transaction.
type dbtx = store.DBTX

func (s *Server) getTransaction(ctx context.Context, db dbtx, id string) (*financev1.Transaction, error) {
	t, _, err := s.getEntry(ctx, db, id)
	return t, err
}

// getEntry is getTransaction, and whether the entry's amounts are private.
func (s *Server) getEntry(ctx context.Context, db dbtx, id string) (t *financev1.Transaction, hidden bool, err error) {
	row, err := s.q.GetTransaction(ctx, db, id)
	if err != nil {
		return nil, false, resource.NotFoundIfNoRows(err, resource.Name(transactions, id))
	}
	t, err = transactionFromRow(row)
	return t, row.Hidden, err
}

// GetTransaction implements AIP-131.
func (s *Server) GetTransaction(ctx context.Context, req *financev1.GetTransactionRequest) (*financev1.Transaction, error) {
	return s.getTransaction(ctx, s.db, resource.ID(transactions, req.GetName()))
}

// ListTransactions lists entries oldest first (ids are UUIDv7).
func (s *Server) ListTransactions(ctx context.Context, req *financev1.ListTransactionsRequest) (*financev1.ListTransactionsResponse, error) {
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(transactions))
	if err != nil {
		return nil, err
	}
	after, err := page.AfterUUID()
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListTransactions(ctx, s.db, store.ListTransactionsParams{After: after, PageSize: page.Limit()})
	if err != nil {
		return nil, err
	}
	list := make([]*financev1.Transaction, 0, len(rows))
	for _, r := range rows {
		t, err := transactionFromRow(store.GetTransactionRow(r))
		if err != nil {
			return nil, err
		}
		list = append(list, t)
	}
	resp := &financev1.ListTransactionsResponse{}
	list, resp.NextPageToken = pagination.Finish(page, list, func(t *financev1.Transaction) string { return resource.ID(transactions, t.Name) })
	resp.Transactions = list
	return resp, nil
}

// CreateTransaction posts a manual entry.
func (s *Server) CreateTransaction(ctx context.Context, req *financev1.CreateTransactionRequest) (*financev1.Transaction, error) {
	t := req.GetTransaction()
	e := entry{description: t.GetDescription(), when: timeOr(t.GetEffectiveTime(), s.now()), source: "manual",
		creator: auth.From(ctx).GetPerson()}
	var v []apierr.FieldViolation
	for i, p := range t.GetPostings() {
		field := fmt.Sprintf("transaction.postings[%d].amount", i)
		if p.GetAmount().GetMinorUnits() == 0 {
			v = append(v, apierr.FieldViolation{Field: field + ".minor_units", Description: "must not be zero"})
		}
		if !money.InRange(p.GetAmount().GetMinorUnits()) {
			return nil, outOfRange(field, []apierr.FieldViolation{rangeViolation(field)})
		}
		abs := mon(p.GetAmount().GetCurrencyCode(), 1)
		if err := checkAmount(field, abs, false); err != nil {
			return nil, err
		}
		e.lines = append(e.lines, line{account: resource.ID(accounts, p.GetAccount()), currency: p.GetAmount().GetCurrencyCode(),
			amount: p.GetAmount().GetMinorUnits(), field: fmt.Sprintf("transaction.postings[%d]", i)})
	}
	if len(v) > 0 {
		return nil, apierr.Invalid(v...)
	}
	if err := s.checkLines(ctx, s.db, e.lines); err != nil {
		return nil, err
	}
	// Everything the reply holds is known before the write (the id, times
	// at the database's microsecond precision), so the idempotency key with
	// its response, the entry, its postings, the caller's activity and the
	// event go in as one statement, in a transaction shared with concurrent
	// money-moving writes, whose other manual entries join the statement
	// (batch.go, entries.go).
	now := s.now().Truncate(time.Microsecond)
	e.when = e.when.Truncate(time.Microsecond)
	w := &entryWrite{id: resource.NewID(), entry: e, created: now, requestID: req.GetRequestId()}
	out := &financev1.Transaction{Name: resource.Name(transactions, w.id), Description: e.description, Creator: e.creator,
		EffectiveTime: timestamppb.New(e.when), CreateTime: timestamppb.New(now), Source: financev1.Transaction_SOURCE_MANUAL}
	for _, l := range e.lines {
		out.Postings = append(out.Postings, &financev1.Posting{Account: resource.Name(accounts, l.account), Amount: mon(l.currency, l.amount)})
	}
	w.reply = out
	ev, err := events.Message(events.Event{Type: events.TransactionCreated, Subject: out.Name, Data: &financev1.Transaction{Name: out.Name},
		Audience: books, Time: now})
	if err != nil {
		return nil, err
	}
	w.outbox = append(w.outbox, ev)
	return s.writeEntryReply(ctx, w, createTransaction, req, nil)
}

// writeEntryReply writes w, an entry or reversal whose reply and events are
// set, with req's idempotency key under method and the caller's activity,
// in one statement shared with the other entries of its transaction
// (batch.go, entries.go). A request id used before replays its answer, or
// is refused as REQUEST_ID_REUSED for a different request. refused, if
// set, maps an error of the write first.
func (s *Server) writeEntryReply(ctx context.Context, w *entryWrite, method string, req proto.Message, refused func(error) error) (*financev1.Transaction, error) {
	return writePrepared(ctx, s, w, method, req, func(wctx context.Context, tx pgx.Tx) (*financev1.Transaction, error) {
		m, err := s.writeEntry(wctx, tx, w)
		if err != nil && refused != nil {
			err = refused(err)
		}
		if err != nil {
			return nil, err
		}
		return m.(*financev1.Transaction), nil
	})
}

// writePrepared is writeEntryReply for any entry (entryWrite) whose reply,
// of type T, is set; alone writes it when it runs by itself, after its
// shared statement failed (batch.go).
func writePrepared[T proto.Message](ctx context.Context, s *Server, w *entryWrite, method string, req proto.Message, alone func(context.Context, pgx.Tx) (T, error)) (T, error) {
	var zero T
	if w.requestID != "" {
		var err error
		if w.key, err = idempotency.NewKey(ctx, w.requestID, method, req, w.reply); err != nil {
			return zero, err
		}
	}
	if w.entry.creator != "" {
		m, err := activity.Message(w.entry.creator, activity.Kind(ctx, "finance"), w.created)
		if err != nil {
			return zero, err
		}
		w.outbox = append([]outbox.Message{m}, w.outbox...)
	}
	w.replay = func(ctx context.Context, tx pgx.Tx) (proto.Message, error) {
		return idempotency.Do(ctx, tx, w.requestID, method, req, func() (T, error) {
			return zero, apierr.Unavailable("request id vanished while replaying; retry")
		})
	}
	return doWrite(ctx, s, w, alone)
}

// createTransaction is the method name request ids of manual entries are kept under.
const (
	createTransaction  = "CreateTransaction"
	reverseTransaction = "ReverseTransaction"
)

// ReverseTransaction posts the mirror image of an entry.
func (s *Server) ReverseTransaction(ctx context.Context, req *financev1.ReverseTransactionRequest) (*financev1.Transaction, error) {
	id := resource.ID(transactions, req.GetName())
	// An entry, its postings, whether it is itself a reversal and whether
	// its amounts are private never change, and neither does the donation it
	// records: all is read before the write. Whether it was reversed is
	// checked here for the error's sake; the unique reverses_id decides
	// between concurrent reversals, at the write.
	orig, hiddenOrig, err := s.getEntry(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if orig.GetReverses() != "" {
		return nil, apierr.FailedPrecondition(typev1.ErrorReason_IS_REVERSAL, req.GetName()+" is itself a reversal; post a new entry instead")
	}
	if orig.GetReversedBy() != "" {
		refused := apierr.FailedPrecondition(typev1.ErrorReason_ALREADY_REVERSED, req.GetName()+" was already reversed by "+orig.GetReversedBy())
		if req.GetRequestId() == "" {
			return nil, refused
		}
		// A retry of the very request that reversed it answers as that did.
		var out *financev1.Transaction
		err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
			var err error
			out, err = idempotency.Do(ctx, tx, req.GetRequestId(), reverseTransaction, req, func() (*financev1.Transaction, error) { return nil, refused })
			return err
		})
		return out, err
	}
	// Only a donation's entry records a gift: other reversals skip the read.
	var gift store.Donation
	isGift := false
	if orig.GetSource() == financev1.Transaction_SOURCE_DONATION {
		gift, err = s.q.GetDonationByTransaction(ctx, s.db, &id)
		isGift = err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	}
	desc := "Reversal of " + req.GetName()
	if req.GetReason() != "" {
		desc += ": " + req.GetReason()
	}
	now := s.now().Truncate(time.Microsecond)
	e := entry{description: desc, when: now, reverses: id, creator: auth.From(ctx).GetPerson(), source: pgenum.Text(orig.GetSource())}
	// The reversal of an entry with private amounts (a PRIVATE gift) would
	// show them by moving public figures: it is hidden in turn.
	if hiddenOrig {
		e.hiddenUntil = hiddenUntil(now)
	}
	for _, p := range orig.GetPostings() {
		// Amounts beyond the bound can only be rows stored before it; their
		// negation may not even exist in int64 (-2^63).
		if !money.InRange(p.GetAmount().GetMinorUnits()) {
			return nil, apierr.AmountOutOfRange(req.GetName() + " holds an amount beyond 10^15 minor units, which cannot be posted again; correct it with new entries")
		}
		e.lines = append(e.lines, line{account: resource.ID(accounts, p.GetAccount()), currency: p.GetAmount().GetCurrencyCode(),
			amount: -p.GetAmount().GetMinorUnits(), field: "name"})
	}
	if err := s.checkLines(ctx, s.db, e.lines); err != nil {
		return nil, err
	}
	// As a manual entry is (CreateTransaction): the reply, key, activity and
	// events are known before the write, which is one statement shared with
	// the other entries of its transaction.
	w := &entryWrite{id: resource.NewID(), entry: e, created: now, requestID: req.GetRequestId()}
	out := &financev1.Transaction{Name: resource.Name(transactions, w.id), Description: e.description, Creator: e.creator,
		EffectiveTime: timestamppb.New(now), CreateTime: timestamppb.New(now), Source: orig.GetSource(), Reverses: req.GetName()}
	for _, l := range e.lines {
		out.Postings = append(out.Postings, &financev1.Posting{Account: resource.Name(accounts, l.account), Amount: mon(l.currency, l.amount)})
	}
	w.reply = out
	if isGift {
		m, err := donationReversedEvent(donationFromRow(gift), now)
		if err != nil {
			return nil, err
		}
		w.outbox = append(w.outbox, m)
	}
	ev, err := events.Message(events.Event{Type: events.TransactionReversed, Subject: req.GetName(),
		Data: &financev1.Transaction{Name: req.GetName(), ReversedBy: out.GetName()}, Audience: books, Time: now})
	if err != nil {
		return nil, err
	}
	w.outbox = append(w.outbox, ev)
	return s.writeEntryReply(ctx, w, reverseTransaction, req, func(err error) error {
		if resource.IsUniqueViolation(err) { // reverses_id: another reversal came first
			return apierr.FailedPrecondition(typev1.ErrorReason_ALREADY_REVERSED, req.GetName()+" was already reversed")
		}
		return err
	})
}

// doTx is resource.InTx for money-moving calls, in a transaction shared
// with concurrent ones (batch.go): the ledger triggers check entries at
// commit, so their refusals arrive here (see doWrite). The write runs at
// most once per request id (idempotency.Do) and is the caller's activity.
func doTx[T proto.Message](ctx context.Context, s *Server, requestID, method string, req proto.Message, fn func(pgx.Tx) (T, error)) (T, error) {
	return doWrite(ctx, s, nil, once(s, requestID, method, req, fn))
}

// once is fn made the caller's activity and run at most once per request
// id (idempotency.Do), as doTx runs it.
func once[T proto.Message](s *Server, requestID, method string, req proto.Message, fn func(pgx.Tx) (T, error)) func(context.Context, pgx.Tx) (T, error) {
	return func(ctx context.Context, tx pgx.Tx) (T, error) {
		return idempotency.Do(ctx, tx, requestID, method, req, func() (T, error) {
			if err := s.acted(ctx, tx); err != nil {
				var zero T
				return zero, err
			}
			return fn(tx)
		})
	}
}

// doWrite runs acting in a transaction shared with concurrent money-moving
// writes (batch.go); acting makes the whole write, idempotency key and
// caller's activity included; entry, for a manual entry, is what acting
// writes (see moneyWrite). If the ledger asks to serialize the write (large
// amounts, sums near their bounds), it runs again alone, with exclusive
// locks on its accounts.
func doWrite[T proto.Message](ctx context.Context, s *Server, entry *entryWrite, acting func(context.Context, pgx.Tx) (T, error)) (T, error) {
	var zero T
	res, err := s.moneyWriter.Do(ctx, moneyWrite{ctx: ctx, entry: entry, run: func(ctx context.Context, tx pgx.Tx) (proto.Message, error) {
		return acting(ctx, tx)
	}})
	if err == nil {
		err = res.err
	}
	if needsExclusive(err) {
		var t T
		err = database.InTx(ctx, s.db, func(tx pgx.Tx) error {
			if err := setExclusive(ctx, tx); err != nil {
				return err
			}
			var err error
			t, err = acting(ctx, tx)
			return err
		})
		return t, ledgerRule(err)
	}
	if err != nil {
		return zero, ledgerRule(err)
	}
	return res.msg.(T), nil
}

// The ledger's own SQLSTATEs.
const (
	// sqlstateExclusive is what the posting trigger raises when it cannot
	// prove the bounds hold without serializing the accounts (migration
	// 00008).
	sqlstateExclusive = "GHL01"
	// sqlstateChangedSinceRead is what a payment's statement raises when
	// the row it pays changed since the payment was prepared, naming the
	// row in DETAIL (migration 00015).
	sqlstateChangedSinceRead = "GHL02"
)

func needsExclusive(err error) bool {
	pe := sqlstate.Of(err)
	return pe != nil && pe.Code == sqlstateExclusive
}

// changedRow is the id of the row whose change since it was read failed a
// payment's statement (err), if that is what err is.
func changedRow(err error) (id string, ok bool) {
	if pe := sqlstate.Of(err); pe != nil && pe.Code == sqlstateChangedSinceRead {
		return pe.Detail, true
	}
	return "", false
}

// setExclusive makes tx's posting statements take exclusive locks on their
// accounts and check the bounds exactly.
func setExclusive(ctx context.Context, tx dbtx) error {
	_, err := tx.Exec(ctx, "SET LOCAL guildhall.ledger_exclusive = on")
	return err
}

// ledgerError maps what the database says to a write of postings: a
// foreign-key violation means an account of the entry was deleted under us,
// and the triggers' refusals are ledgerRule's.
func (s *Server) ledgerError(err error) error {
	if resource.IsForeignKeyViolation(err) {
		s.accounts.Clear()
		s.defaults.Clear()
		return apierr.FailedPrecondition(typev1.ErrorReason_ACCOUNT_NOT_FOUND, "an account of the entry no longer exists; retry")
	}
	return ledgerRule(err)
}

// ledgerRule maps the ledger triggers' refusals (an entry that does not
// balance, a change to an immutable one) to LEDGER_RULE, and a sum taken
// beyond its bound (by the trigger, or an amount check) to AMOUNT_OUT_OF_RANGE.
func ledgerRule(err error) error {
	pe := sqlstate.Of(err)
	if pe == nil {
		return err
	}
	switch {
	case pe.Code == sqlstate.NumericValueOutOfRange && pe.Detail != "":
		return apierr.AmountOutOfRange("the entry would take accounts/" + pe.Detail + " beyond its bound: a balance stays within 10^15 minor units and a month's movement per source within 2*10^15")
	case pe.Code == sqlstate.NumericValueOutOfRange:
		return apierr.AmountOutOfRange("a sum would be out of range")
	case pe.Code == sqlstate.CheckViolation && strings.HasSuffix(pe.ConstraintName, "_range"):
		return apierr.AmountOutOfRange("an amount is beyond 10^15 minor units")
	case pe.Code == sqlstate.CheckViolation || pe.Code == sqlstate.RestrictViolation:
		return apierr.FailedPrecondition(typev1.ErrorReason_LEDGER_RULE, "the ledger refused the entry: "+pe.Message)
	}
	return err
}
