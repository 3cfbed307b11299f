package finance

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/guildhall/guildhall/internal/database"
)

// Money-moving writes other than donations (manual entries, reversals,
// expenses and their payments, subscriptions, sponsorships and their
// payments: every doTx) share transactions as donations share statements:
// concurrent writes queue, and whichever finds one of moneyWriters slots
// free runs up to maxMoneyBatch of them, one after the other, in one
// transaction with one commit. A lone write waits for nobody.
//
// A write that fails in a shared transaction (a refused entry, an expense
// already paid by a write before it, a lost race for a row) rolls it back;
// the others run again together, this time each behind a savepoint, so that
// any further failure undoes only its own write, and every failed write runs
// afterwards in a transaction of its own, exactly as it would have without
// batching. A bad write fails alone and its neighbours commit; savepoints
// cost their round trips only in batches that met a failure. If a commit
// fails (it does not say which write it refused), every write of the batch
// runs alone.
//
// Manual entries, reversals, and subscription, sponsorship and expense
// payments go further: the first attempt writes every one of them in the
// batch in one statement (writeEntries), as donations are written, since
// the ledger's statement trigger costs per statement, and moves on the rows
// the payments pay with one statement per kind of row; a batch of entries
// alone, without payments, is that one statement, in a transaction of its
// own (writeOnlyEntries). When another write of the batch failed, the
// retry writes the entries' statement behind a savepoint of its own. If a
// statement fails, it does not say which entry it refused either: the batch
// runs again with each write behind its own savepoint, as above, where a
// payment is made under the lock of the row it pays. A payment whose row
// changed since it was read is named by its statement's error (GHL02): it
// alone runs apart, under the row's lock, and the others write their
// statement again.
//
// Two writers, as for donations (DonationWriters): one transaction runs
// while the other commits, and every write arriving meanwhile joins the
// next. With four, half as many entries shared a commit, and each money
// write cost PostgreSQL 1.2-1.45 times the CPU (bench/README.md, seventh
// round).
const (
	moneyWriters      = 2
	maxMoneyBatch     = 64
	moneyWriteTimeout = 30 * time.Second
)

// moneyWrite is one doTx waiting for a shared transaction.
type moneyWrite struct {
	ctx context.Context
	// run is the write, idempotency key included, inside tx; it returns the
	// reply.
	run func(ctx context.Context, tx pgx.Tx) (proto.Message, error)
	// entry, for a manual entry, a reversal or a prepared payment, is what
	// run writes, for writeEntries to write with the batch's other entries
	// in one statement.
	entry *entryWrite
}

// moneyResult is a write's reply or error.
type moneyResult struct {
	msg proto.Message
	err error
}

// writeMoney runs ws, together where it can (see above). Each write keeps
// its caller's context values (caller, request id, logger) but not its
// cancellation: once taken into a batch, a write runs to the end (see
// groupcommit), bounded by ctx.
func (s *Server) writeMoney(ctx context.Context, ws []moneyWrite) ([]moneyResult, error) {
	out := make([]moneyResult, len(ws))
	run := func(i int, tx pgx.Tx) error {
		m, err := ws[i].run(context.WithoutCancel(ws[i].ctx), tx)
		out[i].msg = m
		return err
	}
	together := make([]int, len(ws)) // indices of ws still to write together
	for i := range together {
		together[i] = i
	}
	// guarded: each write behind a savepoint of its own; statement: the
	// entries are written as one statement (writeEntries), behind a
	// savepoint of its own when guarded, until that statement has failed
	// without naming the write it refused.
	guarded, statement := false, true
	if _, rest, payments := statementEntries(ws, together); len(rest) == 0 && !payments {
		replay, ok := s.writeOnlyEntries(ctx, ws, out)
		if ok {
			return s.writeAlone(ctx, ws, out, run, replay), nil
		}
		// The statement does not say which entry it refused (a lone entry
		// runs alone below, as any write, for its own error).
		guarded, statement = true, false
	}
	// A lone write runs alone (below), but for a payment prepared as an
	// entry: written as one, it takes a few statements instead of ten.
	shared := func() bool {
		if len(together) == 1 && !guarded {
			e := ws[together[0]].entry
			return e != nil && e.pays != nil
		}
		return len(together) > 1
	}
	var alone []int
	for shared() {
		var failed []int
		entriesFailed := false
		err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
			failed, entriesFailed = failed[:0], false
			rest := together
			if statement {
				blamed := -1
				write := func(tx pgx.Tx) error {
					var err error
					rest, blamed, err = s.writeEntries(ctx, tx, ws, out, together)
					return err
				}
				if !guarded {
					if err := write(tx); err != nil {
						if blamed >= 0 {
							failed = append(failed, blamed)
						} else {
							entriesFailed = true
						}
						return err
					}
				} else if err := pgx.BeginFunc(ctx, tx, write); err != nil {
					if ctx.Err() != nil || errors.Is(err, pgx.ErrTxClosed) {
						return err
					}
					// Undone: its entries are written one by one below.
					rest = together
				}
			}
			for _, i := range rest {
				if !guarded {
					if err := run(i, tx); err != nil {
						failed = append(failed, i)
						return err
					}
					continue
				}
				if err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error { return run(i, sp) }); err != nil {
					if ctx.Err() != nil || errors.Is(err, pgx.ErrTxClosed) {
						return err
					}
					failed = append(failed, i)
				}
			}
			return nil
		})
		if err == nil {
			together = slices.DeleteFunc(together, func(i int) bool { return slices.Contains(failed, i) })
			alone = append(alone, failed...)
			for _, i := range alone {
				out[i].msg = nil
			}
			return s.writeAlone(ctx, ws, out, run, alone), nil
		}
		if guarded || (len(failed) == 0 && !entriesFailed) || ctx.Err() != nil {
			break // the commit failed, or time is up: each alone
		}
		alone = append(alone, failed...)
		together = slices.DeleteFunc(together, func(i int) bool { return slices.Contains(failed, i) })
		// If all that went wrong is a payment whose row changed since it was
		// read (it runs alone, under the row's lock), the others try their
		// shared statement again as they did; each such try leaves one more
		// write out. Otherwise they try again behind savepoints, the entries'
		// statement too unless it was what failed.
		_, stale := changedRow(err)
		guarded = !stale || len(failed) == 0
		statement = !entriesFailed
	}
	for _, i := range together {
		out[i].msg = nil
	}
	return s.writeAlone(ctx, ws, out, run, append(alone, together...)), nil
}

// writeAlone runs the writes at indices each in a transaction of its own.
func (s *Server) writeAlone(ctx context.Context, ws []moneyWrite, out []moneyResult, run func(int, pgx.Tx) error, indices []int) []moneyResult {
	for _, i := range indices {
		if err := database.InTx(ctx, s.db, func(tx pgx.Tx) error { return run(i, tx) }); err != nil {
			out[i] = moneyResult{err: err}
		}
	}
	return out
}
