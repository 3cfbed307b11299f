package database

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/internal/sqlstate"
)

// txAttempts bounds how often InTx runs a transaction that PostgreSQL
// aborted for a deadlock or a serialization failure.
const txAttempts = 3

// Beginner starts transactions: a pool, a connection or a transaction.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// InTx runs fn in a transaction and commits it, as pgx.BeginFunc does. When
// PostgreSQL aborts the transaction for a deadlock (SQLSTATE 40P01) or a
// serialization failure (40001), the transaction left nothing behind and
// the other side has moved on, so fn runs again from the start, up to three
// times in all after a short random pause. fn must therefore keep its
// effects inside tx. Any other error, or the last attempt's, is returned as
// it is (the error boundary maps 40P01/40001 to ABORTED).
func InTx(ctx context.Context, db Beginner, fn func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, db, fn)
		if err == nil || attempt == txAttempts || !retryable(err) {
			return err
		}
		pause := time.Duration(1+rand.IntN(10*attempt)) * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

func retryable(err error) bool {
	return sqlstate.Is(err, sqlstate.DeadlockDetected, sqlstate.SerializationFailure)
}
