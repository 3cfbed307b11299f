package apierr_test

import (
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/apierr"
)

func reasonSent(t *testing.T, e *apierr.Error) string {
	t.Helper()
	for _, d := range e.GRPCStatus().Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			if ei.GetDomain() != apierr.Domain {
				t.Fatalf("domain %q", ei.GetDomain())
			}
			return ei.GetReason()
		}
	}
	t.Fatal("no ErrorInfo")
	return ""
}

// The reason on the wire is the enum value's name, so the OpenAPI document
// and typed clients list exactly what is sent.
func TestReasonIsTheEnumName(t *testing.T) {
	for _, c := range []struct {
		err  *apierr.Error
		want string
	}{
		{apierr.NotFound("people/x"), "NOT_FOUND"},
		{apierr.EtagMismatch("people/x"), "ETAG_MISMATCH"},
		{apierr.RequestIDReused("r"), "REQUEST_ID_REUSED"},
		{apierr.InvalidField("a", "b"), "INVALID_ARGUMENT"},
		{apierr.FailedPrecondition(typev1.ErrorReason_ILLEGAL_TRANSITION, "m"), "ILLEGAL_TRANSITION"},
		{apierr.RateLimited("slow down", time.Second), "RATE_LIMITED"},
		// Built without a reason: the code's generic one, never UNSPECIFIED.
		{&apierr.Error{Code: codes.PermissionDenied, Message: "no"}, "PERMISSION_DENIED"},
		{&apierr.Error{Code: codes.DataLoss, Message: "no"}, "INTERNAL"},
	} {
		if got := reasonSent(t, c.err); got != c.want {
			t.Errorf("%v: reason %q, want %q", c.err, got, c.want)
		}
		if _, ok := typev1.ErrorReason_value[c.want]; !ok {
			t.Errorf("%q is not an ErrorReason value", c.want)
		}
	}
}
