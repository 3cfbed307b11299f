// Package apierr holds the domain errors every service returns and the one
// boundary that turns them into gRPC statuses with google.rpc details.
//
// Handlers and stores return *Error values (or plain errors, which become
// INTERNAL); nothing else in the code base builds a status by hand. It must not
// import any service package.
package apierr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/sqlstate"
)

// Domain is the ErrorInfo domain of every error Guildhall returns.
const Domain = "guildhall.dev"

// Reasons are stable, machine-readable causes, sent as ErrorInfo.reason. Every
// reason is a value of the guildhall.type.v1.ErrorReason enum, so the API
// documents them and typed clients can switch on them; the generic ones have
// short names here.
const (
	ReasonInvalidArgument    = typev1.ErrorReason_INVALID_ARGUMENT
	ReasonNotFound           = typev1.ErrorReason_NOT_FOUND
	ReasonAlreadyExists      = typev1.ErrorReason_ALREADY_EXISTS
	ReasonEtagMismatch       = typev1.ErrorReason_ETAG_MISMATCH
	ReasonRequestIDReused    = typev1.ErrorReason_REQUEST_ID_REUSED
	ReasonFailedPrecondition = typev1.ErrorReason_FAILED_PRECONDITION
	ReasonUnauthenticated    = typev1.ErrorReason_UNAUTHENTICATED
	ReasonPermissionDenied   = typev1.ErrorReason_PERMISSION_DENIED
	ReasonUnavailable        = typev1.ErrorReason_UNAVAILABLE
	ReasonRateLimited        = typev1.ErrorReason_RATE_LIMITED
	ReasonConflict           = typev1.ErrorReason_CONCURRENCY_CONFLICT
	// ReasonAmountOutOfRange: an amount beyond its bound, or a write that
	// would take a balance or monthly total beyond its bound (see
	// guildhall.type.v1.Money).
	ReasonAmountOutOfRange = typev1.ErrorReason_AMOUNT_OUT_OF_RANGE
	ReasonInternal         = typev1.ErrorReason_INTERNAL
)

// DefaultRetryDelay is the RetryInfo delay of an UNAVAILABLE error: long
// enough for a database restart or fail-over to be noticed, short enough that
// a client does not give up on a brief blip. REST sends it as Retry-After.
const DefaultRetryDelay = 2 * time.Second

// FieldViolation names one bad field of a request, with a path such as
// "person.email" as in google.rpc.BadRequest.
type FieldViolation struct {
	Field       string
	Description string
}

// Error is a domain error: a gRPC code, a stable reason and a message safe to
// show to the caller.
type Error struct {
	Code       codes.Code
	Reason     typev1.ErrorReason
	Message    string
	Violations []FieldViolation
	Metadata   map[string]string
	// RetryDelay, if positive, is sent as google.rpc.RetryInfo: how long the
	// caller should wait before trying again (REST: Retry-After).
	RetryDelay time.Duration
}

func (e *Error) Error() string { return e.Message }

// GRPCStatus lets status.FromError and grpc-go read the error directly.
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(e.Code, e.Message)
	var details []protoadapt.MessageV1
	if len(e.Violations) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range e.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: v.Field, Description: v.Description,
			})
		}
		details = append(details, br)
	}
	reason := e.Reason
	if reason == typev1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		reason = reasonOf(e.Code)
	}
	details = append(details, &errdetails.ErrorInfo{Reason: reason.String(), Domain: Domain, Metadata: e.Metadata})
	if e.RetryDelay > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryDelay)})
	}
	out, err := st.WithDetails(details...)
	if err != nil {
		return st
	}
	return out
}

