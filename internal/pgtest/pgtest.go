// Package pgtest gives each test its own PostgreSQL database, cloned from a
// template in which every service's migrations have run, so tests stay
// isolated without a shared, dirty database. A clone takes a few hundred
// milliseconds, so the next test's is made while a test runs (spare.go).
//
// The server comes from TEST_DATABASE_URL (default: the local server as the
// current user). Test code only; it must not be imported by production code.
package pgtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/peterldowns/pgtestdb"

	"github.com/guildhall/guildhall/internal/database"
)

// Schema is one service's migrations, applied in a schema of that name
// after the platform's migration lines.
type Schema struct {
	Name       string
	Migrations fs.FS // may be nil: lines only
	Lines      []database.Line
}

// DefaultURL is used when TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://127.0.0.1:5432/postgres?sslmode=disable"

// KeepEnv names the variable that, set to 1, keeps a failed test's database
// for inspection; by default every test database is dropped.
const KeepEnv = "PGTEST_KEEP_FAILED"

// New returns the URL of a fresh database holding the migrated schemas. It
// is dropped when the test ends, failed or not, unless PGTEST_KEEP_FAILED=1
// keeps a failed test's database (its name is then logged).
//
// The first test of a process gets its database from pgtestdb, which makes
// the template if need be; later ones take the clone made for them in the
// background meanwhile (see maker).
func New(t testing.TB, schemas []Schema) string {
	t.Helper()
	conf, err := serverConfig()
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	m := migrator(schemas)
	key, err := m.Hash()
	if err != nil {
		t.Fatalf("pgtest: hash the migrations: %v", err)
	}
	var inst *pgtestdb.Config
	var from *maker // the maker inst was taken from; nil: pgtestdb's, which drops it
	// Registered first, so it runs after pgtestdb's own cleanup, which
	// drops the database of a passing test and leaves a failing one's.
	t.Cleanup(func() {
		if inst == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var err error
		switch {
		case t.Failed() && os.Getenv(KeepEnv) == "1":
			t.Logf("kept database %s of the failed test (%s=1)", inst.Database, KeepEnv)
			if from != nil {
				err = from.keep(ctx, inst.Database)
			}
		case t.Failed(): // at once: the failure report names no leftover
			err = drop(conf, inst.Database)
			if from != nil {
				from.end(inst.Database) // frees its lock
			}
		case from != nil:
			from.end(inst.Database) // dropped in the background
		}
		if err != nil {
			t.Logf("database %s: %v", inst.Database, err)
		}
	})
	if mk, ok := makers.Load(key); ok {
		from = mk.(*maker)
		got, err := from.take()
		if err != nil {
			t.Fatal(err)
		}
		inst = &got
		return inst.URL()
	}
	inst = pgtestdb.Custom(t, conf, m)
	if err := startMaker(key, conf, inst); err != nil {
		t.Fatal(err)
	}
	return inst.URL()
}

// drop removes a test database, ending the sessions still using it.
func drop(conf pgtestdb.Config, name string) error {
	db, err := conf.Connect()
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+strings.ReplaceAll(name, `"`, `""`)+`" WITH (FORCE)`)
	return err
}

func serverConfig() (pgtestdb.Config, error) {
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		raw = DefaultURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return pgtestdb.Config{}, err
	}
	user := u.User.Username()
	if user == "" {
		user = os.Getenv("USER")
	}
	if user == "" {
		user = "postgres"
	}
	pass, _ := u.User.Password()
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	db := u.Path
	if len(db) > 1 {
		db = db[1:]
	} else {
		db = "postgres"
	}
	opts := u.RawQuery
	if opts == "" {
		opts = "sslmode=disable"
	}
	return pgtestdb.Config{
		DriverName: "pgx", Host: u.Hostname(), Port: port, User: user, Password: pass,
		Database: db, Options: opts, ForceTerminateConnections: true,
	}, nil
}

type migrator []Schema

// Hash names the template after the migrations' contents, so a changed
// migration gets a new template and an unchanged one is reused across runs.
func (m migrator) Hash() (string, error) {
	h := sha256.New()
	for _, s := range m {
		fmt.Fprintf(h, "schema %s\n", s.Name)
		all := []fs.FS{}
		for _, l := range s.Lines {
			fmt.Fprintf(h, "line %s\n", l.Name)
			all = append(all, l.Migrations)
		}
		if s.Migrations != nil {
			all = append(all, s.Migrations)
		}
		for _, fsys := range all {
			err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := fs.ReadFile(fsys, path)
				if err != nil {
					return err
				}
				fmt.Fprintf(h, "%s %d\n", path, len(b))
				h.Write(b)
				return nil
			})
			if err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func (m migrator) Migrate(ctx context.Context, _ *sql.DB, conf pgtestdb.Config) error {
	for _, s := range m {
		if err := database.Migrate(ctx, conf.URL(), s.Name, s.Migrations, s.Lines...); err != nil {
			return err
		}
	}
	return nil
}
