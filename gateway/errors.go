package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guildhall/guildhall/internal/apierr"
)

// paramField finds the field in grpc-gateway's query and path parsing errors.
var paramField = regexp.MustCompile(`(?:parsing field|unknown field|field) "([A-Za-z0-9_.]+)"|invalid value for [a-z0-9 ]*field ([A-Za-z0-9_.]+)`)

// errorHandler writes every error as a google.rpc.Status (see publicStatus).
// A stale etag sent as If-Match is a 412 (RFC 9110 §13.1.1) rather than the
// 409 of a stale body etag, and a RetryInfo detail becomes Retry-After.
func errorHandler(maxBody int64) runtime.ErrorHandlerFunc {
	return func(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
		st := status.Convert(err)
		if st.Code() == codes.InvalidArgument && len(st.Details()) == 0 && strings.Contains(st.Message(), "request body too large") {
			runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, &runtime.HTTPStatusError{
				HTTPStatus: http.StatusRequestEntityTooLarge, Err: bodyTooLarge(maxBody).Err(),
			})
			return
		}
		st = publicStatus(st)
		setRetryAfter(w, st)
		if r.Header.Get("If-Match") != "" && hasReason(st, apierr.ReasonEtagMismatch.String()) {
			runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, &runtime.HTTPStatusError{HTTPStatus: http.StatusPreconditionFailed, Err: st.Err()})
			return
		}
		var hse *runtime.HTTPStatusError
		if errors.As(err, &hse) {
			runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, &runtime.HTTPStatusError{HTTPStatus: hse.HTTPStatus, Err: st.Err()})
			return
		}
		runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, st.Err())
	}
}

// streamError shapes the errors of streaming routes (the CSV export) like
// every other route's.
func streamError(_ context.Context, err error) *status.Status {
	return publicStatus(status.Convert(err))
}

func hasReason(st *status.Status, reason string) bool {
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetReason() == reason {
			return true
		}
	}
	return false
}

// setRetryAfter sends Retry-After (RFC 9110 §10.2.3, in whole seconds,
// rounded up) for a status carrying google.rpc.RetryInfo, and for every
// UNAVAILABLE (503), which a service that is down cannot annotate itself.
func setRetryAfter(w http.ResponseWriter, st *status.Status) {
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if delay <= 0 && st.Code() == codes.Unavailable {
		delay = apierr.DefaultRetryDelay
	}
	if delay > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(delay.Seconds())), 10))
	}
}

// routingError keeps the HTTP status of routing failures (404, 405) and
// writes them as google.rpc.Status like every other error.
func routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	code := codes.NotFound
	msg := "no route for " + r.Method + " " + r.URL.Path + "; see /openapi.json"
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		code = codes.Unimplemented
		msg = "method " + r.Method + " is not allowed on " + r.URL.Path
	case http.StatusBadRequest:
		code = codes.InvalidArgument
		msg = "malformed request path"
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, &runtime.HTTPStatusError{HTTPStatus: httpStatus, Err: status.Error(code, msg)})
}

func decodeError(msg string) *status.Status {
	if ms := unknownParamRE.FindAllStringSubmatch(msg, -1); ms != nil {
		var vs []apierr.FieldViolation
		for _, m := range ms {
			vs = append(vs, apierr.FieldViolation{Field: m[1], Description: msg})
		}
		e := apierr.Invalid(vs...)
		e.Message = msg
		return e.GRPCStatus()
	}
	field := "body"
	if m := paramField.FindStringSubmatch(msg); m != nil {
		for _, g := range m[1:] {
			if g != "" {
				field = g
				break
			}
		}
	}
	return apierr.InvalidField(field, msg).GRPCStatus()
}

func bodyTooLarge(max int64) *status.Status {
	e := apierr.InvalidField("body", fmt.Sprintf("request body is larger than the limit of %d bytes", max))
	e.Message = "request body too large"
	return e.GRPCStatus()
}

// retryAfter makes sure every 503 carries Retry-After, including those
// written where no error handler sees the status (e.g. a stream that fails
// before its first message).
func retryAfter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&retryAfterWriter{ResponseWriter: w}, r)
	})
}

type retryAfterWriter struct{ http.ResponseWriter }

func (w *retryAfterWriter) WriteHeader(code int) {
	if code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(apierr.DefaultRetryDelay.Seconds())), 10))
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *retryAfterWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *retryAfterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeStatus writes st outside grpc-gateway (e.g. from middleware).
func writeStatus(w http.ResponseWriter, r *http.Request, st *status.Status) {
	st = publicStatus(st)
	code := runtime.HTTPStatusFromCode(st.Code())
	if br := badRequest(st); br != nil && strings.Contains(st.Message(), "too large") {
		code = http.StatusRequestEntityTooLarge
	}
	b, err := Marshaler().Marshal(st.Proto())
	if err != nil {
		http.Error(w, `{"code":13,"message":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	setRetryAfter(w, st)
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func badRequest(st *status.Status) *errdetails.BadRequest {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			return br
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
