package finance

import (
	"context"
	"time"

	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/money"
	"github.com/guildhall/guildhall/services/finance/store"
)

// Public figures and private gifts. A PRIVATE gift hides its donor and its
// amount, yet every public figure it touches (account balances, monthly
// reports with their cash and runway, goal progress, budgets) would move by
// exactly that amount, so an observer reading before and after would learn
// it. So the entry of a PRIVATE gift, and of its reversal, is hidden from the
// public until the end of the UTC month it was recorded in (hidden_until,
// migration 00009): until then public figures leave it out; afterwards they
// take it in together with everything else recorded that month, as the
// month's report publishes its totals anyway. Public donations, expenses and
// every other entry show at once. Holders of finance.read_private or
// finance.record (who keep the books) always see every entry.

// visibleAt is the time at which ctx's caller sees the ledger: now for the
// public, the end of time for the books.
func (s *Server) visibleAt(ctx context.Context) time.Time {
	p := auth.From(ctx)
	if auth.Has(p, readPrivate) || auth.Has(p, PermRecord) {
		return endOfTime
	}
	return s.now()
}

var endOfTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// hiddenUntil is when an entry with private amounts recorded at now joins
// public figures: the start of the next UTC month.
func hiddenUntil(now time.Time) *time.Time {
	y, m, _ := now.UTC().Date()
	t := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
	return &t
}

// hidden is the movements ctx's caller may not see (none for the books).
type hidden []store.HiddenMovementsRow

func (s *Server) hidden(ctx context.Context, db dbtx) (hidden, error) {
	at := s.visibleAt(ctx)
	if at.Equal(endOfTime) {
		return nil, nil
	}
	return s.q.HiddenMovements(ctx, db, at)
}

// sum adds the hidden movements that keep returns true for.
func (h hidden) sum(keep func(store.HiddenMovementsRow) bool) int64 {
	var total int64
	for _, r := range h {
		if keep(r) {
			total = money.Sat(total, r.Amount)
		}
	}
	return total
}

// account is the hidden movement of an account in all months.
func (h hidden) account(id string) int64 {
	return h.sum(func(r store.HiddenMovementsRow) bool { return r.AccountID == id })
}

// fromMovements takes the hidden movements out of a monthly-movements row,
// with the windows of the MonthlyMovements query: the row's month, every
// month up to it, and the three complete months before current. A row left
// with nothing but zeros by them is dropped (ok false): it exists only
// because of hidden entries, and its mere presence (accounts/cash at 0)
// would tell that something moved there.
func (h hidden) fromMovements(r store.MonthlyMovementsRow, current time.Time) (_ store.MonthlyMovementsRow, ok bool) {
	if len(h) == 0 {
		return r, true
	}
	touched := false
	last := r.Month
	if prev := current.AddDate(0, -1, 0); prev.Before(last) {
		last = prev
	}
	for _, m := range h {
		if m.AccountID != r.ID || m.Source != r.Source || m.Month.After(r.Month) {
			continue
		}
		touched = true
		r.ToDate = money.SatSub(r.ToDate, m.Amount)
		if m.Month.Equal(r.Month) {
			r.InMonth = money.SatSub(r.InMonth, m.Amount)
		}
		if !m.Month.After(last) && m.Month.After(last.AddDate(0, -3, 0)) {
			r.Last3 = money.SatSub(r.Last3, m.Amount)
		}
	}
	return r, !touched || r.InMonth != 0 || r.ToDate != 0 || r.Last3 != 0
}
