// Package convert turns the API's values into stored ones and back, the same
// way in every service: calendar dates (YYYY-MM-DD strings), optional
// timestamps, optional text, and lists and maps that are empty rather than
// nil. It must not import the services.
package convert

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guildhall/guildhall/internal/apierr"
)

// DateLayout is the API's calendar date, YYYY-MM-DD.
const DateLayout = time.DateOnly

// ParseDate parses s, a calendar date YYYY-MM-DD given in field, as
// midnight UTC; "" is nil. A malformed date, or one before 0001-01-01 (year
// 0 parses, but is 1 BC), is INVALID_ARGUMENT with a violation on field.
func ParseDate(field, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		return nil, apierr.InvalidField(field, "not a calendar date (YYYY-MM-DD): "+s)
	}
	if d.Year() < 1 {
		return nil, apierr.InvalidField(field, "must be from 0001-01-01 to 9999-12-31: "+s)
	}
	return &d, nil
}

// ParseDateOr is ParseDate with def for "".
func ParseDateOr(field, s string, def time.Time) (time.Time, error) {
	d, err := ParseDate(field, s)
	if d == nil || err != nil {
		return def, err
	}
	return *d, nil
}

// FormatDate writes t as YYYY-MM-DD; nil is "".
func FormatDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(DateLayout)
}

// Timestamp is t as a proto timestamp; nil stays nil.
func Timestamp(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

// Time is t as a time; nil stays nil.
func Time(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.AsTime()
	return &v
}

// Text is s as optional text: NULL when empty.
func Text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

// NonNil is s, or an empty slice for nil: stored as an empty array or list,
// never NULL.
func NonNil[S ~[]E, E any](s S) S {
	if s == nil {
		return S{}
	}
	return s
}

// NonNilMap is m, or an empty map for nil: stored as {}, never null.
func NonNilMap[M ~map[K]V, K comparable, V any](m M) M {
	if m == nil {
		return M{}
	}
	return m
}
