package finance

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
)

const transactions = "transactions"

// line is one posting of an entry being written; field names it in errors.
type line struct {
	account  string // account id
	currency string
	amount   int64
	field    string
}

// entry is a journal entry being written.
type entry struct {
	description string
	when        time.Time
	source      string // manual, donation, subscription, sponsorship, advertising, expense
	reverses    string // transaction id
	creator     string
	lines       []line
}

// post writes e inside tx and returns its id. It checks what callers can get
// wrong (unknown accounts, currency mismatches, imbalance) to give field
// violations; the database triggers enforce the same rules at commit anyway.
func (s *Server) post(ctx context.Context, tx pgx.Tx, e entry) (string, error) {
	if err := s.checkLines(ctx, tx, e.lines); err != nil {
		return "", err
	}
	id := resource.NewID()
	_, err := tx.Exec(ctx, `WITH t AS (
			INSERT INTO transactions (id, description, effective_time, source, reverses_id, creator)
			VALUES ($1, $5, $6, $7, $8, $9) RETURNING id)
		`+insertPostings, e.args(id)...)
	if resource.IsForeignKeyViolation(err) {
		s.accounts.Clear() // an account was deleted under us
		return "", apierr.FailedPrecondition("ACCOUNT_NOT_FOUND", "an account of the entry no longer exists; retry")
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

// insertPostings inserts the postings of CTE t from the arrays $2-$4. The
// entry and its postings go in one statement (one round trip); the postings
// trigger runs at its end and sees both.
const insertPostings = `INSERT INTO postings (transaction_id, seq, account_id, currency_code, amount)
		SELECT t.id, u.ord, u.a, u.c, u.m FROM t, unnest($2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS u(a, c, m, ord)`

// args are the parameters $1-$9 of an entry with id.
func (e entry) args(id string) []any {
	accts := make([]string, len(e.lines))
	currs := make([]string, len(e.lines))
	amts := make([]int64, len(e.lines))
	for i, l := range e.lines {
		accts[i], currs[i], amts[i] = l.account, l.currency, l.amount
	}
	var reverses *string
	if e.reverses != "" {
		reverses = &e.reverses
	}
	return []any{id, accts, currs, amts, e.description, e.when, e.source, reverses, e.creator}
}

// checkLines reports, as field violations, what the ledger triggers would
// refuse at commit: unknown accounts, currencies not the account's, and
// postings that do not sum to zero per currency.
func (s *Server) checkLines(ctx context.Context, db dbtx, lines []line) error {
	cur, err := s.currencies(ctx, db, lines)
	if err != nil {
		return err
	}
	sums := map[string]int64{}
	var v []apierr.FieldViolation
	for _, l := range lines {
		c, ok := cur[l.account]
		switch {
		case !ok:
			v = append(v, apierr.FieldViolation{Field: l.field, Description: "no such account: accounts/" + l.account})
		case c != l.currency:
			v = append(v, apierr.FieldViolation{Field: l.field, Description: fmt.Sprintf("accounts/%s is in %s, not %s", l.account, c, l.currency)})
		}
		sums[l.currency] += l.amount
	}
	for c, sum := range sums {
		if sum != 0 {
			v = append(v, apierr.FieldViolation{Field: "transaction.postings", Description: fmt.Sprintf("postings in %s sum to %d, not 0", c, sum)})
		}
	}
	if len(v) > 0 {
		return apierr.Invalid(v...)
	}
	return nil
}

// currencies returns the currency of each account of lines, from a cache:
// an account's currency never changes, and an account with postings cannot
// be deleted, so a cached currency can only be stale for an account that
// was deleted unused (and the ledger triggers still check at commit).
func (s *Server) currencies(ctx context.Context, tx dbtx, lines []line) (map[string]string, error) {
	out := map[string]string{}
	var missing []string
	for _, l := range lines {
		if c, ok := s.accounts.Load(l.account); ok {
			out[l.account] = c.(string)
		} else {
			missing = append(missing, l.account)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `SELECT id, currency_code FROM accounts WHERE id = ANY($1)`, missing)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, c string
		if err := rows.Scan(&id, &c); err != nil {
			return nil, err
		}
		out[id] = c
		s.accounts.Store(id, c)
	}
	return out, rows.Err()
}

const txColumns = `t.id::text, t.description, t.effective_time, t.source, coalesce(t.reverses_id::text, ''),
	coalesce((SELECT r.id::text FROM transactions r WHERE r.reverses_id = t.id), ''), t.creator, t.create_time`

func scanTransaction(row pgx.Row) (*financev1.Transaction, error) {
	var id, source, reverses, reversedBy string
	var eff, created time.Time
	t := &financev1.Transaction{}
	if err := row.Scan(&id, &t.Description, &eff, &source, &reverses, &reversedBy, &t.Creator, &created); err != nil {
		return nil, err
	}
	t.Name = resource.Name(transactions, id)
	t.EffectiveTime, t.CreateTime = ts(eff), ts(created)
	t.Source = financev1.Transaction_Source(pgenum.Number(financev1.Transaction_SOURCE_UNSPECIFIED.Descriptor(), source))
	if reverses != "" {
		t.Reverses = resource.Name(transactions, reverses)
	}
	if reversedBy != "" {
		t.ReversedBy = resource.Name(transactions, reversedBy)
	}
	return t, nil
}

// loadPostings fills in the postings of ts.
func (s *Server) loadPostings(ctx context.Context, db dbtx, txs ...*financev1.Transaction) error {
	if len(txs) == 0 {
		return nil
	}
	ids := make([]string, len(txs))
	byID := map[string]*financev1.Transaction{}
	for i, t := range txs {
		ids[i] = resource.ID(transactions, t.Name)
		byID[ids[i]] = t
	}
	rows, err := db.Query(ctx, `SELECT transaction_id::text, account_id, currency_code, amount FROM postings
		WHERE transaction_id = ANY($1::uuid[]) ORDER BY transaction_id, seq`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var tid, acct, cur string
		var amt int64
		if err := rows.Scan(&tid, &acct, &cur, &amt); err != nil {
			return err
		}
		t := byID[tid]
		t.Postings = append(t.Postings, &financev1.Posting{Account: resource.Name(accounts, acct), Amount: mon(cur, amt)})
	}
	return rows.Err()
}

type dbtx interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func (s *Server) getTransaction(ctx context.Context, db dbtx, id string) (*financev1.Transaction, error) {
	t, err := scanTransaction(db.QueryRow(ctx, `SELECT `+txColumns+` FROM transactions t WHERE t.id = $1`, id))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, resource.Name(transactions, id))
	}
	return t, s.loadPostings(ctx, db, t)
}

