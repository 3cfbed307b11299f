package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/telemetry"
)

func TestTracingOffByDefault(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"nothing set":      {},
		"sdk disabled":     {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_SDK_DISABLED": "true"},
		"exporter none":    {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"},
		"only a protocol":  {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
		"only the service": {"OTEL_SERVICE_NAME": "x"},
	} {
		t.Run(name, func(t *testing.T) {
			tel, err := telemetry.FromEnv(context.Background(), "guildhall-test", "v0", func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if tel.Enabled() || tel.ServerOptions() != nil || tel.DialOptions() != nil || tel.PgxTracer() != nil {
				t.Errorf("tracing is on, or installs instrumentation, with %v", env)
			}
			h := http.NotFoundHandler()
			if got := tel.HTTP(h); got == nil {
				t.Error("HTTP returned nil")
			}
		})
	}
	_, err := telemetry.FromEnv(context.Background(), "guildhall-test", "v0", func(k string) string {
		return map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}[k]
	})
	if err == nil {
		t.Error("an unsupported OTEL_EXPORTER_OTLP_PROTOCOL was accepted")
	}
}

// TestOTLPExport configures tracing the way an operator does, with the
// standard variables, and receives the spans on a real OTLP/HTTP endpoint.
func TestOTLPExport(t *testing.T) {
	var mu sync.Mutex
	var got []*coltracepb.ExportTraceServiceRequest
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := &coltracepb.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(b, req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = w.Write(out)
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_SERVICE_NAME", "")

	tel, err := telemetry.FromEnv(context.Background(), "guildhall-test", "v1.2.3", os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if !tel.Enabled() {
		t.Fatal("OTEL_EXPORTER_OTLP_ENDPOINT set, but tracing is off")
	}
	env := apptest.StartTraced(t, tel)
	if res := env.WithToken(apptest.AdminToken).Do(t, http.MethodGet, "/v1/accounts", ""); res.Status != http.StatusOK {
		t.Fatalf("GET /v1/accounts: %d %s", res.Status, res.Body)
	}
	if err := tel.Shutdown(context.Background()); err != nil { // flushes the batch
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	names := map[string]bool{}
	service := ""
	for _, req := range got {
		for _, rs := range req.GetResourceSpans() {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.GetKey() == "service.name" {
					service = a.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					names[s.GetName()] = true
				}
			}
		}
	}
	if service != "guildhall-test" {
		t.Errorf("exported service.name = %q; want guildhall-test", service)
	}
	for _, want := range []string{"GET /v1/accounts", "guildhall.finance.v1.FinanceService/ListAccounts"} {
		if !names[want] {
			t.Errorf("span %q not exported; got %v", want, names)
		}
	}
}
