package finance

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/outbox"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

// entryWrite is a manual entry, a reversal, or a subscription's,
// sponsorship's or expense's payment ready to be written: its row, postings, idempotency
// key and outbox rows, and the reply, all known before the write
// (CreateTransaction, ReverseTransaction, RecordSubscriptionPayment,
// RecordSponsorshipPayment, PayExpense). A reversal's hiddenUntil is the end of the
// month of created (hiddenUntil), which the statement computes. The entries
// of a shared transaction go in as one statement (writeEntries); an entry
// retried on its own goes in as a statement of one, and a payment is made
// again under the lock of the row it pays.
type entryWrite struct {
	id        string
	entry     entry
	created   time.Time // at the database's microsecond precision
	requestID string
	key       idempotency.Key  // when requestID is set
	outbox    []outbox.Message // the caller's activity, the event
	reply     proto.Message
	// replay answers, inside the write's transaction, a write whose request
	// id was used before: the first answer, or REQUEST_ID_REUSED.
	replay func(ctx context.Context, tx pgx.Tx) (proto.Message, error)
	// pays, for a payment, is the row it moves on.
	pays *paidRow
}

// paidRow is what a payment written in the entries statement does to the
// subscription, sponsorship or expense it pays, computed from that row as
// read before the write; its statement fails (GHL02) if the row changed
// since (recordPayments).
type paidRow struct {
	subscription, sponsorship, expense string    // the row's id: one of them
	version                            string    // its xmin as read
	nextDue                            time.Time // a subscription's due date after the payment
	amount                             int64     // what a sponsorship's paid total grows by, in minor units
}

// id is the id of the row paid.
func (p *paidRow) id() string { return p.subscription + p.sponsorship + p.expense }

// recordEntries writes ws in one statement on db and reports, per
// entry, whether it was written (false: its request id was taken before).
// A request id that one caller sends twice in ws is written once; the later
// write replays, as it would against an earlier transaction.
func (s *Server) recordEntries(ctx context.Context, db dbtx, ws []*entryWrite) ([]bool, error) {
	var p store.RecordEntriesParams
	rows := newStatementRows()
	for i, w := range ws {
		if _, ok := rows.add(i, w.requestID, w.key, w.entry.lines, w.outbox); !ok {
			continue
		}
		e := w.entry
		p.Ids = append(p.Ids, w.id)
		p.Descriptions = append(p.Descriptions, e.description)
		p.EffectiveTimes = append(p.EffectiveTimes, e.when)
		p.Sources = append(p.Sources, e.source)
		p.Creators = append(p.Creators, e.creator)
		p.CreateTimes = append(p.CreateTimes, w.created)
		p.Reverses = append(p.Reverses, e.reverses)
		p.Hidden = append(p.Hidden, e.hiddenUntil != nil)
	}
	p.KeyItems, p.Callers, p.RequestIds, p.Methods = rows.KeyItems, rows.Callers, rows.RequestIds, rows.Methods
	p.RequestHashes, p.Responses = rows.RequestHashes, rows.Responses
	p.PostingItems, p.PostingSeqs, p.PostingAccounts = rows.PostingItems, rows.PostingSeqs, rows.PostingAccounts
	p.PostingCurrencies, p.PostingAmounts = rows.PostingCurrencies, rows.PostingAmounts
	p.OutboxItems, p.OutboxTopics, p.OutboxPayloads = rows.OutboxItems, rows.OutboxTopics, rows.OutboxPayloads
	items, err := s.q.RecordEntries(ctx, db, p)
	if err != nil {
		return nil, err
	}
	written := rows.written(items, len(ws))
	return written, s.recordPayments(ctx, db, ws, written)
}

// recordPayments moves on the rows paid by the payments among ws that
// recordEntries wrote (written), one statement per kind of row present,
// in the same transaction (db is one when ws holds payments: see
// statementEntries). A row that changed since it was read fails its
// statement (GHL02).
func (s *Server) recordPayments(ctx context.Context, db dbtx, ws []*entryWrite, written []bool) error {
	var sub store.RecordSubscriptionPaymentsParams
	var sp store.RecordSponsorshipPaymentsParams
	var ex store.RecordExpensePaymentsParams
	for i, w := range ws {
		switch pay := w.pays; {
		case pay == nil || !written[i]:
		case pay.subscription != "":
			sub.TransactionIds, sub.Ids, sub.Versions = append(sub.TransactionIds, w.id), append(sub.Ids, pay.subscription), append(sub.Versions, pay.version)
			sub.DueDates, sub.UpdateTimes = append(sub.DueDates, pay.nextDue), append(sub.UpdateTimes, w.created)
		case pay.sponsorship != "":
			sp.TransactionIds, sp.Ids, sp.Versions = append(sp.TransactionIds, w.id), append(sp.Ids, pay.sponsorship), append(sp.Versions, pay.version)
			sp.Amounts, sp.UpdateTimes = append(sp.Amounts, pay.amount), append(sp.UpdateTimes, w.created)
		default:
			ex.TransactionIds, ex.Ids, ex.Versions = append(ex.TransactionIds, w.id), append(ex.Ids, pay.expense), append(ex.Versions, pay.version)
			ex.Actors, ex.Times = append(ex.Actors, w.entry.creator), append(ex.Times, w.created)
		}
	}
	if len(sub.Ids) > 0 {
		if err := s.q.RecordSubscriptionPayments(ctx, db, sub); err != nil {
			return err
		}
	}
	if len(sp.Ids) > 0 {
		if err := s.q.RecordSponsorshipPayments(ctx, db, sp); err != nil {
			return err
		}
	}
	if len(ex.Ids) > 0 {
		return s.q.RecordExpensePayments(ctx, db, ex)
	}
	return nil
}

