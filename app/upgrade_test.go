package app_test

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/guildhall/guildhall/app"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/outbox"
	"github.com/guildhall/guildhall/internal/pgtest"
	"github.com/guildhall/guildhall/internal/service"
)

// legacy holds every service's migrations as they were before the shared
// tables moved to the platform's own migration lines: each service created
// idempotency_keys, its BRIN index, its per-caller key and (roadmap, finance)
// the outbox itself. Frozen: databases in the field have exactly this, or
// this without the per-caller migrations (before 29 November 2026).
//
//go:embed testdata/migrations-2026-11
var legacy embed.FS

// retired are service migration versions shipped and later moved to a
// platform line. Databases in the field have them applied, so a new
// migration reusing one of these numbers would be skipped there silently.
var retired = map[string][]int{
	config.Membership: {4, 5},
	config.Roadmap:    {3, 4},
	config.Finance:    {5, 7},
}

// No service migration takes the version of a retired one.
func TestRetiredMigrationVersionsAreNotReused(t *testing.T) {
	for _, s := range app.Services() {
		entries, err := fs.ReadDir(s.Migrations, ".")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			var v int
			if _, err := fmt.Sscanf(e.Name(), "%05d_", &v); err != nil {
				continue
			}
			if slices.Contains(retired[s.Name], v) {
				t.Errorf("%s migration %s reuses retired version %d: databases that applied the old %d would skip it; number it after %d",
					s.Name, e.Name(), v, v, slices.Max(retired[s.Name]))
			}
		}
	}
}

// A database made by the migrations before the platform lines upgrades in
// place, with or without the per-caller keys: its request ids and queued
// messages survive and still work, the lines record their versions, and
// the schema ends up the same as a new database's.
func TestUpgradeFromServiceOwnedSharedTables(t *testing.T) {
	t.Run("with per-caller keys", func(t *testing.T) { testUpgrade(t, true) })
	t.Run("before per-caller keys", func(t *testing.T) { testUpgrade(t, false) })
}

