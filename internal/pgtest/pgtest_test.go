package pgtest_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/internal/pgtest"
)

// TestFailedTestsLeaveNoDatabase runs a failing test in a child process and
// checks that its database is gone afterwards, and kept with PGTEST_KEEP_FAILED=1.
func TestFailedTestsLeaveNoDatabase(t *testing.T) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		url := pgtest.New(t, nil)
		cfg, _ := pgx.ParseConfig(url)
		os.Stdout.WriteString("\nDATABASE=" + cfg.Database + "\n")
		t.Fatal("failing on purpose")
	}
	for _, keep := range []string{"", "1"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFailedTestsLeaveNoDatabase$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PGTEST_CHILD=1", pgtest.KeepEnv+"="+keep)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("the child test passed:\n%s", out)
		}
		_, after, ok := strings.Cut(string(out), "\nDATABASE=")
		name, _, _ := strings.Cut(after, "\n")
		if !ok || name == "" {
			t.Fatalf("no database name in:\n%s", out)
		}
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
