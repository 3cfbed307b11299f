package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/pgtest"
)

// TestHistory: a creation and two moves recorded through History come back
// in order, filled into each resource's history, with the actor and the service clock's time, for
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
			h := lifecycle.History{Collection: "releases", Table: "moves_" + c.key, Key: "thing_id"}
			if _, err := pool.Exec(ctx, `CREATE TABLE moves_`+c.key+` (id bigserial PRIMARY KEY, thing_id `+c.key+` NOT NULL,
				from_state text NOT NULL, to_state text NOT NULL, actor text NOT NULL, time timestamptz NOT NULL, note text NOT NULL DEFAULT '')`); err != nil {
				t.Fatal(err)
			}
			jane := auth.With(ctx, &auth.Principal{Person: "people/jane"})
			t1 := time.Date(2026, 11, 29, 15, 0, 0, 123456000, time.FixedZone("CET", 3600))
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
			msgs := []*roadmapv1.Release{{Name: "releases/" + c.id}, {Name: "releases/" + c.other}}
			if err := lifecycle.Fill(ctx, pool, h, msgs...); err != nil {
				t.Fatal(err)
			}
			want := []*roadmapv1.ReleaseTransition{
				{ToState: planned, Actor: "people/jane", Time: timestamppb.New(t0), Note: "created"},
				{FromState: planned, ToState: dev, Actor: "people/jane", Time: timestamppb.New(t1), Note: "go"},
				{FromState: dev, ToState: released, Actor: "services/roadmap", Time: timestamppb.New(t1.Add(time.Hour))},
			}
			if got := msgs[0].GetHistory(); len(got) != len(want) {
				t.Fatalf("history %v, want %d entries", got, len(want))
			}
			for i, e := range msgs[0].GetHistory() {
				if !proto.Equal(e, want[i]) {
					t.Errorf("entry %d: %v, want %v", i, e, want[i])
				}
			}
			if len(msgs[1].GetHistory()) != 0 {
				t.Errorf("a release without moves has history %v", msgs[1].GetHistory())
			}
			// FillFrom, given the history as the statement reading the
			// resource reads it (in a session whose time zone is not UTC),
			// fills the same; and an empty history as nothing.
			for i, id := range []string{c.id, c.other} {
				var doc []byte
				err := database.InTx(ctx, pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, `SET LOCAL TimeZone = 'America/St_Johns'`); err != nil {
						return err
					}
					return tx.QueryRow(ctx, `SELECT (SELECT coalesce(jsonb_agg(t ORDER BY t.id), '[]') FROM moves_`+c.key+` t
						WHERE t.thing_id = $1)::jsonb`, id).Scan(&doc)
				})
				if err != nil {
					t.Fatal(err)
				}
				from := &roadmapv1.Release{Name: "releases/" + id}
				if err := lifecycle.FillFrom(from, doc); err != nil {
					t.Fatal(err)
				}
				if !proto.Equal(from, msgs[i]) {
					t.Errorf("FillFrom(%s): %v, want %v", doc, from, msgs[i])
				}
			}
			if err := lifecycle.FillFrom(&roadmapv1.Release{Name: "releases/x"}, []byte(`{"not":"a list"}`)); err == nil {
				t.Error("FillFrom took a document that is not a list")
			}
		})
	}
}
