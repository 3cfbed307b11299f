// Package benchenv reads the knobs every load script under bench/ shares:
// GUILDHALL_BENCH, which turns a bench on (a plain `go test ./...` skips
// them all), and the positive whole numbers that size a run.
package benchenv

import (
	"os"
	"strconv"
	"testing"
)

// Require skips the test unless GUILDHALL_BENCH is set; what names the run
// in the skip message ("the ledger CPU bench").
func Require(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("GUILDHALL_BENCH") == "" {
		t.Skipf("set GUILDHALL_BENCH=1 to run %s", what)
	}
}

// Int is the variable name as a positive whole number, or def if it is
// unset, not a number, or not positive.
func Int(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
