package finance

import (
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/money"
)

// checkAmount validates a Money field. Amounts travel as integer minor units,
// so the currency's exponent is implied: what can be wrong is an unknown
// currency or a sign. minZero allows zero (in-kind gifts, budgets).
func checkAmount(field string, m *typev1.Money, minZero bool) error {
	if m == nil {
		return apierr.InvalidField(field, "value is required")
	}
	var v []apierr.FieldViolation
	if _, ok := money.Exponent(m.GetCurrencyCode()); !ok {
		v = append(v, apierr.FieldViolation{Field: field + ".currency_code", Description: "not an ISO 4217 currency code: " + m.GetCurrencyCode()})
	}
	switch {
	case m.GetMinorUnits() < 0:
		v = append(v, apierr.FieldViolation{Field: field + ".minor_units", Description: "must not be negative"})
	case m.GetMinorUnits() == 0 && !minZero:
		v = append(v, apierr.FieldViolation{Field: field + ".minor_units", Description: "must be positive"})
	case !money.InRange(m.GetMinorUnits()):
		return outOfRange(field, append(v, rangeViolation(field)))
	}
	if len(v) > 0 {
		return apierr.Invalid(v...)
	}
	return nil
}

// rangeViolation names an amount beyond money.MaxAmount.
func rangeViolation(field string) apierr.FieldViolation {
	return apierr.FieldViolation{Field: field + ".minor_units", Description: "must be between -10^15 and 10^15 (1000000000000000) minor units"}
}

// outOfRange is INVALID_ARGUMENT with reason AMOUNT_OUT_OF_RANGE.
func outOfRange(field string, v []apierr.FieldViolation) error {
	return apierr.AmountOutOfRange("invalid request: "+field+": amount out of range", v...)
}

// inCurrency refuses an amount not in want, the currency something it
// belongs to is kept in; why says what that is ("the category is in ").
func inCurrency(field string, m *typev1.Money, want, why string) error {
	if m.GetCurrencyCode() != want {
		return apierr.InvalidField(field+".currency_code", why+want)
	}
	return nil
}

func mon(code string, units int64) *typev1.Money {
	return &typev1.Money{CurrencyCode: strings.TrimSpace(code), MinorUnits: units}
}

// timeOr returns t, or def when t is unset.
func timeOr(t *timestamppb.Timestamp, def time.Time) time.Time {
	if t == nil {
		return def
	}
	return t.AsTime().UTC()
}

func today(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }
