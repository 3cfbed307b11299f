// Package money checks amounts of guildhall.type.v1.Money: integer minor
// units of a real ISO 4217 currency, with that currency's exponent.
package money

import (
	"math"

	"golang.org/x/text/currency"

	"github.com/guildhall/guildhall/internal/apierr"
)

// Exponent returns the number of minor-unit digits of an ISO 4217 code
// (JPY 0, EUR 2, BHD 3) and whether the code is a known currency.
func Exponent(code string) (int, bool) {
	if len(code) != 3 {
		return 0, false
	}
	u, err := currency.ParseISO(code)
	if err != nil || u.String() != code {
		return 0, false
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale, true
}

// CheckCurrency returns a field violation on field if code is not a known
// ISO 4217 currency.
func CheckCurrency(field, code string) error {
	if _, ok := Exponent(code); !ok {
		return apierr.InvalidField(field, "not an ISO 4217 currency code: "+code)
	}
	return nil
}

// Bounds on amounts and the sums kept from them, in minor units. They are
// far above any real community's money (10^15 cents is ten trillion
// dollars) and far below int64's range, so no sum the ledger keeps can wrap.
// The finance database enforces the same numbers (migration 00008).
const (
	// MaxAmount bounds one amount: a posting, gift, expense, target, tier,
	// subscription, sponsorship or budget: |minor_units| <= MaxAmount.
	MaxAmount int64 = 1_000_000_000_000_000
	// MaxBalance bounds an account's balance.
	MaxBalance int64 = 1_000_000_000_000_000
	// MaxMonthlyMovement bounds an account's movement in one month from one
	// source (donations, expenses, manual entries...).
	MaxMonthlyMovement int64 = 2 * MaxBalance
	// MaxTotal bounds totals kept over records rather than accounts: the
	// amounts of a currency's active subscriptions (so MRR), and what a
	// sponsorship has been paid.
	MaxTotal int64 = 1_000_000_000_000_000_000
)

// InRange reports whether |units| <= MaxAmount.
func InRange(units int64) bool { return units >= -MaxAmount && units <= MaxAmount }

// Add returns a+b and whether it fits in an int64.
func Add(a, b int64) (int64, bool) {
	s := a + b
	return s, (a >= 0) != (b >= 0) || (s >= 0) == (a >= 0)
}

// Sat saturates: a+b, or the int64 bound it passes. Totals over stored sums
// use it so that a read never fails; sums written under the bounds cannot
// reach it (it would take thousands of accounts at their bound).
func Sat(a, b int64) int64 {
	s, ok := Add(a, b)
	if ok {
		return s
	}
	if a > 0 {
		return math.MaxInt64
	}
	return -math.MaxInt64
}

// SatSub is Sat(a, -b) without overflowing on -b.
func SatSub(a, b int64) int64 {
	if b == math.MinInt64 {
		return Sat(Sat(a, math.MaxInt64), 1)
	}
	return Sat(a, -b)
}
