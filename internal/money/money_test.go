package money_test

import (
	"errors"
	"math"
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

func TestCheckedArithmetic(t *testing.T) {
	const max, min = math.MaxInt64, math.MinInt64
	for _, c := range []struct {
		a, b, sat int64
		ok        bool
	}{
		{1, 2, 3, true},
		{max, 0, max, true},
		{max, 1, max, false},
		{max, max, max, false},
		{min, -1, -max, false},
		{min, min, -max, false},
		{min, max, -1, true},
		{-max, -1, min, true},
		{-5, 3, -2, true},
	} {
		s, ok := money.Add(c.a, c.b)
		if ok != c.ok || (ok && s != c.a+c.b) {
			t.Errorf("Add(%d, %d) = %d, %v; want ok %v", c.a, c.b, s, ok, c.ok)
		}
		if got := money.Sat(c.a, c.b); got != c.sat {
			t.Errorf("Sat(%d, %d) = %d, want %d", c.a, c.b, got, c.sat)
		}
	}
	if got := money.SatSub(0, min); got != max {
		t.Errorf("SatSub(0, MinInt64) = %d", got)
	}
	if got := money.SatSub(-2, min); got != max-1 {
		t.Errorf("SatSub(-2, MinInt64) = %d", got)
	}
	if !money.InRange(money.MaxAmount) || !money.InRange(-money.MaxAmount) || money.InRange(money.MaxAmount+1) || money.InRange(min) {
		t.Error("InRange does not hold the bound")
	}
}
