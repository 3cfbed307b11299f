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
	admin *sql.DB         // the server's maintenance database
	tpl   pgtestdb.Config // the template's name, owner and role
	ready chan spare      // the spare made ahead; one at a time

	mu    sync.Mutex // guards owner, a session: one statement at a time
	owner *sql.Conn  // holds each spare's advisory lock until it is taken
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
	owner, err := admin.Conn(ctx)
	if err != nil {
		admin.Close()
		return err
	}
	tpl := *inst
	tpl.Database = tplName
	m := &maker{admin: admin, tpl: tpl, ready: make(chan spare, 1), owner: owner}
	if _, loaded := makers.LoadOrStore(key, m); loaded { // a parallel test's
		owner.Close()
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
	if _, err := m.admin.ExecContext(ctx, "COMMENT ON DATABASE "+quote(s.name)+" IS NULL"); err != nil {
		return pgtestdb.Config{}, err
	}
	m.locked(ctx, "SELECT pg_advisory_unlock(hashtext($1))", s.name)
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
	err := m.locked(ctx, "SELECT pg_advisory_lock(hashtext($1))", name)
	if err == nil {
		_, err = m.admin.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s WITH TEMPLATE %s OWNER %s",
			quote(name), quote(m.tpl.Database), quote(m.tpl.User)))
	}
	if err == nil {
		_, err = m.admin.ExecContext(ctx, "COMMENT ON DATABASE "+quote(name)+" IS '"+spareComment+"'")
	}
	if err != nil {
		err = fmt.Errorf("pgtest: clone template %s: %w", m.tpl.Database, err)
	}
	m.ready <- spare{name: name, err: err}
}

// sweep drops the spares that processes which have ended left on the server.
func (m *maker) sweep(ctx context.Context) {
	rows, err := m.admin.QueryContext(ctx, `SELECT d.datname FROM pg_database d
		JOIN pg_shdescription c ON c.objoid = d.oid AND c.classoid = 'pg_database'::regclass
		WHERE c.description = $1 AND d.datname LIKE 'testdb\_tpl\_%\_inst\_%'`, spareComment)
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
		var free bool
		m.mu.Lock()
		err := m.owner.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", n).Scan(&free)
		m.mu.Unlock()
		if err != nil || !free {
			continue // its maker is still running
		}
		_, _ = m.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quote(n)+" WITH (FORCE)")
		_ = m.locked(ctx, "SELECT pg_advisory_unlock(hashtext($1))", n)
	}
}

// locked runs query on the owner session.
func (m *maker) locked(ctx context.Context, query, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.owner.ExecContext(ctx, query, name)
	return err
}

func quote(ident string) string { return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"` }
