package idempotency_test

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap/zaptest"

	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/pgtest"
)

// keysTable is the table every service's migrations create.
var keysTable = fstest.MapFS{"00001_keys.sql": {Data: []byte(`-- +goose Up
CREATE TABLE idempotency_keys (
    caller       text        NOT NULL,
    request_id   uuid        NOT NULL,
    method       text        NOT NULL,
    request_hash bytea       NOT NULL,
    response     bytea,
    create_time  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, request_id)
);
-- +goose Down
DROP TABLE idempotency_keys;
`)}}

func TestPurgeKeepsTheRetentionAndDeletesTheRest(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.New(t, []pgtest.Schema{{Name: "keys", Migrations: keysTable}}), "keys")
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

	p := idempotency.NewPurger(db, 7*24*time.Hour, func() time.Time { return now }, zaptest.NewLogger(t))
	n, err := p.Purge(ctx)
	if err != nil || n != 12000 {
		t.Fatalf("purged %d (%v), want 12000", n, err)
	}
	var left int
	_ = db.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys`).Scan(&left)
	if left != 51 {
		t.Errorf("%d keys left, want 51", left)
	}
	// A retention under 24 hours is raised to 24 hours: the API's promise.
	short := idempotency.NewPurger(db, time.Hour, func() time.Time { return now }, zaptest.NewLogger(t))
	if n, err := short.Purge(ctx); err != nil || n != 31 {
		t.Fatalf("purged %d (%v) with a 1h retention, want the 31 keys older than 24h", n, err)
	}
	_ = db.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys WHERE create_time > $1`, now.Add(-time.Hour)).Scan(&left)
	if left != 20 {
		t.Errorf("%d keys of the last hour left, want 20", left)
	}
}
