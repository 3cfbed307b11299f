package pagination_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/pagination"
)

func TestSize(t *testing.T) {
	for _, c := range []struct{ in, want int32 }{
		{0, pagination.DefaultSize},
		{-1, pagination.DefaultSize},
		{-5000, pagination.DefaultSize},
		{1, 1},
		{50, 50},
		{999, 999},
		{1000, 1000},
		{1001, pagination.MaxSize},
		{5000, pagination.MaxSize},
	} {
		if got := pagination.Size(c.in); got != c.want {
			t.Errorf("Size(%d) = %d, want %d", c.in, got, c.want)
		}
	}
	if pagination.DefaultSize != 50 || pagination.MaxSize != 1000 {
		t.Errorf("DefaultSize %d, MaxSize %d; the protos document 50 and 1000", pagination.DefaultSize, pagination.MaxSize)
	}
}

func TestTokenRoundTrip(t *testing.T) {
	q := pagination.Fingerprint("people", "state=active")
	want := pagination.Cursor{After: []string{"2026-01-02T03:04:05Z", "people/jane"}, Query: q}
	token := pagination.Encode(want)
	got, err := pagination.Decode(token, q, 2)
	if err != nil {
		t.Fatalf("Decode(Encode(c)): %v", err)
	}
	if !slices.Equal(got.After, want.After) || got.Query != want.Query {
		t.Fatalf("round trip: got %+v, want %+v", got, want)
	}
	// An empty token is the first page.
	if c, err := pagination.Decode("", q, 2); err != nil || len(c.After) != 0 {
		t.Fatalf("Decode(\"\") = %+v, %v; want the first page", c, err)
	}
}

func TestTokenRejected(t *testing.T) {
	q := pagination.Fingerprint("people", "state=active")
	other := pagination.Fingerprint("people", "state=inactive")
	if q == other || q != pagination.Fingerprint("people", "state=active") {
		t.Fatalf("Fingerprint is not a stable, distinguishing hash: %q %q", q, other)
	}
	// Parts are delimited, so moving a boundary changes the fingerprint.
	if pagination.Fingerprint("ab", "c") == pagination.Fingerprint("a", "bc") {
		t.Error("Fingerprint(ab, c) == Fingerprint(a, bc)")
	}
	good := pagination.Encode(pagination.Cursor{After: []string{"people/jane"}, Query: q})
	for _, c := range []struct{ name, token string }{
		{"from another query", pagination.Encode(pagination.Cursor{After: []string{"people/jane"}, Query: other})},
		{"without a query", pagination.Encode(pagination.Cursor{After: []string{"people/jane"}})},
		{"wrong number of keys", pagination.Encode(pagination.Cursor{After: []string{"a", "b"}, Query: q})},
		{"no keys", pagination.Encode(pagination.Cursor{Query: q})},
		{"garbage", "garbage!!"},
		{"base64 of non-JSON", base64.RawURLEncoding.EncodeToString([]byte("hello"))},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte(`{"a":["people/jane"],"q":"`+q+`"}`)) + "="},
		{"truncated", good[:len(good)-3]},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := pagination.Decode(c.token, q, 1)
			var ae *apierr.Error
			if !errors.As(err, &ae) || len(ae.Violations) != 1 || ae.Violations[0].Field != "page_token" {
				t.Fatalf("Decode(%q) = %v; want INVALID_ARGUMENT on page_token", c.token, err)
			}
		})
	}
	if _, err := pagination.Decode(good, q, 1); err != nil {
		t.Fatalf("the untampered token was rejected: %v", err)
	}
}

func TestPages(t *testing.T) {
	q := pagination.Fingerprint("releases")
	rows := []string{"a", "b", "c", "d", "e"}
	var got []string
	token, pages := "", 0
	for {
		p, err := pagination.Start(token, 2, q)
		if err != nil {
			t.Fatal(err)
		}
		if p.Limit() != 3 {
			t.Fatalf("Limit() = %d, want page size + 1", p.Limit())
		}
		// What the store would return: rows after the key, up to Limit.
		var fetched []string
		for _, r := range rows {
			if r > p.After() && int32(len(fetched)) < p.Limit() {
				fetched = append(fetched, r)
			}
		}
		page, next := pagination.Finish(p, fetched, func(s string) string { return s })
		got = append(got, page...)
		pages++
		if next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		token = next
	}
	if !slices.Equal(got, rows) || pages != 3 {
		t.Fatalf("paged %v in %d pages, want %v in 3", got, pages, rows)
	}
	if _, err := pagination.Start(token, 2, pagination.Fingerprint("people")); err == nil {
		t.Fatal("a token of one list was accepted by another")
	}
}

