package lifecycle_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"

	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/pgtest"
)

// light is a typed state, as the generated enums are.
type light int

const (
	green light = iota + 1
	amber
	red
	off
)

func (l light) String() string { return [...]string{"", "GREEN", "AMBER", "RED", "OFF"}[l] }

// lights: green → amber → red → green, and any lit state may go off, which is final.
var lights = lifecycle.New("lamp", map[light][]light{
	green: {amber, off},
	amber: {red, off},
	red:   {green, off},
})

type lamp struct {
	id      string
	state   light
	version int64
}

var t0 = time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)

func setup(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.New(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `
		CREATE TABLE lamps (id text PRIMARY KEY, state int NOT NULL, version bigint NOT NULL DEFAULT 1);
		CREATE TABLE lamp_moves (lamp_id text NOT NULL, from_state int NOT NULL, to_state int NOT NULL,
			actor text NOT NULL, time timestamptz NOT NULL, note text NOT NULL);
		CREATE TABLE lamp_hooked (kind text, name text, from_state text, to_state text, actor text);
		INSERT INTO lamps (id, state) VALUES ('l1', 1)`); err != nil {
		t.Fatal(err)
	}
	return pool
}

// spec is a lamp's transition as a service would write it.
func spec(to light, etag string, hook lifecycle.Hook) lifecycle.Spec[light, lamp] {
	ctx := context.Background()
	return lifecycle.Spec[light, lamp]{
		Machine: lights, Name: "lamps/l1", To: to, Etag: etag, Note: "n", Now: t0,
		Lock: func(tx pgx.Tx) (lamp, error) {
			var l lamp
			err := tx.QueryRow(ctx, `SELECT id, state, version FROM lamps WHERE id = 'l1' FOR UPDATE`).Scan(&l.id, &l.state, &l.version)
			return l, err
		},
		Of: func(l lamp) (light, string) { return l.state, strconv.FormatInt(l.version, 10) },
		Apply: func(tx pgx.Tx, l lamp, m lifecycle.Move[light]) (lamp, error) {
			err := tx.QueryRow(ctx, `UPDATE lamps SET state = $2, version = version + 1 WHERE id = $1 RETURNING id, state, version`,
				l.id, m.To).Scan(&l.id, &l.state, &l.version)
			return l, err
		},
		Record: func(tx pgx.Tx, m lifecycle.Move[light]) error {
			_, err := tx.Exec(ctx, `INSERT INTO lamp_moves VALUES ('l1', $1, $2, $3, $4, $5)`, m.From, m.To, m.Actor, m.Time, m.Note)
			return err
		},
		After: hook,
	}
}

func hooked(ctx context.Context, tx pgx.Tx, c lifecycle.Change) error {
	_, err := tx.Exec(ctx, `INSERT INTO lamp_hooked VALUES ($1, $2, $3, $4, $5)`, c.Kind, c.Name, c.From, c.To, c.Actor)
	return err
}

var errHook = errors.New("hook failed")

