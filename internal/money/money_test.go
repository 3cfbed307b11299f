package money_test

import (
	"errors"
	"testing"

	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/money"
)

func TestExponent(t *testing.T) {
	for _, c := range []struct {
		code  string
		exp   int
		known bool
	}{
		{"EUR", 2, true},
		{"USD", 2, true},
		{"JPY", 0, true},
		{"BHD", 3, true},
		{"XXZ", 0, false},  // well-formed, not a currency
		{"eur", 0, false},  // codes are upper case, as in the API
		{"EURO", 0, false}, // too long
		{"EU", 0, false},
		{"", 0, false},
	} {
		t.Run(c.code, func(t *testing.T) {
			exp, known := money.Exponent(c.code)
			if known != c.known || (known && exp != c.exp) {
				t.Fatalf("Exponent(%q) = %d, %v; want %d, %v", c.code, exp, known, c.exp, c.known)
			}
			err := money.CheckCurrency("amount.currency_code", c.code)
			if (err == nil) != c.known {
				t.Fatalf("CheckCurrency(%q) = %v; want an error: %v", c.code, err, !c.known)
			}
			if err != nil {
				var ae *apierr.Error
				if !errors.As(err, &ae) || len(ae.Violations) != 1 || ae.Violations[0].Field != "amount.currency_code" {
					t.Fatalf("CheckCurrency(%q) = %#v; want one violation on amount.currency_code", c.code, err)
				}
			}
		})
	}
}
