// Package ledger_test measures what PostgreSQL spends per money-moving write
// on its own, without Guildhall in the way: the statements the finance
// service sends, sent from one connection, with the CPU time of that
// connection's backend read from /proc (so run it on the database's
// machine). It compares the schema before and after the newest finance
// migrations side by side, in one run:
//
//	GUILDHALL_BENCH=1 go test -count=1 -v -run TestLedgerCPU ./bench/ledger/
//
// Knobs: BENCH_BASE_BELOW (default 00013: the base schema has the finance
// migrations named below it), BENCH_ROUNDS (6), BENCH_WRITES (1500 per
// round), BENCH_EXTRA_SQL (a file run on the new schema after its
// migrations, to try a change before writing it as a migration).
package ledger_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/app"
	"github.com/guildhall/guildhall/bench/benchenv"
	"github.com/guildhall/guildhall/internal/pgtest"
	"github.com/guildhall/guildhall/services/finance/migrations"
	"github.com/guildhall/guildhall/services/finance/store"
)

// below is migrations.FS without the files named from name on.
type below struct {
	fs.FS
	name string
}

func (b below) ReadDir(dir string) ([]fs.DirEntry, error) {
	es, err := fs.ReadDir(b.FS, dir)
	var out []fs.DirEntry
	for _, e := range es {
		if e.Name() < b.name {
			out = append(out, e)
		}
	}
	return out, err
}

// schema is one database under test.
type schema struct {
	name string
	conn *pgx.Conn
	pid  int
}