// GetTransaction implements AIP-131.
func (s *Server) GetTransaction(ctx context.Context, req *financev1.GetTransactionRequest) (*financev1.Transaction, error) {
	return s.getTransaction(ctx, s.db, resource.ID(transactions, req.GetName()))
}

// ListTransactions lists entries oldest first (ids are UUIDv7).
func (s *Server) ListTransactions(ctx context.Context, req *financev1.ListTransactionsRequest) (*financev1.ListTransactionsResponse, error) {
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(transactions))
	if err != nil {
		return nil, err
	}
	after := page.After()
	if after == "" {
		after = "00000000-0000-0000-0000-000000000000"
	}
	rows, err := s.db.Query(ctx, `SELECT `+txColumns+` FROM transactions t WHERE t.id > $1 ORDER BY t.id LIMIT $2`, after, page.Limit())
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*financev1.Transaction, error) { return scanTransaction(r) })
	if err != nil {
		return nil, err
	}
	resp := &financev1.ListTransactionsResponse{}
	list, resp.NextPageToken = pagination.Finish(page, list, func(t *financev1.Transaction) string { return resource.ID(transactions, t.Name) })
	resp.Transactions = list
	return resp, s.loadPostings(ctx, s.db, list...)
}

// CreateTransaction posts a manual entry.
func (s *Server) CreateTransaction(ctx context.Context, req *financev1.CreateTransactionRequest) (*financev1.Transaction, error) {
	t := req.GetTransaction()
	e := entry{description: t.GetDescription(), when: timeOr(t.GetEffectiveTime(), s.opts.Now()), source: "manual",
		creator: auth.From(ctx).GetPerson()}
	var v []apierr.FieldViolation
	for i, p := range t.GetPostings() {
		field := fmt.Sprintf("transaction.postings[%d].amount", i)
		if p.GetAmount().GetMinorUnits() == 0 {
			v = append(v, apierr.FieldViolation{Field: field + ".minor_units", Description: "must not be zero"})
		}
		abs := mon(p.GetAmount().GetCurrencyCode(), 1)
		if err := checkAmount(field, abs, false); err != nil {
			return nil, err
		}
		e.lines = append(e.lines, line{account: resource.ID(accounts, p.GetAccount()), currency: p.GetAmount().GetCurrencyCode(),
			amount: p.GetAmount().GetMinorUnits(), field: fmt.Sprintf("transaction.postings[%d]", i)})
	}
	if len(v) > 0 {
		return nil, apierr.Invalid(v...)
	}
	return s.inTx(ctx, req.GetRequestId(), "CreateTransaction", req, func(tx pgx.Tx) (*financev1.Transaction, error) {
		id, err := s.post(ctx, tx, e)
		if err != nil {
			return nil, err
		}
		return s.getTransaction(ctx, tx, id)
	})
}

