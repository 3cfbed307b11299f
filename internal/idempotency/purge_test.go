package idempotency_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/pgtest"
)

func TestPurgeKeepsTheRetentionAndDeletesTheRest(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.New(t, []pgtest.Schema{{Name: "keys", Lines: []database.Line{idempotency.Line()}}}), "keys")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	// 12,000 keys 8 days old (more than two batches), one 6 days old, 30 a
	// day old and 20 from just now.
	insert := func(n int, age time.Duration) {
		t.Helper()
		if _, err := db.Exec(ctx, `INSERT INTO idempotency_keys (caller, request_id, method, request_hash, create_time)
			SELECT 'people/p', gen_random_uuid(), 'M', '\x00', $2 FROM generate_series(1, $1)`, n, now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	insert(12000, 8*24*time.Hour)
	insert(30, 25*time.Hour)
	insert(20, time.Minute)
	if _, err := db.Exec(ctx, `INSERT INTO idempotency_keys (caller, request_id, method, request_hash, create_time) VALUES ('people/p', $1, 'M', '\x00', $2)`,
		uuid.NewString(), now.Add(-6*24*time.Hour)); err != nil {
		t.Fatal(err)
	}

	n, err := idempotency.Purge(ctx, db, now.Add(-7*24*time.Hour))
	if err != nil || n != 12000 {
		t.Fatalf("purged %d (%v), want 12000", n, err)
	}
	left := func() (n int) {
		t.Helper()
		if err := db.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := left(); got != 51 {
		t.Errorf("%d keys left, want 51", got)
	}
	// The job raises a retention under 24 hours to 24 hours: the API's promise.
	runner := job.NewRunner(zaptest.NewLogger(t), prometheus.NewRegistry())
	if _, err := runner.Once(ctx, idempotency.PurgeJob("keys.purge", db, time.Hour, func() time.Time { return now })); err != nil {
		t.Fatal(err)
	}
	if got := left(); got != 20 {
		t.Errorf("%d keys left after a purge with a 1h retention, want the 20 of the last hour", got)
	}
}
