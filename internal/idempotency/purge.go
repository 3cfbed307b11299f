package idempotency

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/internal/job"
)

// MinRetention is the shortest time request ids may be kept: the API
// promises that a retry within 24 hours replays the first response.
const MinRetention = 24 * time.Hour

// purgeBatch bounds each delete, so a purge never holds many locks or
// writes much WAL in one transaction.
const purgeBatch = 5000

// PurgeInterval is how often old request ids are purged.
const PurgeInterval = time.Hour

// PurgeJob deletes, every PurgeInterval, the request ids of db's
// idempotency_keys table older than keep (at least MinRetention), so the
// table holds days of requests rather than every request ever made. One
// replica at a time purges (an advisory lock on db).
func PurgeJob(name string, db *pgxpool.Pool, keep time.Duration, now func() time.Time) job.Job {
	return job.Job{Name: name, Interval: PurgeInterval, Exclusive: db, Pass: func(ctx context.Context) (bool, error) {
		_, err := Purge(ctx, db, now().Add(-max(keep, MinRetention)))
		return false, err
	}}
}

// Purge deletes the keys created before cutoff, a batch at a time, and
// returns how many it deleted.
func Purge(ctx context.Context, db *pgxpool.Pool, cutoff time.Time) (int64, error) {
	var total int64
	for {
		tag, err := db.Exec(ctx, `DELETE FROM idempotency_keys WHERE (caller, request_id) IN (
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