// ReverseTransaction posts the mirror image of an entry.
func (s *Server) ReverseTransaction(ctx context.Context, req *financev1.ReverseTransactionRequest) (*financev1.Transaction, error) {
	id := resource.ID(transactions, req.GetName())
	return s.inTx(ctx, req.GetRequestId(), "ReverseTransaction", req, func(tx pgx.Tx) (*financev1.Transaction, error) {
		orig, err := s.getTransaction(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if orig.GetReverses() != "" {
			return nil, apierr.FailedPrecondition("IS_REVERSAL", req.GetName()+" is itself a reversal; post a new entry instead")
		}
		if orig.GetReversedBy() != "" {
			return nil, apierr.FailedPrecondition("ALREADY_REVERSED", req.GetName()+" was already reversed by "+orig.GetReversedBy())
		}
		desc := "Reversal of " + req.GetName()
		if req.GetReason() != "" {
			desc += ": " + req.GetReason()
		}
		e := entry{description: desc, when: s.opts.Now(), reverses: id, creator: auth.From(ctx).GetPerson(),
			source: pgenum.Text(orig.GetSource())}
		for _, p := range orig.GetPostings() {
			e.lines = append(e.lines, line{account: resource.ID(accounts, p.GetAccount()), currency: p.GetAmount().GetCurrencyCode(),
				amount: -p.GetAmount().GetMinorUnits(), field: "name"})
		}
		rid, err := s.post(ctx, tx, e)
		if resource.IsUniqueViolation(err) {
			return nil, apierr.FailedPrecondition("ALREADY_REVERSED", req.GetName()+" was already reversed")
		}
		if err != nil {
			return nil, err
		}
		return s.getTransaction(ctx, tx, rid)
	})
}

// doTx runs fn in a transaction, at most once per requestID (see package
// idempotency): a retry gets the first response back.
func doTx[T proto.Message](ctx context.Context, s *Server, requestID, method string, req proto.Message, fn func(pgx.Tx) (T, error)) (T, error) {
	var out T
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		out, err = idempotency.Do(ctx, tx, requestID, method, req, func() (T, error) { return fn(tx) })
		return err
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23514" || pe.Code == "23001") {
		return out, apierr.FailedPrecondition("LEDGER_RULE", "the ledger refused the entry: "+pe.Message)
	}
	return out, err
}

func (s *Server) inTx(ctx context.Context, requestID, method string, req proto.Message, fn func(pgx.Tx) (*financev1.Transaction, error)) (*financev1.Transaction, error) {
	return doTx(ctx, s, requestID, method, req, fn)
}