// reasonOf is the generic reason of a code, for an Error built without one:
// ERROR_REASON_UNSPECIFIED is never sent.
func reasonOf(c codes.Code) typev1.ErrorReason {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange:
		return ReasonInvalidArgument
	case codes.NotFound:
		return ReasonNotFound
	case codes.AlreadyExists:
		return ReasonAlreadyExists
	case codes.FailedPrecondition:
		return ReasonFailedPrecondition
	case codes.Aborted:
		return ReasonConflict
	case codes.Unauthenticated:
		return ReasonUnauthenticated
	case codes.PermissionDenied:
		return ReasonPermissionDenied
	case codes.Unavailable:
		return ReasonUnavailable
	case codes.ResourceExhausted:
		return ReasonRateLimited
	}
	return ReasonInternal
}

// NotFound reports that the named resource does not exist (or may not be seen).
func NotFound(name string) *Error {
	return &Error{Code: codes.NotFound, Reason: ReasonNotFound, Message: fmt.Sprintf("%s not found", name),
		Metadata: map[string]string{"name": name}}
}

// AlreadyExists reports a create of a name that is taken.
func AlreadyExists(name string) *Error {
	return &Error{Code: codes.AlreadyExists, Reason: ReasonAlreadyExists, Message: fmt.Sprintf("%s already exists", name),
		Metadata: map[string]string{"name": name}}
}

// EtagMismatch reports a write based on a stale read.
func EtagMismatch(name string) *Error {
	return &Error{Code: codes.Aborted, Reason: ReasonEtagMismatch,
		Message:  fmt.Sprintf("%s was changed by someone else; read it again and retry with the new etag", name),
		Metadata: map[string]string{"name": name}}
}

// RequestIDReused reports a request_id sent again with a different request.
func RequestIDReused(requestID string) *Error {
	return &Error{Code: codes.Aborted, Reason: ReasonRequestIDReused,
		Message:  "request_id was already used for a different request",
		Metadata: map[string]string{"request_id": requestID}}
}

// Invalid reports bad request fields.
func Invalid(violations ...FieldViolation) *Error {
	msg := "invalid request"
	if len(violations) > 0 {
		msg = fmt.Sprintf("invalid request: %s: %s", violations[0].Field, violations[0].Description)
	}
	return &Error{Code: codes.InvalidArgument, Reason: ReasonInvalidArgument, Message: msg, Violations: violations}
}

// InvalidField is Invalid for a single field.
func InvalidField(field, description string) *Error {
	return Invalid(FieldViolation{Field: field, Description: description})
}

// AmountOutOfRange reports an amount beyond its bound (with field
// violations, INVALID_ARGUMENT) or a write that would take a stored total
// beyond its bound (without, FAILED_PRECONDITION); both have reason
// AMOUNT_OUT_OF_RANGE.
func AmountOutOfRange(message string, violations ...FieldViolation) *Error {
	code := codes.FailedPrecondition
	if len(violations) > 0 {
		code = codes.InvalidArgument
	}
	return &Error{Code: code, Reason: ReasonAmountOutOfRange, Message: message, Violations: violations}
}

// FailedPrecondition reports a request that is well formed but not allowed in
// the resource's current state, with a reason such as "ILLEGAL_TRANSITION".
func FailedPrecondition(reason typev1.ErrorReason, message string) *Error {
	return &Error{Code: codes.FailedPrecondition, Reason: reason, Message: message}
}

// Unauthenticated reports a missing, unknown, expired or revoked token.
func Unauthenticated(message string) *Error {
	return &Error{Code: codes.Unauthenticated, Reason: ReasonUnauthenticated, Message: message}
}

// PermissionDenied reports a caller without the right to do something.
func PermissionDenied(message string) *Error {
	return &Error{Code: codes.PermissionDenied, Reason: ReasonPermissionDenied, Message: message}
}

// Unavailable reports a dependency that cannot be reached; the caller may
// retry after DefaultRetryDelay (sent as RetryInfo).
func Unavailable(message string) *Error {
	return &Error{Code: codes.Unavailable, Reason: ReasonUnavailable, Message: message, RetryDelay: DefaultRetryDelay}
}

