package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/pgtest"
)

// TestHistory: a creation and two moves recorded through History come back
// in order, by resource, with the actor and the service clock's time, for
// a text key and a uuid key alike; a resource without moves is absent.
func TestHistory(t *testing.T) {
	type state = roadmapv1.Release_State
	const (
		planned  = roadmapv1.Release_STATE_PLANNED
		dev      = roadmapv1.Release_STATE_IN_DEVELOPMENT
		released = roadmapv1.Release_STATE_RELEASED
	)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.New(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	for _, c := range []struct{ key, id, other string }{
		{"text", "r1", "r2"},
		{"uuid", "0190a1b2-0000-7000-8000-000000000001", "0190a1b2-0000-7000-8000-000000000002"},
	} {
		t.Run(c.key, func(t *testing.T) {
			h := lifecycle.History{Table: "moves_" + c.key, Key: "thing_id"}
			if _, err := pool.Exec(ctx, `CREATE TABLE moves_`+c.key+` (id bigserial PRIMARY KEY, thing_id `+c.key+` NOT NULL,
				from_state text NOT NULL, to_state text NOT NULL, actor text NOT NULL, time timestamptz NOT NULL, note text NOT NULL DEFAULT '')`); err != nil {
				t.Fatal(err)
			}
			jane := auth.With(ctx, &auth.Principal{Person: "people/jane"})
			t1 := time.Date(2026, 11, 29, 15, 0, 0, 0, time.FixedZone("CET", 3600))
			err := database.InTx(jane, pool, func(tx pgx.Tx) error {
				if err := lifecycle.Created(jane, tx, h, c.id, planned, t0, "created"); err != nil {
					return err
				}
				record := lifecycle.Record[state](jane, h, c.id)
				if err := record(tx, lifecycle.Move[state]{From: planned, To: dev, Actor: "people/jane", Time: t1, Note: "go"}); err != nil {
					return err
				}
				return record(tx, lifecycle.Move[state]{From: dev, To: released, Actor: "services/roadmap", Time: t1.Add(time.Hour)})
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := lifecycle.Read[state](ctx, pool, h, c.id, c.other)
			if err != nil {
				t.Fatal(err)
			}
			want := []lifecycle.Entry[state]{
				{To: planned, Actor: "people/jane", Time: t0, Note: "created"},
				{From: planned, To: dev, Actor: "people/jane", Time: t1.UTC(), Note: "go"},
				{From: dev, To: released, Actor: "services/roadmap", Time: t1.Add(time.Hour).UTC()},
			}
			if len(got) != 1 || len(got[c.id]) != len(want) {
				t.Fatalf("read %+v, want %d entries of %s only", got, len(want), c.id)
			}
			for i, e := range got[c.id] {
				if e != want[i] {
					t.Errorf("entry %d: %+v, want %+v", i, e, want[i])
				}
			}
		})
	}
}