func open(t *testing.T, name string, fsys fs.FS, extra string) *schema {
	t.Helper()
	url := pgtest.New(t, []pgtest.Schema{{Name: "finance", Migrations: fsys, Lines: app.Lines()}})
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = "finance"
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if extra != "" {
		if _, err := conn.Exec(ctx, extra); err != nil {
			t.Fatalf("BENCH_EXTRA_SQL: %v", err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO accounts (id, display_name, type, currency_code) VALUES
		('paypal', 'PayPal', 'asset', 'USD'), ('donations', 'Donations', 'income', 'USD'),
		('bank', 'Bank', 'asset', 'USD'), ('equity', 'Equity', 'equity', 'USD')`); err != nil {
		t.Fatal(err)
	}
	s := &schema{name: name, conn: conn}
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&s.pid); err != nil {
		t.Fatal(err)
	}
	return s
}

// cpu is the backend's user+system CPU time so far.
func (s *schema) cpu(t *testing.T) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		t.Fatalf("backend CPU (run where PostgreSQL runs): %v", err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ = 100
}

// donations writes n donations in statements of batch, each its own
// commit, exactly as the service's RecordDonations does (key with its
// response, entry, two postings, donation, three outbox rows).
func donations(ctx context.Context, c *pgx.Conn, n, batch int) error {
	q := store.New()
	now := time.Now().UTC().Truncate(time.Microsecond)
	payload := make([]byte, 180)
	for done := 0; done < n; done += batch {
		var p store.RecordDonationsParams
		var r rows
		for i := int32(1); i <= int32(batch); i++ {
			r.add(i, "CreateDonation", [2]string{"paypal", "donations"}, []string{"activity", "activity", "events"}, payload)
			id, _ := uuid.NewV7()
			tx, _ := uuid.NewV7()
			p.Ids = append(p.Ids, id.String())
			p.TransactionIds = append(p.TransactionIds, tx.String())
			p.TxDescriptions = append(p.TxDescriptions, "Donation donations/"+id.String())
			p.ReceiveTimes = append(p.ReceiveTimes, now)
			p.Recorders = append(p.Recorders, "people/admin")
			p.CurrencyCodes = append(p.CurrencyCodes, "USD")
			p.Amounts = append(p.Amounts, 100)
			p.Donors = append(p.Donors, "")
			p.DonorNames = append(p.DonorNames, "Load")
			p.DonorEmails = append(p.DonorEmails, "")
			p.Visibilities = append(p.Visibilities, "public")
			p.Channels = append(p.Channels, "paypal")
			p.ExternalReferences = append(p.ExternalReferences, "")
			p.GoalIds = append(p.GoalIds, "")
			p.Descriptions = append(p.Descriptions, "")
			p.DepositAccounts = append(p.DepositAccounts, "paypal")
			p.CreateTimes = append(p.CreateTimes, now)
		}
		p.KeyItems, p.Callers, p.RequestIds, p.Methods, p.RequestHashes, p.Responses = r.keyItems, r.callers, r.requestIDs, r.methods, r.hashes, r.responses
		p.PostingItems, p.PostingSeqs, p.PostingAccounts, p.PostingCurrencies, p.PostingAmounts = r.postingItems, r.postingSeqs, r.postingAccounts, r.postingCurrencies, r.postingAmounts
		p.ActivityItems, p.ActivityTopics, p.ActivityPayloads = r.outboxItems, r.outboxTopics, r.outboxPayloads
		if _, err := q.RecordDonations(ctx, c, p); err != nil {
			return err
		}
	}
	return nil
}

// entries are the parameters of RecordEntries for k manual entries (key
// with its response, entry, two postings, two outbox rows each).
func entries(k int) store.RecordEntriesParams {
	var p store.RecordEntriesParams
	payload := make([]byte, 180)
	now := time.Now().UTC().Truncate(time.Microsecond)
	var r rows
	for i := int32(1); i <= int32(k); i++ {
		id, _ := uuid.NewV7()
		r.add(i, "CreateTransaction", [2]string{"bank", "equity"}, []string{"activity", "events"}, payload)
		p.Ids = append(p.Ids, id.String())
		p.Descriptions = append(p.Descriptions, "load")
		p.EffectiveTimes = append(p.EffectiveTimes, now)
		p.Sources = append(p.Sources, "manual")
		p.Creators = append(p.Creators, "people/admin")
		p.CreateTimes = append(p.CreateTimes, now)
		p.Reverses = append(p.Reverses, "")
		p.Hidden = append(p.Hidden, false)
	}
	p.KeyItems, p.Callers, p.RequestIds, p.Methods, p.RequestHashes, p.Responses = r.keyItems, r.callers, r.requestIDs, r.methods, r.hashes, r.responses
	p.PostingItems, p.PostingSeqs, p.PostingAccounts, p.PostingCurrencies, p.PostingAmounts = r.postingItems, r.postingSeqs, r.postingAccounts, r.postingCurrencies, r.postingAmounts
	p.OutboxItems, p.OutboxTopics, p.OutboxPayloads = r.outboxItems, r.outboxTopics, r.outboxPayloads
	return p
}

// rows are the arrays RecordDonations and RecordEntries share, as the
// service's statementRows builds them: per item a key with payload as its
// response, two postings of 100 from accounts[0] to accounts[1], and an
// outbox row per topic.
type rows struct {
	keyItems, postingItems, postingSeqs, outboxItems []int32
	callers, requestIDs, methods                     []string
	postingAccounts, postingCurrencies, outboxTopics []string
	hashes, responses, outboxPayloads                [][]byte
	postingAmounts                                   []int64
}

func (r *rows) add(i int32, method string, accounts [2]string, topics []string, payload []byte) {
	r.keyItems = append(r.keyItems, i)
	r.callers = append(r.callers, "people/admin")
	r.requestIDs = append(r.requestIDs, uuid.NewString())
	r.methods = append(r.methods, method)
	r.hashes = append(r.hashes, make([]byte, 32))
	r.responses = append(r.responses, payload)
	for seq, a := range accounts {
		r.postingItems = append(r.postingItems, i)
		r.postingSeqs = append(r.postingSeqs, int32(seq+1))
		r.postingAccounts = append(r.postingAccounts, a)
		r.postingCurrencies = append(r.postingCurrencies, "USD")
		r.postingAmounts = append(r.postingAmounts, 100*int64(1-2*seq))
	}
	for _, topic := range topics {
		r.outboxItems = append(r.outboxItems, i)
		r.outboxTopics = append(r.outboxTopics, topic)
		r.outboxPayloads = append(r.outboxPayloads, payload)
	}
}

// manualEntries writes n manual entries in transactions of batch, each
// entry in a statement of its own (RecordEntries with one entry: what
// CreateTransaction sent before the entries of a shared transaction were
// written together, and still sends for an entry written alone).
func manualEntries(ctx context.Context, c *pgx.Conn, n, batch int) error {
	q := store.New()
	for done := 0; done < n; done += batch {
		err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			for range batch {
				written, err := q.RecordEntries(ctx, tx, entries(1))
				if err != nil {
					return err
				}
				if len(written) != 1 {
					return fmt.Errorf("entry not written")
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// manualStatement writes n manual entries in statements of batch, each its
// own transaction and commit: the manual entries of a shared transaction,
// written together (RecordEntries).
func manualStatement(ctx context.Context, c *pgx.Conn, n, batch int) error {
	q := store.New()
	for done := 0; done < n; done += batch {
		written, err := q.RecordEntries(ctx, c, entries(batch))
		if err != nil {
			return err
		}
		if len(written) != batch {
			return fmt.Errorf("%d of %d entries written", len(written), batch)
		}
	}
	return nil
}

// manual writes n manual entries in transactions of batch, each with the
// seven statements CreateTransaction sent before RecordEntries (key, activity,
// entry, reading it back with its postings, event, response).
func manual(ctx context.Context, c *pgx.Conn, n, batch int) error {
	q := store.New()
	payload := make([]byte, 180)
	for done := 0; done < n; done += batch {
		err := pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			for range batch {
				rid := uuid.NewString()
				if _, err := tx.Exec(ctx, `INSERT INTO idempotency_keys (caller, request_id, method, request_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
					"people/admin", rid, "CreateTransaction", make([]byte, 32)); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO outbox (topic, payload) VALUES ($1, $2)`, "activity", payload); err != nil {
					return err
				}
				id, _ := uuid.NewV7()
				if err := q.PostEntry(ctx, tx, store.PostEntryParams{ID: id.String(), Accounts: []string{"bank", "equity"}, Currencies: []string{"USD", "USD"},
					Amounts: []int64{100, -100}, Description: "load", EffectiveTime: time.Now(), Source: "manual", Creator: "people/admin"}); err != nil {
					return err
				}
				if _, err := q.GetTransaction(ctx, tx, id.String()); err != nil {
					return err
				}
				// The postings, read apart as CreateTransaction then did.
				if _, err := tx.Exec(ctx, `SELECT transaction_id::text, account_id, currency_code, amount FROM postings
					WHERE transaction_id = ANY($1::uuid[]) ORDER BY transaction_id, seq`, []string{id.String()}); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO outbox (topic, payload) VALUES ($1, $2)`, "events", payload); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE idempotency_keys SET response = $3 WHERE caller = $1 AND request_id = $2`, "people/admin", rid, payload); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// workloads are what each round times on every schema.
var workloads = []struct {
	name  string
	batch int
	run   func(context.Context, *pgx.Conn, int, int) error
}{
	{"donations, one per statement and commit", 1, donations},
	{"donations, 8 per statement and commit", 8, donations},
	{"manual entries, 8 per transaction, 7 statements each (before)", 8, manual},
	{"manual entries, 8 per transaction, 1 statement each", 8, manualEntries},
	{"manual entries, 8 in one statement and commit", 8, manualStatement},
}

func TestLedgerCPU(t *testing.T) {
	benchenv.Require(t, "the ledger CPU bench")
	rounds, writes := benchenv.Int("BENCH_ROUNDS", 6), benchenv.Int("BENCH_WRITES", 1500)
	base := os.Getenv("BENCH_BASE_BELOW")
	if base == "" {
		base = "00013"
	}
	var extra string
	if f := os.Getenv("BENCH_EXTRA_SQL"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		extra = string(b)
	}
	schemas := []*schema{
		open(t, "below "+base, below{migrations.FS, base}, ""),
		open(t, "all migrations", migrations.FS, extra),
	}
	for _, s := range schemas {
		t.Logf("%s: triggers and indexes the writes meet:\n%s", s.name, catalog(t, s.conn))
	}
	ctx := context.Background()
	// A warm-up round fills caches and lets plans settle.
	for _, s := range schemas {
		for _, w := range workloads {
			if err := w.run(ctx, s.conn, 200, w.batch); err != nil {
				t.Fatalf("%s, %s: %v", s.name, w.name, err)
			}
		}
		if _, err := s.conn.Exec(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
	}
	per := make([][][]float64, len(workloads)) // [workload][schema][round] µs of CPU per write
	wall := make([][][]float64, len(workloads))
	for w := range workloads {
		per[w], wall[w] = make([][]float64, len(schemas)), make([][]float64, len(schemas))
	}
	for r := range rounds {
		for w, wl := range workloads {
			for k := range schemas {
				s := schemas[(k+r)%len(schemas)] // order alternates
				i := (k + r) % len(schemas)
				c0, t0 := s.cpu(t), time.Now()
				if err := wl.run(ctx, s.conn, writes, wl.batch); err != nil {
					t.Fatalf("%s, %s: %v", s.name, wl.name, err)
				}
				per[w][i] = append(per[w][i], float64((s.cpu(t)-c0).Microseconds())/float64(writes))
				wall[w][i] = append(wall[w][i], float64(time.Since(t0).Microseconds())/float64(writes))
			}
		}
	}
	t.Logf("PostgreSQL backend CPU per write (median of %d rounds of %d writes; min..max), wall time per write:", rounds, writes)
	for w, wl := range workloads {
		t.Logf("  %s:", wl.name)
		for i, s := range schemas {
			m, lo, hi := stats(per[w][i])
			wm, _, _ := stats(wall[w][i])
			ratio := ""
			if i > 0 {
				b, _, _ := stats(per[w][0])
				ratio = fmt.Sprintf(" (%.2f× the base)", m/b)
			}
			t.Logf("    %-16s %6.0f µs (%3.0f..%3.0f)%s; wall %6.0f µs", s.name, m, lo, hi, ratio, wm)
		}
	}
}

func stats(xs []float64) (median, lo, hi float64) {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2], s[0], s[len(s)-1]
}

// catalog lists the triggers, constraints checked by triggers, and indexes
// of the tables a donation or a manual entry writes.
func catalog(t *testing.T, c *pgx.Conn) string {
	rows, err := c.Query(context.Background(), `
		SELECT c.relname, 'trigger' AS kind, tg.tgname || CASE WHEN tg.tgdeferrable THEN ' (deferred)' ELSE '' END ||
			CASE WHEN tg.tgtype & 1 = 1 THEN ' row' ELSE ' statement' END AS what
		FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'finance' AND c.relname IN ('transactions', 'postings', 'donations', 'outbox', 'idempotency_keys', 'account_balances', 'account_months')
			AND tg.tgtype & 4 = 4 -- INSERT
		UNION ALL
		SELECT c.relname, 'index', i.relname
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'finance' AND c.relname IN ('transactions', 'postings', 'donations', 'outbox', 'idempotency_keys', 'account_balances', 'account_months')
		ORDER BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for rows.Next() {
		var rel, kind, what string
		if err := rows.Scan(&rel, &kind, &what); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  %-17s %-8s %s\n", rel, kind, what)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