func TestList(t *testing.T) {
	ids := []string{"a", "b", "c", "d", "e", "f", "g"}
	fetch := func(after string, limit int32) ([]string, error) {
		var out []string
		for _, id := range ids {
			if id > after && int32(len(out)) < limit {
				out = append(out, id)
			}
		}
		return out, nil
	}
	var got []string
	token, pages := "", 0
	for {
		page, next, err := pagination.List(token, 3, "q", fetch, func(s string) string { return s }, strings.ToUpper)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		pages++
		if token = next; token == "" {
			break
		}
	}
	if strings.Join(got, "") != "ABCDEFG" || pages != 3 {
		t.Fatalf("listed %v in %d pages", got, pages)
	}
	if _, _, err := pagination.List("garbage", 3, "q", fetch, func(s string) string { return s }, strings.ToUpper); err == nil {
		t.Fatal("garbage token accepted")
	}
}

func TestListUUID(t *testing.T) {
	ids := []string{"018f0000-0000-7000-8000-000000000001", "018f0000-0000-7000-8000-000000000002", "018f0000-0000-7000-8000-000000000003"}
	var afters []string
	fetch := func(after string, limit int32) ([]string, error) {
		afters = append(afters, after)
		var out []string
		for _, id := range ids {
			if id > after && int32(len(out)) < limit {
				out = append(out, id)
			}
		}
		return out, nil
	}
	same := func(s string) string { return s }
	page, next, err := pagination.ListUUID("", 2, "q", fetch, same, same)
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("first page %v %q %v", page, next, err)
	}
	if page, next, err = pagination.ListUUID(next, 2, "q", fetch, same, same); err != nil || !slices.Equal(page, ids[2:]) || next != "" {
		t.Fatalf("second page %v %q %v", page, next, err)
	}
	// The first page starts after the nil UUID, so the query compares uuids.
	if !slices.Equal(afters, []string{"00000000-0000-0000-0000-000000000000", ids[1]}) {
		t.Fatalf("fetched after %v", afters)
	}
	// A well-formed token whose cursor is not a UUID never reaches the query.
	forged := pagination.Encode(pagination.Cursor{After: []string{"x' OR 1=1"}, Query: "q"})
	_, _, err = pagination.ListUUID(forged, 2, "q", fetch, same, same)
	var ae *apierr.Error
	if !errors.As(err, &ae) || len(ae.Violations) != 1 || ae.Violations[0].Field != "page_token" || len(afters) != 2 {
		t.Fatalf("forged cursor: %v (fetched %d times)", err, len(afters))
	}
}

func TestPagesOnTwoKeys(t *testing.T) {
	type row struct {
		prio int
		id   string
	}
	rows := []row{{0, "a"}, {1, "b"}, {1, "c"}, {2, "a"}, {3, "z"}}
	q := pagination.Fingerprint("goals")
	var got []row
	token := ""
	for pages := 0; ; pages++ {
		page, err := pagination.StartKeys(token, 2, q, 2)
		if err != nil {
			t.Fatal(err)
		}
		var fetched []row
		for _, r := range rows {
			after := page.AfterKeys()
			if after == nil || strings.Compare(fmt.Sprint(r.prio), after[0]) > 0 || (fmt.Sprint(r.prio) == after[0] && r.id > after[1]) {
				if int32(len(fetched)) < page.Limit() {
					fetched = append(fetched, r)
				}
			}
		}
		var next string
		fetched, next = pagination.FinishKeys(page, fetched, func(r row) []string { return []string{fmt.Sprint(r.prio), r.id} })
		got = append(got, fetched...)
		if token = next; token == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
	}
	if !slices.Equal(got, rows) {
		t.Fatalf("paged %v, want %v", got, rows)
	}
	// A single-key token is not a two-key one.
	one := pagination.Encode(pagination.Cursor{After: []string{"a"}, Query: q})
	if _, err := pagination.StartKeys(one, 2, q, 2); err == nil {
		t.Fatal("a one-key token was taken for a two-key list")
	}
}
