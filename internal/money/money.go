// Package money checks amounts of guildhall.type.v1.Money: integer minor
// units of a real ISO 4217 currency, with that currency's exponent.
package money

import (
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
