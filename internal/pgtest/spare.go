package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/peterldowns/pgtestdb"
)

// A test's database is a clone of the migrated template, and cloning takes
// a few hundred milliseconds (CREATE DATABASE copies every relation). A
// maker clones the next test's database in the background while the current
// test runs, so a test that starts usually finds its database made; and it
// drops a clone in the background once its test has ended.
//
// A maker's clones are named <template>_mk_<id>. From before a clone is
// created until it is dropped, its maker holds a session advisory lock keyed
// by its name; so a clone whose lock is free was left by a process that has
// ended (a spare made ahead, or one whose drop was under way) and is garbage,
// unless it was kept for inspection (keptComment). Each maker sweeps such
// clones away when it starts.
const (
	cloneInfix  = "_mk_"
	keptComment = "pgtest kept"
)

// maker hands out clones of one template, one made ahead.
type maker struct {
	tpl   pgtestdb.Config // the template's name, owner and role
	ready chan spare      // the clone made ahead; one at a time

	// session holds the locks of the maker's clones. mu keeps it to one
	// statement at a time.
	mu      sync.Mutex
	session *sql.Conn
	// admin clones, drops and sweeps, on the server's maintenance database.
	admin *sql.DB
	// ended are taken clones whose tests have ended, to drop.
	ended chan string
}

type spare struct {
	name string
	err  error
}

// makers holds the process's maker of each template, by the migrations'
// hash: tests of one package run in one process and share it.
var makers sync.Map // string → *maker

// startMaker starts the maker of the template inst was cloned from (inst is
// a pgtestdb instance, named <template>_inst_<id>) under key.
func startMaker(key string, conf pgtestdb.Config, inst *pgtestdb.Config) error {
	tplName, _, ok := strings.Cut(inst.Database, "_inst_")
	if !ok {
		return fmt.Errorf("pgtest: instance %q is not named after its template", inst.Database)
	}
	admin, err := conf.Connect()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	session, err := admin.Conn(ctx)
	if err != nil {
		admin.Close()
		return err
	}
	tpl := *inst
	tpl.Database = tplName
	m := &maker{tpl: tpl, ready: make(chan spare, 1), session: session, admin: admin, ended: make(chan string, 256)}
	if _, loaded := makers.LoadOrStore(key, m); loaded { // a parallel test's
		session.Close()
		admin.Close()
		return nil
	}
	// In the background, as the clones are: a sweep drops each clone left
	// behind, a tenth of a second apiece, which the test need not wait for.
	go func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		m.sweep(sctx)
		cancel()
		m.make()
	}()
	go m.dropEnded()
	return nil
}

// take returns the clone made ahead, waiting for it if need be, and starts
// making the next. It stays locked until end or keep.
func (m *maker) take() (pgtestdb.Config, error) {
	s := <-m.ready
	go m.make()
	if s.err != nil {
		return pgtestdb.Config{}, s.err
	}
	inst := m.tpl
	inst.Database = s.name
	return inst, nil
}

// end has a taken clone, whose test has ended, dropped in the background.
func (m *maker) end(name string) { m.ended <- name }

// keep leaves a taken clone on the server for inspection, out of sweeps' way.
func (m *maker) keep(ctx context.Context, name string) error {
	if _, err := m.admin.ExecContext(ctx, "COMMENT ON DATABASE "+quote(name)+" IS '"+keptComment+"'"); err != nil {
		return err
	}
	return m.unlock(ctx, name)
}

// make clones the template into a new clone and offers it on ready.
func (m *maker) make() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	name := m.tpl.Database + cloneInfix + hex.EncodeToString(id)
	// Locked before it exists, so no sweep takes it for one left behind.
	m.mu.Lock()
	_, err := m.session.ExecContext(ctx, "SELECT pg_advisory_lock(hashtext($1))", name)
	m.mu.Unlock()
	if err == nil {
		_, err = m.admin.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s WITH TEMPLATE %s OWNER %s",
			quote(name), quote(m.tpl.Database), quote(m.tpl.User)))
	}
	if err != nil {
		err = fmt.Errorf("pgtest: clone template %s: %w", m.tpl.Database, err)
	}
	m.ready <- spare{name: name, err: err}
}

// dropEnded drops the clones whose tests have ended, then frees their locks.
func (m *maker) dropEnded() {
	for name := range m.ended {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if _, err := m.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)"); err == nil {
			_ = m.unlock(ctx, name)
		}
		cancel()
	}
}

func (m *maker) unlock(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.session.ExecContext(ctx, "SELECT pg_advisory_unlock(hashtext($1))", name)
	return err
}

// sweep drops the clones that processes which have ended left on the server:
// those whose lock is free, but for the kept ones.
func (m *maker) sweep(ctx context.Context) {
	rows, err := m.admin.QueryContext(ctx, `SELECT datname FROM pg_database
		WHERE datname LIKE 'testdb\_tpl\_%\_mk\_%'
		AND shobj_description(oid, 'pg_database') IS DISTINCT FROM $1`, keptComment)
	if err != nil {
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			names = append(names, n)
		}
	}
	rows.Close()
	for _, n := range names {
		m.mu.Lock()
		var free bool
		err := m.session.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", n).Scan(&free)
		m.mu.Unlock()
		if err != nil || !free {
			continue // its maker is running
		}
		_, _ = m.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(n)+" WITH (FORCE)")
		_ = m.unlock(ctx, n)
	}
}

func quote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }
