package apierr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/guildhall/guildhall/internal/apierr"
)

// TestOutagesAreUnavailable checks the rule that a database that is down,
// restarting or overloaded makes UNAVAILABLE with RetryInfo (REST 503 with
// Retry-After), never INTERNAL, however the driver wraps it.
func TestOutagesAreUnavailable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("list teams: %w", err) }
	for name, tc := range map[string]struct {
		err  error
		want codes.Code
	}{
		"admin shutdown 57P01":     {&pgconn.PgError{Code: "57P01"}, codes.Unavailable},
		"crash shutdown 57P02":     {&pgconn.PgError{Code: "57P02"}, codes.Unavailable},
		"cannot connect now":       {&pgconn.PgError{Code: "57P03"}, codes.Unavailable},
		"connection failure 08006": {wrap(&pgconn.PgError{Code: "08006"}), codes.Unavailable},
		"too many connections":     {&pgconn.PgError{Code: "53300"}, codes.Unavailable},
		"query canceled":           {&pgconn.PgError{Code: "57014"}, codes.Unavailable},
		"read-only standby":        {&pgconn.PgError{Code: "25006"}, codes.Unavailable},
		"I/O error":                {&pgconn.PgError{Code: "58030"}, codes.Unavailable},
		"lock timeout":             {&pgconn.PgError{Code: "55P03"}, codes.Aborted},
		"connect error":            {wrap(&pgconn.ConnectError{}), codes.Unavailable},
		"conn closed":              {wrap(pgconn.ErrConnClosed), codes.Unavailable},
		"closed pool":              {wrap(puddle.ErrClosedPool), codes.Unavailable},
		"unexpected EOF":           {wrap(io.ErrUnexpectedEOF), codes.Unavailable},
		"connection refused":       {wrap(syscall.ECONNREFUSED), codes.Unavailable},
		"connection reset":         {wrap(syscall.ECONNRESET), codes.Unavailable},
		"deadline acquiring":       {wrap(context.DeadlineExceeded), codes.Unavailable},
		"serialization failure":    {&pgconn.PgError{Code: "40001"}, codes.Aborted},
		"deadlock":                 {&pgconn.PgError{Code: "40P01"}, codes.Aborted},
		"numeric out of range":     {wrap(&pgconn.PgError{Code: "22003"}), codes.FailedPrecondition},
		"amount bound check":       {wrap(&pgconn.PgError{Code: "23514", ConstraintName: "expenses_amount_range"}), codes.FailedPrecondition},
		"other check (a bug)":      {&pgconn.PgError{Code: "23514", ConstraintName: "expenses_amount_check"}, codes.Internal},
		"canceled":                 {wrap(context.Canceled), codes.Canceled},
		"unique violation (a bug)": {&pgconn.PgError{Code: "23505"}, codes.Internal},
		"plain error":              {errors.New("boom"), codes.Internal},
	} {
		t.Run(name, func(t *testing.T) {
			st := apierr.ToStatus(tc.err)
			if st.Code() != tc.want {
				t.Fatalf("code %v, want %v", st.Code(), tc.want)
			}
			if tc.want != codes.Unavailable {
				return
			}
			var retry *errdetails.RetryInfo
			for _, d := range st.Details() {
				if r, ok := d.(*errdetails.RetryInfo); ok {
					retry = r
				}
			}
			if retry.GetRetryDelay().AsDuration() <= 0 {
				t.Errorf("UNAVAILABLE without RetryInfo: %v", st.Details())
			}
		})
	}
}
