package pgtest_test

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/internal/pgtest"
)

// TestFailedTestsLeaveNoDatabase runs a failing test in a child process and
// checks that its database is gone afterwards, and kept with PGTEST_KEEP_FAILED=1.
func TestFailedTestsLeaveNoDatabase(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		// The first database comes from pgtestdb, the second from the
		// maker: both paths keep or drop a failed test's.
		for range 2 {
			t.Run("", func(t *testing.T) {
				url := pgtest.New(t, nil)
				cfg, _ := pgx.ParseConfig(url)
				os.Stdout.WriteString("\nDATABASE=" + cfg.Database + "\n")
				t.Fatal("failing on purpose")
			})
		}
		return
	}
	for _, keep := range []string{"", "1"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFailedTestsLeaveNoDatabase$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PGTEST_CHILD=1", pgtest.KeepEnv+"="+keep)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("the child test passed:\n%s", out)
		}
		var names []string
		for _, part := range strings.Split(string(out), "\nDATABASE=")[1:] {
			name, _, _ := strings.Cut(part, "\n")
			names = append(names, name)
		}
		if len(names) != 2 {
			t.Fatalf("want two database names in:\n%s", out)
		}
		for _, name := range names {
			exists := databaseExists(t, name)
			if keep == "" && exists {
				t.Errorf("a failed test left database %s behind", name)
			}
			if keep == "1" {
				if !exists {
					t.Errorf("%s=1 did not keep database %s", pgtest.KeepEnv, name)
				}
				dropDatabase(t, name)
			}
		}
	}
}

func adminConn(t *testing.T) *pgx.Conn {
	t.Helper()
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		url = pgtest.DefaultURL
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func databaseExists(t *testing.T, name string) bool {
	var n int
	if err := adminConn(t).QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func dropDatabase(t *testing.T, name string) {
	if _, err := adminConn(t).Exec(context.Background(), `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
}

// TestClonesMadeAhead takes databases in turn: each is the test's own, with
// the template's schema, and dropped once its test ends. A process that ends
// with a clone made ahead leaves it behind, and the next process's first
// test sweeps it away.
func TestClonesMadeAhead(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "spares" {
		for range 2 {
			t.Run("", func(t *testing.T) { pgtest.New(t, nil) })
		}
		return
	}
	var names []string
	for i := range 3 {
		t.Run("", func(t *testing.T) {
			url := pgtest.New(t, []pgtest.Schema{{Name: "clones", Migrations: fstest.MapFS{
				"00001_t.sql": {Data: []byte("-- +goose Up\nCREATE TABLE t (n int);\n")},
			}}})
			conn, err := pgx.Connect(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var name string
			var comment *string
			if err := conn.QueryRow(context.Background(), `INSERT INTO clones.t VALUES ($1)
				RETURNING current_database(), shobj_description((SELECT oid FROM pg_database WHERE datname = current_database()), 'pg_database')`, i).
				Scan(&name, &comment); err != nil {
				t.Fatalf("database %d lacks the template's table: %v", i, err)
			}
			if comment != nil {
				t.Errorf("database %s is marked %q", name, *comment)
			}
			if slices.Contains(names, name) {
				t.Errorf("database %s handed out twice", name)
			}
			names = append(names, name)
		})
	}
	// Dropped in the background once its test ended.
	for _, n := range names {
		deadline := time.Now().Add(30 * time.Second)
		for databaseExists(t, n) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if databaseExists(t, n) {
			t.Errorf("database %s outlived its test by 30s", n)
		}
	}

	child := func() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestClonesMadeAhead$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PGTEST_CHILD=spares")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
	}
	// Clones whose maker has ended: their advisory lock is free.
	orphans := func() []string {
		rows, err := adminConn(t).Query(context.Background(), `SELECT datname FROM pg_database
			WHERE datname LIKE 'testdb\_tpl\_%\_mk\_%' AND shobj_description(oid, 'pg_database') IS NULL
			AND pg_try_advisory_lock(hashtext(datname)) AND pg_advisory_unlock(hashtext(datname))`)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	child()
	left := orphans()
	if len(left) == 0 {
		t.Fatal("a process that ended left no spare: is one made ahead?")
	}
	child()
	for _, n := range left {
		if databaseExists(t, n) {
			t.Errorf("database %s, left by an ended process, was not swept", n)
		}
	}
}

// Hold lets one test at a time through when each asks for more room than
// the server has (one slot), across goroutines as across processes.
func TestHoldWaitsForRoom(t *testing.T) {
	const all = 1 << 20
	held, release := make(chan struct{}), make(chan struct{})
	t.Run("first", func(t *testing.T) {
		t.Parallel()
		pgtest.Hold(t, all)
		close(held)
		<-release
	})
	t.Run("second", func(t *testing.T) {
		t.Parallel()
		<-held
		start := time.Now()
		go func() {
			time.Sleep(300 * time.Millisecond)
			close(release)
		}()
		pgtest.Hold(t, all)
		if waited := time.Since(start); waited < 250*time.Millisecond {
			t.Errorf("the second test got room after %v, while the first held the only slot", waited)
		}
	})
}
