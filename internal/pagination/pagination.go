// Package pagination implements AIP-158 list paging: page sizes with a default
// and a maximum, and opaque keyset page tokens bound to the query they came from.
package pagination

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/internal/apierr"
)

// Default and Max page sizes for every list.
const (
	DefaultSize = 50
	MaxSize     = 1000
)

// Size returns the effective page size: 0 means DefaultSize, and anything
// above MaxSize is clamped. Negative sizes are rejected by the proto rules.
func Size(requested int32) int32 {
	switch {
	case requested <= 0:
		return DefaultSize
	case requested > MaxSize:
		return MaxSize
	}
	return requested
}

// Cursor is the keyset position after the last item of a page.
type Cursor struct {
	// After holds the sort key of the last item returned, e.g. its name.
	After []string `json:"a"`
	// Query fingerprints the filters, so a token is not reused with others.
	Query string `json:"q,omitempty"`
}

// Fingerprint condenses the parts of a list request that must stay the same
// from page to page.
func Fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

// Encode returns the opaque token for c.
func Encode(c Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// BadToken is the error for a page token that does not belong to the list.
func BadToken() error {
	return apierr.InvalidField("page_token", "not a page token from this list; start again without one")
}

// Decode parses token; an empty token is the first page. A token from another
// query, or one that was tampered with, is INVALID_ARGUMENT on page_token.
func Decode(token, query string, keys int) (Cursor, error) {
	if token == "" {
		return Cursor{}, nil
	}
	bad := BadToken()
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Cursor{}, bad
	}
	var c Cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Query != query || len(c.After) != keys {
		return Cursor{}, bad
	}
	return c, nil
}

// Page is one list call's position: where it starts and how many it returns.
type Page struct {
	after []string
	size  int32
	query string
}

// Start decodes a single-key token and size for a list ordered by one unique
// text key (such as the resource id).
func Start(token string, size int32, query string) (Page, error) {
	return StartKeys(token, size, query, 1)
}

// StartKeys is Start for a list ordered by keys columns, the last of them
// unique (e.g. priority, then id).
func StartKeys(token string, size int32, query string, keys int) (Page, error) {
	c, err := Decode(token, query, keys)
	if err != nil {
		return Page{}, err
	}
	return Page{after: c.After, size: Size(size), query: query}, nil
}

// After is the key to list after ("" on the first page).
func (p Page) After() string {
	if len(p.after) == 0 {
		return ""
	}
	return p.after[0]
}

// AfterKeys are the keys to list after (nil on the first page).
func (p Page) AfterKeys() []string { return p.after }

// AfterUUID is After for a list ordered by a uuid key: the nil UUID on the
// first page, so the query can compare uuid to uuid and walk the primary key
// (a cast of the column to text would scan from the start on every page),
// and BadToken for a cursor that is not a UUID, rather than a failed query.
func (p Page) AfterUUID() (string, error) {
	after := p.After()
	if after == "" {
		return uuid.Nil.String(), nil
	}
	if _, err := uuid.Parse(after); err != nil {
		return "", BadToken()
	}
	return after, nil
}

// Limit is how many rows to fetch: one more than the page, to learn whether
// another page follows without a count.
func (p Page) Limit() int32 { return p.size + 1 }

// Finish trims rows to the page and returns the next page's token, or "" on
// the last page.
func Finish[R any](p Page, rows []R, key func(R) string) ([]R, string) {
	return FinishKeys(p, rows, func(r R) []string { return []string{key(r)} })
}

// FinishAs is Finish with the page's rows converted, for a handler that
// fetched them itself.
func FinishAs[R, T any](p Page, rows []R, key func(R) string, convert func(R) T) ([]T, string) {
	rows, next := Finish(p, rows, key)
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		out = append(out, convert(r))
	}
	return out, next
}

// FinishKeys is Finish for a page started with StartKeys.
func FinishKeys[R any](p Page, rows []R, keys func(R) []string) ([]R, string) {
	if int32(len(rows)) <= p.size {
		return rows, ""
	}
	rows = rows[:p.size]
	return rows, Encode(Cursor{After: keys(rows[len(rows)-1]), Query: p.query})
}

// List runs one page of a list ordered by a unique text key: it decodes the
// token, fetches one row more than the page after the cursor (to learn
// whether another page follows), and returns the page converted, with the
// next page's token ("" on the last page).
func List[R, T any](token string, size int32, query string,
	fetch func(after string, limit int32) ([]R, error), key func(R) string, convert func(R) T,
) ([]T, string, error) {
	page, err := Start(token, size, query)
	if err != nil {
		return nil, "", err
	}
	return fetchPage(page, page.After(), fetch, key, convert)
}

// ListUUID is List for a list ordered by a uuid key (see Page.AfterUUID).
func ListUUID[R, T any](token string, size int32, query string,
	fetch func(after string, limit int32) ([]R, error), key func(R) string, convert func(R) T,
) ([]T, string, error) {
	page, err := Start(token, size, query)
	if err != nil {
		return nil, "", err
	}
	after, err := page.AfterUUID()
	if err != nil {
		return nil, "", err
	}
	return fetchPage(page, after, fetch, key, convert)
}

func fetchPage[R, T any](page Page, after string, fetch func(after string, limit int32) ([]R, error), key func(R) string, convert func(R) T) ([]T, string, error) {
	rows, err := fetch(after, page.Limit())
	if err != nil {
		return nil, "", err
	}
	out, next := FinishAs(page, rows, key, convert)
	return out, next, nil
}
