package finance

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/api/httpbody"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/money"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/finance/store"
)

// incomeSource names a transaction source in reports.
var incomeSource = map[string]string{
	"donation": "donations", "subscription": "subscriptions", "sponsorship": "sponsorship", "advertising": "advertising",
}

func parseMonth(field, s string) (time.Time, error) {
	m, err := time.Parse("2006-01", s)
	if err != nil {
		return time.Time{}, apierr.InvalidField(field, "not a month (YYYY-MM): "+s)
	}
	return m, nil
}

// GetMonthlyReport reads the month from the monthly movements kept by the
// posting trigger, so its cost depends on the number of accounts, not
// postings. Everything adds up to the ledger: income and expenses are the
// month's postings to income and expense accounts, balances are all postings
// up to the month's end.
func (s *Server) GetMonthlyReport(ctx context.Context, req *financev1.GetMonthlyReportRequest) (*financev1.MonthlyReport, error) {
	m, err := parseMonth("month", req.GetMonth())
	if err != nil {
		return nil, err
	}
	reports, err := s.monthlyReports(ctx, m, m)
	if err != nil {
		return nil, err
	}
	return reports[0], nil
}

// GetReportRange reports each month from `from` to `to`.
func (s *Server) GetReportRange(ctx context.Context, req *financev1.GetReportRangeRequest) (*financev1.GetReportRangeResponse, error) {
	from, err := parseMonth("from", req.GetFrom())
	if err != nil {
		return nil, err
	}
	to, err := parseMonth("to", req.GetTo())
	if err != nil {
		return nil, err
	}
	if to.Before(from) || to.After(from.AddDate(0, 36, 0)) {
		return nil, apierr.InvalidField("to", "must be from 0 to 36 months after from")
	}
	reports, err := s.monthlyReports(ctx, from, to)
	return &financev1.GetReportRangeResponse{Reports: reports}, err
}

// monthlyReports reports every month from first to last, from one query.
func (s *Server) monthlyReports(ctx context.Context, first, last time.Time) ([]*financev1.MonthlyReport, error) {
	now := s.now()
	current := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	rows, err := s.q.MonthlyMovements(ctx, s.db, store.MonthlyMovementsParams{First: first, Last: last, CurrentMonth: current})
	if err != nil {
		return nil, err
	}
	h, err := s.hidden(ctx, s.db)
	if err != nil {
		return nil, err
	}
	visible := rows[:0]
	for _, r := range rows {
		if r, ok := h.fromMovements(r, current); ok {
			visible = append(visible, r)
		}
	}
	rows = visible
	byMonth := map[string][]store.MonthlyMovementsRow{}
	for _, r := range rows {
		byMonth[r.Month.Format("2006-01")] = append(byMonth[r.Month.Format("2006-01")], r)
	}
	var out []*financev1.MonthlyReport
	for m := first; !m.After(last); m = m.AddDate(0, 1, 0) {
		out = append(out, monthlyReport(m, byMonth[m.Format("2006-01")]))
	}
	return out, nil
}

// monthlyReport builds one month's report from its movements. Each figure
// per account is bounded (see internal/money); totals over accounts are
// added with saturation, so no stored data makes a report fail.
func monthlyReport(month time.Time, rows []store.MonthlyMovementsRow) *financev1.MonthlyReport {
	type sect struct {
		r        *financev1.CurrencyReport
		income   map[string]int64
		expenses map[string]int64
		balances map[string]int64
		costs3   int64
	}
	by := map[string]*sect{}
	var order []string
	for _, row := range rows {
		id, typ, cur, source := row.ID, row.Type, row.CurrencyCode, row.Source
		inMonth, toDate, last3 := row.InMonth, row.ToDate, row.Last3
		sc := by[cur]
		if sc == nil {
			sc = &sect{r: &financev1.CurrencyReport{CurrencyCode: cur}, income: map[string]int64{}, expenses: map[string]int64{}, balances: map[string]int64{}}
			by[cur] = sc
			order = append(order, cur)
		}
		sc.balances[id] = money.Sat(sc.balances[id], toDate)
		switch typ {
		case "income":
			if inMonth != 0 {
				src := incomeSource[source]
				if src == "" {
					src = "other"
				}
				sc.income[src] = money.SatSub(sc.income[src], inMonth)
			}
		case "expense":
			if inMonth != 0 {
				k := resource.Name(accounts, id)
				sc.expenses[k] = money.Sat(sc.expenses[k], inMonth)
			}
			sc.costs3 = money.Sat(sc.costs3, last3)
		case "asset":
			sc.r.Cash = money.Sat(sc.r.Cash, toDate)
		}
	}
	out := &financev1.MonthlyReport{Month: month.Format("2006-01")}
	for _, cur := range order {
		sc := by[cur]
		r := sc.r
		r.IncomeBySource, r.IncomeTotal = amounts(sc.income, "")
		r.ExpensesByCategory, r.ExpenseTotal = amounts(sc.expenses, "")
		r.ClosingBalances, _ = amounts(sc.balances, accounts+"/")
		r.Net = money.SatSub(r.IncomeTotal, r.ExpenseTotal)
		r.AverageCosts = sc.costs3 / 3
		if r.AverageCosts > 0 {
			// No cash is no runway; a deficit is not negative months.
			runway := max(0, float64(r.Cash)/float64(r.AverageCosts))
			r.RunwayMonths = &runway
		}
		out.Currencies = append(out.Currencies, r)
	}
	return out
}

