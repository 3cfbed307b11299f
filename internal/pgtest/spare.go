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
// test runs, so a test that starts usually finds its database made.
//
// A spare is a clone no test has taken yet. Until taken it carries the
// comment spareComment, and its maker holds a session advisory lock keyed by
// its name. A process that ends with a spare leaves it behind; the next maker
// on the server finds it by the comment and, its lock being free, drops it.
const spareComment = "pgtest spare"

// maker hands out clones of one template, one made ahead.
type maker struct {
	tpl   pgtestdb.Config // the template's name, owner and role
	ready chan spare      // the spare made ahead; one at a time

	// session is the maker's one connection, to the server's maintenance
	// database: it clones, marks and sweeps, and holds each spare's
	// advisory lock until the spare is taken. mu keeps it to one statement
	// at a time.
	mu      sync.Mutex
	session *sql.Conn
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
	m := &maker{tpl: tpl, ready: make(chan spare, 1), session: session}
	if _, loaded := makers.LoadOrStore(key, m); loaded { // a parallel test's
		session.Close()
		admin.Close()
		return nil
	}
	m.sweep(ctx)
	go m.make()
	return nil
}

// take returns the spare made ahead, waiting for it if need be, and starts
// making the next. The database is the caller's: no longer a spare.
func (m *maker) take(ctx context.Context) (pgtestdb.Config, error) {
	s := <-m.ready
	go m.make()
	if s.err != nil {
		return pgtestdb.Config{}, s.err
	}
	// Unmarked before it is unlocked: a sweep that then gets the lock
	// finds it unmarked and leaves it.
	if err := m.exec(ctx, "COMMENT ON DATABASE "+quote(s.name)+" IS NULL"); err != nil {
		return pgtestdb.Config{}, err
	}
	if err := m.exec(ctx, "SELECT pg_advisory_unlock(hashtext($1))", s.name); err != nil {
		return pgtestdb.Config{}, err
	}
	inst := m.tpl
	inst.Database = s.name
	return inst, nil
}

// make clones the template into a new spare and offers it on ready.
func (m *maker) make() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	name := m.tpl.Database + "_inst_" + hex.EncodeToString(id)
	// Locked before it exists, so no sweep mistakes it for one left behind.
	err := m.exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", name)
	if err == nil {
		err = m.exec(ctx, fmt.Sprintf("CREATE DATABASE %s WITH TEMPLATE %s OWNER %s",
			quote(name), quote(m.tpl.Database), quote(m.tpl.User)))
	}
	if err == nil {
		err = m.exec(ctx, "COMMENT ON DATABASE "+quote(name)+" IS '"+spareComment+"'")
	}
	if err != nil {
		err = fmt.Errorf("pgtest: clone template %s: %w", m.tpl.Database, err)
	}
	m.ready <- spare{name: name, err: err}
}

// sweep drops the spares that processes which have ended left on the server.
func (m *maker) sweep(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rows, err := m.session.QueryContext(ctx, `SELECT d.datname FROM pg_database d
		WHERE shobj_description(d.oid, 'pg_database') = $1 AND d.datname LIKE 'testdb\_tpl\_%\_inst\_%'`, spareComment)
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
		// Locked, and still marked once locked: its maker has ended (a
		// maker unmarks a spare it hands out before unlocking it).
		var orphan bool
		err := m.session.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, n).Scan(&orphan)
		if err != nil || !orphan {
			continue
		}
		err = m.session.QueryRowContext(ctx, `SELECT coalesce(shobj_description(oid, 'pg_database') = $2, false)
			FROM pg_database WHERE datname = $1`, n, spareComment).Scan(&orphan)
		if err == nil && orphan {
			_, _ = m.session.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(n)+" WITH (FORCE)")
		}
		_, _ = m.session.ExecContext(ctx, "SELECT pg_advisory_unlock(hashtext($1))", n)
	}
}

// exec runs a statement on the maker's session.
func (m *maker) exec(ctx context.Context, query string, args ...any) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.session.ExecContext(ctx, query, args...)
	return err
}

func quote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }
