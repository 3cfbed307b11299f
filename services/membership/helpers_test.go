package membership_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
)

// mustOK fails the test unless res is 200, and returns its JSON body.
func mustOK(t testing.TB, res *apptest.Response, what string) map[string]any {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("%s: HTTP %d %s", what, res.Status, res.Body)
	}
	return res.JSON(t)
}

var seq atomic.Int64

// uniq returns a fresh id with prefix, unique within the test binary.
func uniq(prefix string) string { return fmt.Sprintf("%s-%d", prefix, seq.Add(1)) }

// list returns the objects in field of a list response.
func list(t testing.TB, body map[string]any, field string) []map[string]any {
	t.Helper()
	raw, _ := body[field].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, r := range raw {
		out = append(out, r.(map[string]any))
	}
	return out
}

// fieldViolated reports whether st names a field violation on field (or below it).
func fieldViolated(st apptest.Status, field string) bool {
	for _, f := range st.Fields() {
		if f == field || strings.HasPrefix(f, field+".") || strings.HasPrefix(f, field+"[") {
			return true
		}
	}
	return false
}
