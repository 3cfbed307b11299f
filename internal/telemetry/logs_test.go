package telemetry_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/telemetry"
)

// TestRequestLogLines: one REST call writes an HTTP line at the gateway and
// a gRPC line at the service, and both carry the caller, the trace id of the
// client's traceparent, the request id, and a duration of the same type.
func TestRequestLogLines(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	env := apptest.StartWith(t, apptest.Extras{Telemetry: telemetry.WithProvider(tp), Log: zap.New(core)})
	token := env.Person(t, "jane", false)

	const traceID = "0af7651916cd43dd8448eb211c80319c"
	res := env.WithToken(token).Do(t, http.MethodGet, "/v1/people/jane", "",
		"traceparent", "00-"+traceID+"-b7ad6b7169203331-01", "X-Request-Id", "log-test-1")
	if res.Status != http.StatusOK {
		t.Fatalf("GET /v1/people/jane: %d %s", res.Status, res.Body)
	}

	var httpLine, grpcLine map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for (httpLine == nil || grpcLine == nil) && time.Now().Before(deadline) {
		for _, e := range logs.All() {
			m := e.ContextMap()
			switch {
			case e.Message == "http request" && m["route"] == "/v1/{name=people/*}":
				httpLine = m
			case m["grpc.method"] == "GetPerson":
				grpcLine = m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if httpLine == nil || grpcLine == nil {
		t.Fatalf("missing request lines: http %v, grpc %v", httpLine, grpcLine)
	}
	for name, line := range map[string]map[string]any{"http": httpLine, "grpc": grpcLine} {
		if line["caller"] != "people/jane" {
			t.Errorf("%s line caller = %v; want people/jane", name, line["caller"])
		}
		if line["trace_id"] != traceID {
			t.Errorf("%s line trace_id = %v; want the client's %s", name, line["trace_id"], traceID)
		}
		if line["request_id"] != "log-test-1" {
			t.Errorf("%s line request_id = %v", name, line["request_id"])
		}
		if d, ok := line["duration"].(time.Duration); !ok || d <= 0 {
			t.Errorf("%s line duration = %v (%T); want a time.Duration, as on the other line", name, line["duration"], line["duration"])
		}
	}
	// A streamed answer (the CSV export) names its caller too.
	if res := env.WithToken(apptest.AdminToken).Do(t, http.MethodGet, "/v1/transactions:export", ""); res.Status != http.StatusOK {
		t.Fatalf("export: %d %s", res.Status, res.Body)
	}
	var exportLine map[string]any
	for deadline := time.Now().Add(5 * time.Second); exportLine == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, e := range logs.All() {
			if m := e.ContextMap(); e.Message == "http request" && m["route"] == "/v1/transactions:export" {
				exportLine = m
			}
		}
	}
	if exportLine == nil || exportLine["caller"] != "people/admin" {
		t.Errorf("export request line %v; want caller people/admin", exportLine)
	}
	for _, e := range logs.All() {
		if _, ok := e.ContextMap()["grpc.time_ms"]; ok {
			t.Errorf("a line still carries grpc.time_ms: %v", e.ContextMap())
		}
	}
}
