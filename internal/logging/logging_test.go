package logging_test

import (
	"context"
	"testing"
	"time"

	grpclogging "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/guildhall/guildhall/internal/logging"
	"github.com/guildhall/guildhall/internal/requestid"
)

func traced(t *testing.T) (context.Context, trace.SpanContext) {
	t.Helper()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
	ctx := requestid.With(context.Background(), "req-1")
	return trace.ContextWithSpanContext(ctx, sc), sc
}

// TestRequestLineFields: the gRPC request line carries the request id, the
// trace and span ids and the caller set deep inside the chain, and the same
// duration field as the HTTP line.
func TestRequestLineFields(t *testing.T) {
	ctx, sc := traced(t)
	ctx = logging.WithCallerSlot(ctx)
	logging.SetCaller(ctx, "people/jane")

	core, logs := observer.New(zap.InfoLevel)
	l := logging.GRPC(zap.New(core))
	f := logging.FieldsFromContext(ctx).AppendUnique(logging.DurationField(1500 * time.Millisecond))
	l.Log(ctx, grpclogging.LevelInfo, "finished call", f...)
	got := logs.All()[0].ContextMap()
	want := map[string]any{
		"request_id": "req-1", "trace_id": sc.TraceID().String(), "span_id": sc.SpanID().String(),
		"caller": "people/jane", "duration": 1500 * time.Millisecond,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v (%T); want %v (%T)", k, got[k], got[k], v, v)
		}
	}
}

func TestWithAddsTraceID(t *testing.T) {
	ctx, sc := traced(t)
	core, logs := observer.New(zap.InfoLevel)
	logging.With(ctx, zap.New(core)).Info("handler line")
	if got := logs.All()[0].ContextMap()["trace_id"]; got != sc.TraceID().String() {
		t.Errorf("trace_id = %v; want %s", got, sc.TraceID())
	}
	// Without a span there is no trace id, and no empty field either.
	logs.TakeAll()
	logging.With(context.Background(), zap.New(core)).Info("untraced")
	if _, ok := logs.All()[0].ContextMap()["trace_id"]; ok {
		t.Error("untraced line has a trace_id field")
	}
}

func TestSetCallerWithoutSlotIsHarmless(t *testing.T) {
	ctx := context.Background()
	logging.SetCaller(ctx, "people/jane")
	if c := logging.CallerFrom(ctx); c != "" {
		t.Errorf("caller without a slot = %q", c)
	}
}