// TestTransition: each case starts from a GREEN lamp at version 1 and says
// what the caller gets and what is stored: the row, its recorded moves, and
// what the hook saw in the same transaction.
func TestTransition(t *testing.T) {
	jane := auth.With(context.Background(), &auth.Principal{Person: "people/jane"})
	cases := []struct {
		name     string
		to       light
		etag     string
		stay     bool
		target   light // decided under the lock (Spec.Target) when set
		hook     lifecycle.Hook
		code     codes.Code // codes.OK: the move is made
		reason   string
		state    light // stored afterwards
		recorded int   // moves and hook rows stored
	}{
		{name: "allowed move", to: amber, etag: "1", hook: hooked, state: amber, recorded: 1},
		{name: "allowed move without etag", to: off, hook: hooked, state: off, recorded: 1},
		{name: "illegal move", to: red, etag: "1", hook: hooked, code: codes.FailedPrecondition, reason: "ILLEGAL_TRANSITION", state: green},
		{name: "stale etag", to: amber, etag: "7", hook: hooked, code: codes.Aborted, reason: "ETAG_MISMATCH", state: green},
		{name: "stay put refused", to: green, hook: hooked, code: codes.FailedPrecondition, reason: "ILLEGAL_TRANSITION", state: green},
		{name: "stay put allowed", to: green, stay: true, hook: hooked, state: green},
		{name: "target decided under the lock", to: red, target: amber, hook: hooked, state: amber, recorded: 1},
		{name: "target refused", to: amber, target: red, hook: hooked, code: codes.FailedPrecondition, reason: "ILLEGAL_TRANSITION", state: green},
		{name: "hook error rolls the move back", to: amber, hook: func(context.Context, pgx.Tx, lifecycle.Change) error { return errHook }, code: codes.Unknown, state: green},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool := setup(t)
			sp := spec(c.to, c.etag, c.hook)
			sp.Stay = c.stay
			if c.target != 0 {
				sp.Target = func(_ pgx.Tx, l lamp) (light, error) {
					if l.state != green {
						t.Errorf("target saw %s, want the locked GREEN row", l.state)
					}
					return c.target, nil
				}
				c.to = c.target
			}
			var m lifecycle.Move[light]
			err := database.InTx(jane, pool, func(tx pgx.Tx) error {
				var err error
				_, m, err = lifecycle.Transition(jane, tx, sp)
				return err
			})
			switch {
			case c.code == codes.OK && err != nil:
				t.Fatalf("got %v, want the move made", err)
			case c.code == codes.Unknown:
				if !errors.Is(err, errHook) {
					t.Fatalf("got %v, want the hook's error", err)
				}
			case c.code != codes.OK:
				st := apierr.ToStatus(err)
				var ae *apierr.Error
				if st.Code() != c.code || !errors.As(err, &ae) || ae.Reason.String() != c.reason {
					t.Fatalf("got %v (%v), want %v %s", err, st.Code(), c.code, c.reason)
				}
				if c.reason == "ILLEGAL_TRANSITION" && (ae.Metadata["from"] != "GREEN" || ae.Metadata["to"] != c.to.String()) {
					t.Errorf("metadata %v, want from GREEN to %s", ae.Metadata, c.to)
				}
			}
			var state light
			var version int64
			if err := pool.QueryRow(context.Background(), `SELECT state, version FROM lamps`).Scan(&state, &version); err != nil {
				t.Fatal(err)
			}
			wantVersion := int64(1)
			if c.recorded > 0 {
				wantVersion = 2
			}
			if state != c.state || version != wantVersion {
				t.Errorf("stored %s v%d, want %s v%d", state, version, c.state, wantVersion)
			}
			var moves, hooks int
			if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM lamp_moves), (SELECT count(*) FROM lamp_hooked)`).Scan(&moves, &hooks); err != nil {
				t.Fatal(err)
			}
			if moves != c.recorded || hooks != c.recorded {
				t.Errorf("%d moves recorded and %d hooked, want %d", moves, hooks, c.recorded)
			}
			if c.recorded == 0 {
				return
			}
			want := lifecycle.Move[light]{Name: "lamps/l1", From: green, To: c.to, Actor: "people/jane", Time: t0, Note: "n"}
			if m != want {
				t.Errorf("move %+v, want %+v", m, want)
			}
			var actor, from, to, kind string
			var at time.Time
			if err := pool.QueryRow(context.Background(), `SELECT m.actor, m.time, h.from_state, h.to_state, h.kind FROM lamp_moves m, lamp_hooked h`).
				Scan(&actor, &at, &from, &to, &kind); err != nil {
				t.Fatal(err)
			}
			if actor != "people/jane" || !at.Equal(t0) || from != "GREEN" || to != c.to.String() || kind != "lamp" {
				t.Errorf("recorded %s at %s, hooked %s %s → %s; want people/jane at %s, lamp GREEN → %s", actor, at, kind, from, to, t0, c.to)
			}
		})
	}
}

// TestConcurrentTransitions: callers racing the same move with the same
// etag queue on the row lock; the first moves it, and every other one finds
// the etag stale (ABORTED) rather than moving it twice. Without an etag,
// the losers find the lamp already AMBER, and AMBER → AMBER is refused.
func TestConcurrentTransitions(t *testing.T) {
	for _, etag := range []string{"1", ""} {
		t.Run("etag="+etag, func(t *testing.T) {
			t.Parallel()
			pool := setup(t)
			ctx := auth.With(context.Background(), &auth.Principal{Person: "people/jane"})
			const n = 8
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = database.InTx(ctx, pool, func(tx pgx.Tx) error {
						_, _, err := lifecycle.Transition(ctx, tx, spec(amber, etag, hooked))
						return err
					})
				}()
			}
			wg.Wait()
			moved := 0
			for _, err := range errs {
				switch {
				case err == nil:
					moved++
				case etag != "" && apierr.ToStatus(err).Code() == codes.Aborted:
				case etag == "" && apierr.HasReason(err, lifecycle.ReasonIllegalTransition):
				default:
					t.Errorf("unexpected %v", err)
				}
			}
			var moves, version int
			if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM lamp_moves), (SELECT version FROM lamps)`).Scan(&moves, &version); err != nil {
				t.Fatal(err)
			}
			if moved != 1 || moves != 1 || version != 2 {
				t.Errorf("%d callers moved it, %d moves recorded, version %d; want 1, 1, 2", moved, moves, version)
			}
		})
	}
}

// TestRefuse: a move the table lists but the resource's condition forbids is
// refused as the table's refusals are, with the reason given.
func TestRefuse(t *testing.T) {
	err := lights.Refuse(green, amber, "the lamp is locked")
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != codes.FailedPrecondition || ae.Reason.String() != "ILLEGAL_TRANSITION" ||
		ae.Message != "the lamp is locked" || ae.Metadata["from"] != "GREEN" || ae.Metadata["to"] != "AMBER" {
		t.Fatalf("Refuse: %#v", err)
	}
}
