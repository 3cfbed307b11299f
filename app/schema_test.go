package app_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/app"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/pgtest"
)

// unindexedForeignKeys are the foreign keys that may go without an index
// leading with their columns, and why: their parent rows are never deleted
// and nothing looks rows up by them.
var unindexedForeignKeys = map[string]string{
	"finance.donations(refund_transaction_id)": "entries are never deleted (transactions_immutable); refunds are read from the donation",
	"finance.expense_events(transaction_id)":   "entries are never deleted (transactions_immutable); history is read by expense",
	"events.deliveries(event_seq)":             "events are never deleted; deliveries are read by webhook and by id",
}

// TestForeignKeysIndexed holds every service's schema to one rule: a foreign
// key has an index leading with its columns, or is listed above with the
// reason it needs none. Without one, every lookup by the key, and every
// delete of a parent row (its check), scans the whole child table: cost
// that grows with the data, as reversals did with donations.
func TestForeignKeysIndexed(t *testing.T) {
	db := everySchema(t)
	rows, err := db.Query(context.Background(), `
		SELECT format('%s(%s)', c.conrelid::regclass, string_agg(a.attname, ', ' ORDER BY k.n))
		FROM pg_constraint c
		CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
		WHERE c.contype = 'f' AND c.connamespace::regnamespace::text = ANY($1)
		  AND NOT EXISTS (
		      SELECT 1 FROM pg_index i
		      WHERE i.indrelid = c.conrelid
		        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
		        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey)
		GROUP BY c.oid, c.conrelid
		ORDER BY 1`, config.Services)
	if err != nil {
		t.Fatal(err)
	}
	allowed := maps.Clone(unindexedForeignKeys)
	var missing []string
	for rows.Next() {
		var fk string
		if err := rows.Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if _, ok := allowed[fk]; !ok {
			missing = append(missing, fk)
		}
		delete(allowed, fk)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, fk := range missing {
		t.Errorf("foreign key %s has no index leading with its columns: add one in a migration, or list it in unindexedForeignKeys with why it needs none", fk)
	}
	for _, fk := range slices.Sorted(maps.Keys(allowed)) {
		t.Errorf("unindexedForeignKeys lists %s, which is not an unindexed foreign key (any more): remove it", fk)
	}
}

// TestTriggersLookUpByKey holds every service's schema to the rule 00004
// set for the ledger: a trigger function that reads or changes rows other
// than the one it fires for runs with enable_seqscan off. A session caches
// a trigger's plans the first time it fires; made while a table was small
// (a new database, or one between autovacuum's analyzes during a burst of
// writes), they scan the whole table, on every write, until the next
// analyze. Off, the planner takes an index wherever one serves (and
// TestForeignKeysIndexed sees that one does for every key looked up).
func TestTriggersLookUpByKey(t *testing.T) {
	db := everySchema(t)
	rows, err := db.Query(context.Background(), `
		SELECT DISTINCT p.oid::regprocedure::text,
		    -- Reads or changes rows: the body, without its string literals
		    -- and comments, reads FROM, UPDATEs or DELETEs (an INSERT ...
		    -- VALUES or a RAISE reads none).
		    regexp_replace(p.prosrc, '''[^'']*''|--[^\n]*', '', 'g') ~* '\m(from|update|delete)\M',
		    coalesce('enable_seqscan=off' = ANY(p.proconfig), false)
		FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid
		WHERE NOT tg.tgisinternal AND p.pronamespace::regnamespace::text = ANY($1)
		ORDER BY 1`, config.Services)
	if err != nil {
		t.Fatal(err)
	}
	var checked int
	for rows.Next() {
		var fn string
		var reads, byKey bool
		if err := rows.Scan(&fn, &reads, &byKey); err != nil {
			t.Fatal(err)
		}
		if reads {
			checked++
			if !byKey {
				t.Errorf("trigger function %s reads rows but may plan sequential scans: ALTER FUNCTION ... SET enable_seqscan = off in a migration", fn)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// ledger_accumulate, ledger_check_balanced, ledger_follow_reversal.
	if checked < 3 {
		t.Errorf("%d trigger functions that read rows found; the ledger alone has 3", checked)
	}
}

// everySchema opens a database holding every service's schema, migrated.
func everySchema(t *testing.T) *pgxpool.Pool {
	var schemas []pgtest.Schema
	for _, s := range app.Services() {
		schemas = append(schemas, pgtest.Schema{Name: s.Name, Migrations: s.Migrations, Lines: app.Lines()})
	}
	return open(t, pgtest.New(t, schemas), "public")
}
