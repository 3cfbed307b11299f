package idempotency

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
)

// MinRetention is the shortest time request ids may be kept: the API
// promises that a retry within 24 hours replays the first response.
const MinRetention = 24 * time.Hour

// purgeBatch bounds each delete, so a purge never holds many locks or
// writes much WAL in one transaction.
const purgeBatch = 5000

// Purger deletes request ids older than the retention, so the keys table
// holds days of requests rather than every request ever made.
type Purger struct {
	db    *pgxpool.Pool
	keep  time.Duration
	every time.Duration
	now   func() time.Time
	log   *zap.Logger
}

// NewPurger returns a Purger for the idempotency_keys table of db's schema
// that keeps keys for keep (at least MinRetention) and runs every hour.
func NewPurger(db *pgxpool.Pool, keep time.Duration, now func() time.Time, log *zap.Logger) *Purger {
	return &Purger{db: db, keep: max(keep, MinRetention), every: time.Hour, now: now, log: log}
}

// Purge deletes the keys created before now minus the retention, a batch at
// a time, and returns how many it deleted.
func (p *Purger) Purge(ctx context.Context) (int64, error) {
	cutoff := p.now().Add(-p.keep)
	var total int64
	for {
		tag, err := p.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE (caller, request_id) IN (
			SELECT caller, request_id FROM idempotency_keys WHERE create_time < $1 LIMIT $2)`, cutoff, purgeBatch)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeBatch {
			return total, nil
		}
	}
}

// Run purges now and then every hour until ctx ends.
func (p *Purger) Run(ctx context.Context) {
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		n, err := p.Purge(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.log.Warn("purging old request ids failed; will retry", zap.Error(err))
		case n > 0:
			p.log.Info("purged old request ids", zap.Int64("deleted", n), zap.Duration("kept", p.keep))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