func testUpgrade(t *testing.T, perCaller bool) {
	ctx := auth.With(context.Background(), &auth.Principal{Person: "people/ada"})
	var old, fresh []pgtest.Schema
	// The services that existed before the platform lines (events came later).
	var services []service.Descriptor
	for _, s := range app.Services() {
		if _, err := fs.Stat(legacy, "testdata/migrations-2026-11/"+s.Name); err == nil {
			services = append(services, s)
		}
	}
	for _, s := range services {
		sub, err := fs.Sub(legacy, "testdata/migrations-2026-11/"+s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !perCaller {
			sub = withoutFiles{sub, "_idempotency_keys_per_caller.sql"}
		}
		old = append(old, pgtest.Schema{Name: s.Name, Migrations: sub})
	}
	for _, s := range app.Services() {
		fresh = append(fresh, pgtest.Schema{Name: s.Name, Migrations: s.Migrations, Lines: app.Lines()})
	}
	url := pgtest.New(t, old)

	// Rows written the old way: a request id with its response in every
	// schema, and queued activity in the two outboxes.
	resp := wrapperspb.String("the first response")
	keys := map[string]idempotency.Key{}
	for _, s := range services {
		k, err := idempotency.NewKey(ctx, uuid.NewString(), "CreateThing", wrapperspb.String("request of "+s.Name), resp)
		if err != nil {
			t.Fatal(err)
		}
		keys[s.Name] = k
		db := open(t, url, s.Name)
		if perCaller {
			_, err = db.Exec(ctx, `INSERT INTO idempotency_keys (caller, request_id, method, request_hash, response) VALUES ($1, $2, $3, $4, $5)`,
				k.Caller, k.RequestID, k.Method, k.RequestHash, k.Response)
		} else {
			_, err = db.Exec(ctx, `INSERT INTO idempotency_keys (request_id, method, request_hash, response) VALUES ($1, $2, $3, $4)`,
				k.RequestID, k.Method, k.RequestHash, k.Response)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{config.Roadmap, config.Finance} {
		for i := range 3 {
			m, err := outbox.NewMessage("legacy.topic", wrapperspb.String(fmt.Sprintf("%s message %d", s, i)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := open(t, url, s).Exec(ctx, `INSERT INTO outbox (topic, payload) VALUES ($1, $2)`, m.Topic, m.Payload); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := versions(t, url, "goose_db_version", services)

	env := map[string]string{"GUILDHALL_DATABASE_URL": url}
	cfg, err := config.Bind(flag.NewFlagSet("test", flag.ContinueOnError), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "console")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Complete(); err != nil {
		t.Fatal(err)
	}
	if err := app.Migrate(ctx, cfg, zaptest.NewLogger(t), config.Services); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	// Twice is the same as once.
	if err := app.Migrate(ctx, cfg, zaptest.NewLogger(t), config.Services); err != nil {
		t.Fatalf("second upgrade: %v", err)
	}

	for _, s := range services {
		db := open(t, url, s.Name)
		k := keys[s.Name]
		if !perCaller {
			// Keys from before had no caller: they stay, under the empty
			// caller no request has, until the retention ends.
			if n := count(t, db, `SELECT count(*) FROM idempotency_keys WHERE caller = '' AND request_id = $1 AND response = $2`, k.RequestID, k.Response); n != 1 {
				t.Errorf("%s: the stored key was not kept under the empty caller", s.Name)
			}
			continue
		}
		// The stored request id still replays its response.
		var got *wrapperspb.StringValue
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			got, err = idempotency.Do(ctx, tx, keys[s.Name].RequestID, "CreateThing", wrapperspb.String("request of "+s.Name),
				func() (*wrapperspb.StringValue, error) { return wrapperspb.String("a second run"), nil })
			return err
		})
		if err != nil || got.GetValue() != resp.GetValue() {
			t.Errorf("%s: replay after the upgrade gave %q (%v), want the stored response", s.Name, got.GetValue(), err)
		}
	}
	for _, s := range []string{config.Roadmap, config.Finance} {
		var delivered []string
		n, err := outbox.DrainOnce(ctx, open(t, url, s), func(_ context.Context, topic string, payloads [][]byte) error {
			for _, p := range payloads {
				m := &wrapperspb.StringValue{}
				if err := proto.Unmarshal(p, m); err != nil {
					return err
				}
				delivered = append(delivered, topic+": "+m.GetValue())
			}
			return nil
		}, outbox.Batch)
		want := []string{"legacy.topic: " + s + " message 0", "legacy.topic: " + s + " message 1", "legacy.topic: " + s + " message 2"}
		if err != nil || n != 3 || !slices.Equal(delivered, want) {
			t.Errorf("%s: drained %d after the upgrade (%v): %q, want %q", s, n, err, delivered, want)
		}
	}
	for _, l := range app.Lines() {
		entries, _ := fs.ReadDir(l.Migrations, ".")
		var want []string
		for i := range entries {
			want = append(want, fmt.Sprint(i+1))
		}
		for _, s := range services {
			if v := versions(t, url, l.VersionTable(), services)[s.Name]; v != strings.Join(want, ",") {
				t.Errorf("%s.%s: versions %q, want %q", s.Name, l.VersionTable(), v, strings.Join(want, ","))
			}
		}
	}
	after := versions(t, url, "goose_db_version", services)
	for name, v := range before {
		if !strings.HasPrefix(after[name], v) {
			t.Errorf("%s: service versions went from %q to %q", name, v, after[name])
		}
	}

	// The upgraded schema is the new one: same tables, columns and indexes.
	if got, want := catalog(t, url), catalog(t, pgtest.New(t, fresh)); !slices.Equal(got, want) {
		for _, l := range got {
			if !slices.Contains(want, l) {
				t.Errorf("only after the upgrade: %s", l)
			}
		}
		for _, l := range want {
			if !slices.Contains(got, l) {
				t.Errorf("only in a new database: %s", l)
			}
		}
	}
}

var pools sync.Map // url + schema → *pgxpool.Pool, one small pool each

// open returns a pool on schema of the database at url, closed when t ends.
func open(t *testing.T, url, schema string) *pgxpool.Pool {
	t.Helper()
	if db, ok := pools.Load(url + " " + schema); ok {
		return db.(*pgxpool.Pool)
	}
	db, err := database.Open(context.Background(), url, schema, database.MaxConns(2))
	if err != nil {
		t.Fatal(err)
	}
	pools.Store(url+" "+schema, db)
	t.Cleanup(func() { pools.Delete(url + " " + schema); db.Close() })
	return db
}

// versions returns, per schema, the applied versions of a goose table, joined.
func versions(t *testing.T, url, table string, services []service.Descriptor) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range services {
		var v string
		err := open(t, url, s.Name).QueryRow(context.Background(),
			`SELECT coalesce(string_agg(version_id::text, ',' ORDER BY version_id), '') FROM `+table+` WHERE version_id > 0 AND is_applied`).Scan(&v)
		if err != nil {
			t.Fatalf("%s.%s: %v", s.Name, table, err)
		}
		out[s.Name] = v
	}
	return out
}

// catalog lists the columns and indexes of the services' schemas, but not
// of goose's own tables.
func catalog(t *testing.T, url string) []string {
	t.Helper()
	rows, err := open(t, url, "public").Query(context.Background(), `
		SELECT format('%s.%s.%s %s null=%s default=%s', table_schema, table_name, column_name, data_type, is_nullable, coalesce(column_default, ''))
		FROM information_schema.columns WHERE table_schema = ANY($1) AND table_name NOT LIKE 'goose%'
		UNION ALL
		SELECT format('%s %s', schemaname, indexdef) FROM pg_indexes WHERE schemaname = ANY($1) AND tablename NOT LIKE 'goose%'
		ORDER BY 1`, config.Services)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil || len(out) == 0 {
		t.Fatalf("catalog: %d lines, %v", len(out), err)
	}
	return out
}

func count(t *testing.T, db *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// withoutFiles hides the files whose names end in suffix.
type withoutFiles struct {
	fs.FS
	suffix string
}

func (w withoutFiles) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(w.FS, name)
	return slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return strings.HasSuffix(e.Name(), w.suffix) }), err
}

func (w withoutFiles) Open(name string) (fs.File, error) {
	if strings.HasSuffix(name, w.suffix) {
		return nil, fs.ErrNotExist
	}
	return w.FS.Open(name)
}