// writeEntry writes w alone inside tx (one statement) and answers it.
func (s *Server) writeEntry(ctx context.Context, tx pgx.Tx, w *entryWrite) (proto.Message, error) {
	written, err := s.recordEntries(ctx, tx, []*entryWrite{w})
	if err != nil {
		return nil, s.ledgerError(err)
	}
	if !written[0] {
		return w.replay(ctx, tx)
	}
	return w.reply, nil
}

// writeEntries writes the entries (statementEntries) among indices of ws in one
// statement inside tx, and answers them (out);
// it returns the indices left to write one by one. An entry whose request id
// was used before replays; if its replay fails, blamed is its index. If the
// statement fails, the transaction is lost, and blamed is the payment whose
// row changed since it was read (changedRow) or, for any other failure,
// nobody (-1): the caller writes the entries again one by one.
func (s *Server) writeEntries(ctx context.Context, tx pgx.Tx, ws []moneyWrite, out []moneyResult, indices []int) (rest []int, blamed int, err error) {
	at, rest, _ := statementEntries(ws, indices)
	if len(at) == 0 {
		return indices, -1, nil
	}
	batch := make([]*entryWrite, len(at))
	for j, i := range at {
		batch[j] = ws[i].entry
	}
	written, err := s.recordEntries(ctx, tx, batch)
	if err != nil {
		if row, ok := changedRow(err); ok {
			for _, i := range at {
				if p := ws[i].entry.pays; p != nil && p.id() == row {
					return nil, i, err
				}
			}
		}
		return nil, -1, err
	}
	for j, i := range at {
		if written[j] {
			out[i].msg = batch[j].reply
			continue
		}
		if out[i].msg, err = batch[j].replay(context.WithoutCancel(ws[i].ctx), tx); err != nil {
			return nil, i, err
		}
	}
	return rest, -1, nil
}

// statementEntries splits indices of ws into the entries one statement
// writes together (at) and the writes left (rest): those that are not
// entries, and a second payment of one row, which the statement could not
// move on twice from the row as read (it runs after the statement, under
// the row's lock). payments says whether at holds any: their rows are
// moved on by statements of their own after the entries', in the same
// transaction (recordPayments).
func statementEntries(ws []moneyWrite, indices []int) (at, rest []int, payments bool) {
	paid := map[string]bool{}
	for _, i := range indices {
		w := ws[i].entry
		switch {
		case w == nil:
			rest = append(rest, i)
		case w.pays == nil:
			at = append(at, i)
		case paid[w.pays.id()]:
			rest = append(rest, i)
		default:
			paid[w.pays.id()] = true
			at = append(at, i)
			payments = true
		}
	}
	return at, rest, payments
}

// writeOnlyEntries writes a batch made of entries alone (ws), none of
// them a payment, as one statement that is its own transaction, as donations are written: no
// BEGIN and COMMIT round trips. It answers the entries written and returns
// the indices of those whose request id was used before, to replay each in
// a transaction of its own. If the statement failed, ok is false and
// nothing was written.
func (s *Server) writeOnlyEntries(ctx context.Context, ws []moneyWrite, out []moneyResult) (replay []int, ok bool) {
	batch := make([]*entryWrite, len(ws))
	for i, w := range ws {
		batch[i] = w.entry
	}
	written, err := s.recordEntries(ctx, s.db, batch)
	if err != nil {
		return nil, false
	}
	for i := range ws {
		if written[i] {
			out[i].msg = batch[i].reply
		} else {
			replay = append(replay, i)
		}
	}
	return replay, true
}

// writePayment writes a payment prepared from the row it pays, as read
// before the write (pays names that row and its version): payment builds
// the entry made now, at the database's microsecond precision, which is
// checked as post checks it; reply builds the answer and the event that
// announces it from the entry's id and now. writePrepared then writes the
// entry in its shared transaction's entries statement and moves the row on,
// unless the row changed since it was read (recordPayments); the payment is
// then made by locked, under the row's lock, as it is when it runs alone.
func writePayment[T proto.Message](ctx context.Context, s *Server, req proto.Message, requestID, method string, pays *paidRow,
	payment func(now time.Time) entry, reply func(id string, now time.Time) (T, events.Event, error),
	locked func(context.Context, pgx.Tx) (T, error)) (T, error) {
	var zero T
	now := s.now().Truncate(time.Microsecond)
	e := payment(now)
	e.when = e.when.Truncate(time.Microsecond)
	if err := s.checkLines(ctx, s.db, e.lines); err != nil {
		return zero, err
	}
	w := &entryWrite{id: resource.NewID(), entry: e, created: now, requestID: requestID, pays: pays}
	out, ev, err := reply(w.id, now)
	if err != nil {
		return zero, err
	}
	w.reply = out
	ev.Time = now
	m, err := events.Message(ev)
	if err != nil {
		return zero, err
	}
	w.outbox = []outbox.Message{m}
	return writePrepared(ctx, s, w, method, req, locked)
}