// RateLimited reports a caller over its rate limit (RESOURCE_EXHAUSTED, REST
// 429). retryAfter, if positive, is sent as RetryInfo and, over REST, as
// Retry-After.
func RateLimited(message string, retryAfter time.Duration) *Error {
	return &Error{Code: codes.ResourceExhausted, Reason: ReasonRateLimited, Message: message, RetryDelay: retryAfter}
}

// HasReason reports whether err is an *Error with the given reason.
func HasReason(err error, reason typev1.ErrorReason) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Reason == reason
}

// ToStatus maps any error to the status sent to the caller. Errors that carry
// no status become INTERNAL with a generic message, so SQL text and other
// internals never leak; the caller logs the original.
func ToStatus(err error) *status.Status {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae.GRPCStatus()
	}
	if errors.Is(err, context.Canceled) {
		return status.New(codes.Canceled, "request canceled")
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	if Outage(err) {
		return Unavailable("the service cannot reach its database just now; retry shortly").GRPCStatus()
	}
	if conflict(err) {
		e := &Error{Code: codes.Aborted, Reason: ReasonConflict,
			Message: "the request collided with a concurrent one; retry it", RetryDelay: 100 * time.Millisecond}
		return e.GRPCStatus()
	}
	if outOfRange(err) {
		// A write whose arithmetic PostgreSQL refused: the request's numbers
		// were too large for what they add to.
		return AmountOutOfRange("a number in the request is out of range for what it adds to").GRPCStatus()
	}
	return (&Error{Code: codes.Internal, Reason: ReasonInternal, Message: "internal error"}).GRPCStatus()
}

// Outage reports whether err means a dependency (in practice PostgreSQL) is
// unreachable, shutting down or overloaded, rather than the request being
// wrong or the code being at fault: a failed connect, a connection lost or
// closed mid-query, SQLSTATE class 08 (connection exception), 53
// (insufficient resources, e.g. too many connections), 58 (system error),
// 57P01–57P03 (admin or crash shutdown, cannot connect now), 57014 (query
// canceled by an administrator or a statement timeout), 25006 (a read-only
// server, e.g. a standby during fail-over), a closed pool, and a deadline
// reached while waiting for any of these. Such errors become UNAVAILABLE.
func Outage(err error) bool {
	if sqlstate.Of(err) != nil {
		return sqlstate.InClass(err, sqlstate.ClassConnectionException, sqlstate.ClassInsufficientResources, sqlstate.ClassSystemError) ||
			sqlstate.Is(err, sqlstate.AdminShutdown, sqlstate.CrashShutdown, sqlstate.CannotConnectNow, sqlstate.QueryCanceled, sqlstate.ReadOnlySQLTransaction)
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, puddle.ErrClosedPool),
		pgconn.SafeToRetry(err),
		pgconn.Timeout(err),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.As(err, &netErr):
		return true
	}
	return false
}

// conflict reports PostgreSQL's serialization_failure, deadlock_detected
// and lock_not_available (lock_timeout), which a retry of the whole request
// resolves.
func conflict(err error) bool {
	return sqlstate.Is(err, sqlstate.SerializationFailure, sqlstate.DeadlockDetected, sqlstate.LockNotAvailable)
}

// outOfRange reports PostgreSQL's numeric_value_out_of_range, or a check
// constraint named *_range (the bounds on amounts): such a row, stored
// before its bound, cannot be written back unchanged.
func outOfRange(err error) bool {
	pg := sqlstate.Of(err)
	return pg != nil && (pg.Code == sqlstate.NumericValueOutOfRange || pg.Code == sqlstate.CheckViolation && strings.HasSuffix(pg.ConstraintName, "_range"))
}

// IsServerFault tells whether a code means the server, not the caller, is at fault.
func IsServerFault(c codes.Code) bool {
	switch c {
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unimplemented:
		return true
	}
	return false
}
