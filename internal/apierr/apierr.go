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

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// Domain is the ErrorInfo domain of every error Guildhall returns.
const Domain = "guildhall.dev"

// Reasons are stable, machine-readable causes, sent as ErrorInfo.reason.
const (
	ReasonInvalidArgument    = "INVALID_ARGUMENT"
	ReasonNotFound           = "NOT_FOUND"
	ReasonAlreadyExists      = "ALREADY_EXISTS"
	ReasonEtagMismatch       = "ETAG_MISMATCH"
	ReasonRequestIDReused    = "REQUEST_ID_REUSED"
	ReasonFailedPrecondition = "FAILED_PRECONDITION"
	ReasonUnauthenticated    = "UNAUTHENTICATED"
	ReasonPermissionDenied   = "PERMISSION_DENIED"
	ReasonUnavailable        = "UNAVAILABLE"
	ReasonRateLimited        = "RATE_LIMITED"
	ReasonInternal           = "INTERNAL"
)

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
	Reason     string
	Message    string
	Violations []FieldViolation
	Metadata   map[string]string
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
	details = append(details, &errdetails.ErrorInfo{Reason: e.Reason, Domain: Domain, Metadata: e.Metadata})
	out, err := st.WithDetails(details...)
	if err != nil {
		return st
	}
	return out
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

// FailedPrecondition reports a request that is well formed but not allowed in
// the resource's current state, with a reason such as "ILLEGAL_TRANSITION".
func FailedPrecondition(reason, message string) *Error {
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

// Unavailable reports a dependency that cannot be reached; the caller may retry.
func Unavailable(message string) *Error {
	return &Error{Code: codes.Unavailable, Reason: ReasonUnavailable, Message: message}
}

// RateLimited reports a caller over its rate limit.
func RateLimited(message string) *Error {
	return &Error{Code: codes.ResourceExhausted, Reason: ReasonRateLimited, Message: message}
}

// HasReason reports whether err is an *Error with the given reason.
func HasReason(err error, reason string) bool {
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
	switch {
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded")
	}
	if st, ok := status.FromError(err); ok {
		return st
	}
	return (&Error{Code: codes.Internal, Reason: ReasonInternal, Message: "internal error"}).GRPCStatus()
}

// IsServerFault tells whether a code means the server, not the caller, is at fault.
func IsServerFault(c codes.Code) bool {
	switch c {
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unimplemented:
		return true
	}
	return false
}