func amounts(m map[string]int64, prefix string) ([]*financev1.Amount, int64) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []*financev1.Amount
	var total int64
	for _, k := range keys {
		out = append(out, &financev1.Amount{Key: prefix + k, MinorUnits: m[k]})
		total = money.Sat(total, m[k])
	}
	return out, total
}

// exportChunk is how much CSV is buffered before it is sent.
const exportChunk = 64 << 10

// ExportTransactions streams the ledger as CSV from a cursor in one
// read-only snapshot: rows are read, written and forgotten, so memory holds
// one chunk plus a running balance per account, whatever the size. Opening
// balances at `from` come from the monthly movements plus the part-month.
func (s *Server) ExportTransactions(req *financev1.ExportTransactionsRequest, stream financev1.FinanceService_ExportTransactionsServer) error {
	ctx := stream.Context()
	from, err := convert.ParseDateOr("from", req.GetFrom(), time.Time{})
	if err != nil {
		return err
	}
	to, err := convert.ParseDateOr("to", req.GetTo(), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	return pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		// Running balances are exact: by effective time, backdated entries
		// can take one past what its balance ever was, so they are big.Ints.
		balance := map[string]*big.Int{}
		if !from.IsZero() {
			monthStart := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
			rows, err := s.q.OpeningBalances(ctx, tx, store.OpeningBalancesParams{MonthStart: monthStart, At: from})
			if err != nil {
				return err
			}
			for _, r := range rows {
				b, ok := new(big.Int).SetString(r.Balance, 10)
				if !ok {
					return fmt.Errorf("export: opening balance of %s: %q", r.AccountID, r.Balance)
				}
				balance[r.AccountID] = b
			}
		}
		// Hand-written: sqlc's :many loads every row into a slice; the export streams from the cursor to keep memory flat.
		rows, err := tx.Query(ctx, `
			SELECT t.id::text, t.effective_time, t.source, t.description, coalesce(t.reverses_id::text, ''), p.account_id, p.currency_code, p.amount
			FROM transactions t JOIN postings p ON p.transaction_id = t.id
			WHERE t.effective_time >= $1 AND t.effective_time < $2
			ORDER BY t.effective_time, t.id, p.seq`, from, to)
		if err != nil {
			return err
		}
		defer rows.Close()
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write([]string{"transaction", "effective_time", "source", "description", "reverses", "account", "currency", "amount_minor_units", "account_balance_minor_units"})
		flush := func(final bool) error {
			w.Flush()
			if buf.Len() < exportChunk && !final {
				return nil
			}
			// The REST gateway writes a newline after every chunk, so each
			// chunk leaves out its last one; gRPC readers join chunks with "\n".
			data := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
			err := stream.Send(&httpbody.HttpBody{ContentType: "text/csv; charset=utf-8", Data: bytes.Clone(data)})
			buf.Reset()
			return err
		}
		var id, source, desc, reverses, acct, cur string
		var eff time.Time
		var n int64
		amt := new(big.Int)
		rec := make([]string, 9)
		for rows.Next() {
			if err := rows.Scan(&id, &eff, &source, &desc, &reverses, &acct, &cur, &n); err != nil {
				return err
			}
			b := balance[acct]
			if b == nil {
				b = new(big.Int)
				balance[acct] = b
			}
			b.Add(b, amt.SetInt64(n))
			rec[0], rec[1], rec[2], rec[3], rec[4] = id, eff.UTC().Format(time.RFC3339Nano), source, desc, reverses
			rec[5], rec[6], rec[7], rec[8] = acct, cur, strconv.FormatInt(n, 10), b.String()
			if err := w.Write(rec); err != nil {
				return err
			}
			if buf.Len() >= exportChunk {
				if err := flush(false); err != nil {
					return err
				}
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return flush(true)
	})
}
