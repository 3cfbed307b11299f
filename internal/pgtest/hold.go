package pgtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// holdKey is the first key of the advisory locks that count the server's
// room (Hold); the second is the slot.
const holdKey = 0x67_68_74 // "ght"

// holdReserve is what Hold leaves of the server's connections to what is
// not a test's pools: templates and spare clones being made, the tests'
// own queries, psql sessions.
const holdReserve = 12

// holding are the tests of this process that hold room.
var holding sync.Map // test name → true

// holds reports whether test name, or a test it is part of, holds room.
func holds(name string) bool {
	for i := range name {
		if name[i] == '/' {
			if _, ok := holding.Load(name[:i]); ok {
				return true
			}
		}
	}
	_, ok := holding.Load(name)
	return ok
}

// Hold waits until the server has room for one more test holding about
// conns connections, and keeps that room until t ends. go test runs
// packages side by side (-p) and tests within each (-parallel), as many as
// there are CPUs, and their pools could otherwise take the server past
// max_connections, refusing connections with 53300 ("remaining connection
// slots are reserved"). The room is counted across processes by advisory
// locks in the server's maintenance database: one lock per slot, of
// (max_connections - superuser_reserved_connections - holdReserve) / conns
// slots, at least one. A test that already holds room (a subtest's parent,
// a second Env in one test) takes none more, so that tests cannot wait on
// each other.
func Hold(t testing.TB, conns int) {
	t.Helper()
	name := t.Name()
	if holds(name) {
		return
	}
	holding.Store(name, true)
	conf, err := serverConfig()
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, conf.URL())
	if err != nil {
		holding.Delete(name)
		t.Fatalf("pgtest: connect to hold room: %v", err)
	}
	// The lock goes with the connection, closed after what the test
	// started later (cleanups run last first).
	t.Cleanup(func() {
		c.Close(context.Background())
		holding.Delete(name)
	})
	var room int
	if err := c.QueryRow(ctx, `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int`).Scan(&room); err != nil {
		t.Fatalf("pgtest: the server's connections: %v", err)
	}
	slots := max(1, (room-holdReserve)/conns)
	deadline := time.Now().Add(15 * time.Minute)
	for {
		for slot := range slots {
			var got bool
			if err := c.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, holdKey, slot).Scan(&got); err != nil {
				t.Fatalf("pgtest: hold room: %v", err)
			}
			if got {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pgtest: no room for %d more connections on the server after 15 minutes (%d slots, all held)", conns, slots)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
