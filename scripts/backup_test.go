// Package scripts_test runs the operator scripts against a real Guildhall.
package scripts_test

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/app"
	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/pgtest"
)

var services = []string{"membership", "roadmap", "finance"}

// TestBackupRestore backs up a Guildhall with a ledger, restores it into
// three fresh databases (one per service, as compose and Kubernetes run
// it), and expects the same rows everywhere, the same balances, a schema
// the binary accepts without migrating, and a second restore refused.
func TestBackupRestore(t *testing.T) {
	for _, tool := range []string{"pg_dump", "pg_restore", "psql"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed: backups are plain PostgreSQL tools (apt-get install postgresql-client)", tool)
		}
	}
	env := apptest.Start(t)
	admin := env.WithToken(apptest.AdminToken)
	must := func(method, path, body string) {
		t.Helper()
		if res := admin.Do(t, method, path, body); res.Status != http.StatusOK {
			t.Fatalf("%s %s: %d %s", method, path, res.Status, res.Body)
		}
	}
	must("POST", "/v1/accounts?accountId=paypal", `{"displayName":"PayPal","type":"TYPE_ASSET","currencyCode":"USD"}`)
	must("POST", "/v1/accounts?accountId=donations", `{"displayName":"Donations","type":"TYPE_INCOME","currencyCode":"USD"}`)
	for i := range 5 {
		must("POST", "/v1/donations?requestId="+uuid.NewString(),
			fmt.Sprintf(`{"amount":{"currencyCode":"USD","minorUnits":"%d"},"donorName":"Donor %d","channel":"CHANNEL_PAYPAL"}`, 1000+i*250, i))
	}
	must("POST", "/v1/releases?releaseId=v11", `{"displayName":"v11"}`)
	// Those writes are the admin's activity, which reaches membership from
	// the outboxes a moment later: let it land before the backup.
	for _, svc := range []string{"roadmap", "finance"} {
		c := open(t, env.DatabaseURL, svc)
		for deadline := time.Now().Add(15 * time.Second); ; {
			var queued int
			if err := c.QueryRow(context.Background(), `SELECT count(*) FROM outbox`).Scan(&queued); err != nil {
				t.Fatal(err)
			}
			if queued == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still has %d messages queued", svc, queued)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	dir := t.TempDir()
	run(t, "backup.sh", []string{"GUILDHALL_DATABASE_URL=" + env.DatabaseURL}, dir)
	for _, f := range []string{"MANIFEST", "membership.dump", "roadmap.dump", "finance.dump"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Fatalf("backup did not write %s: %v", f, err)
		}
	}

	// Fresh databases, one per service; the script creates them.
	ctx := context.Background()
	// The server the tests run on, as pgtest finds it (make test sets
	// TEST_DATABASE_URL; a plain go test takes pgtest's default).
	adminURL := cmp.Or(os.Getenv("TEST_DATABASE_URL"), pgtest.DefaultURL)
	adminConn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adminConn.Close(context.Background()) })
	restoreEnv := []string{}
	targets := map[string]string{}
	for _, svc := range services {
		name := "restore_" + svc + "_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
		targets[svc] = withDB(t, adminURL, name)
		restoreEnv = append(restoreEnv, "GUILDHALL_"+strings.ToUpper(svc)+"_DATABASE_URL="+targets[svc])
		t.Cleanup(func() {
			_, _ = adminConn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		})
	}
	run(t, "restore.sh", restoreEnv, dir)

	// Every table of every schema holds the same rows.
	for _, svc := range services {
		src := open(t, env.DatabaseURL, svc)
		dst := open(t, targets[svc], svc)
		tables := tableNames(t, src, svc)
		if len(tables) < 3 {
			t.Fatalf("%s has only tables %v", svc, tables)
		}
		for _, tbl := range tables {
			a, b := digest(t, src, svc, tbl), digest(t, dst, svc, tbl)
			if a != b {
				t.Errorf("%s.%s differs after restore: %s vs %s", svc, tbl, a, b)
			}
		}
	}
	// The ledger: same entries, and balances that still equal their postings
	// (balances are kept by triggers, which must not run again on restore).
	src, dst := open(t, env.DatabaseURL, "finance"), open(t, targets["finance"], "finance")
	const ledger = `SELECT a.id, coalesce((SELECT sum(amount) FROM account_balances b WHERE b.account_id = a.id), 0)::bigint,
		coalesce((SELECT sum(amount) FROM postings p WHERE p.account_id = a.id), 0)::bigint,
		(SELECT count(*) FROM postings p WHERE p.account_id = a.id)
		FROM accounts a ORDER BY a.id`
	if a, b := rowsText(t, src, ledger), rowsText(t, dst, ledger); a != b || !strings.Contains(b, "paypal 7500 7500 5") {
		t.Errorf("ledger after restore:\n%s\nbefore:\n%s\nwant paypal holding 7500 in 5 postings", b, a)
	}
	// The restored schemas are at the binary's migration version: nothing to apply.
	for _, d := range app.Services() {
		if err := database.Migrate(ctx, targets[d.Name], d.Name, d.Migrations); err != nil {
			t.Errorf("migrate restored %s: %v", d.Name, err)
		}
	}
	if a, b := rowsText(t, src, ledger), rowsText(t, dst, ledger); a != b {
		t.Errorf("migrating the restored database changed the ledger")
	}

	// Restoring over a database that has data is refused, and changes nothing.
	cmd := exec.Command("./restore.sh", dir)
	cmd.Env = append(os.Environ(), restoreEnv...)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "fresh database") {
		t.Errorf("second restore: err %v, output %s; want a refusal naming fresh databases", err, out)
	}
	if a, b := rowsText(t, src, ledger), rowsText(t, dst, ledger); a != b {
		t.Errorf("a refused restore changed the ledger")
	}

	// A tampered dump is refused before anything is touched.
	if err := os.WriteFile(filepath.Join(dir, "roadmap.dump"), []byte("not a dump"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command("./restore.sh", dir)
	cmd.Env = append(os.Environ(), "GUILDHALL_DATABASE_URL="+withDB(t, adminURL, "never_created_"+uuid.NewString()[:8]))
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "MANIFEST") {
		t.Errorf("restore of a tampered backup: err %v, output %s; want a MANIFEST mismatch", err, out)
	}
}

func run(t *testing.T, script string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("./"+script, args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
}

func withDB(t *testing.T, base, db string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	return u.String()
}

func open(t *testing.T, dbURL, schema string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	c, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func tableNames(t *testing.T, c *pgx.Conn, schema string) []string {
	t.Helper()
	rows, err := c.Query(context.Background(), `SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// digest is the table's row count and a hash of its rows in a fixed order.
func digest(t *testing.T, c *pgx.Conn, schema, table string) string {
	t.Helper()
	q := fmt.Sprintf(`SELECT count(*) || ':' || coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '') FROM %s r`,
		pgx.Identifier{schema, table}.Sanitize())
	var s string
	if err := c.QueryRow(context.Background(), q).Scan(&s); err != nil {
		t.Fatalf("%s.%s: %v", schema, table, err)
	}
	return s
}

func rowsText(t *testing.T, c *pgx.Conn, q string) string {
	t.Helper()
	rows, err := c.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(strings.TrimSpace(fmt.Sprintln(vals...)) + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
