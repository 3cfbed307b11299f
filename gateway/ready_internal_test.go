package gateway

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestReadinessCauses drives a real gRPC health server through the states a
// service goes through and reads what /readyz says is failing.
func TestReadinessCauses(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	h := health.NewServer()
	healthpb.RegisterHealthServer(srv, h)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const svc = "guildhall.finance.v1.FinanceService"
	rd := readiness{{name: "finance", service: svc, health: healthpb.NewHealthClient(conn)}}
	ask := func() (int, []string) {
		rec := httptest.NewRecorder()
		rd.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		var body struct{ Failing []string }
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		return rec.Code, body.Failing
	}
	set := func(name string, s healthpb.HealthCheckResponse_ServingStatus) { h.SetServingStatus(name, s) }

	set(svc, healthpb.HealthCheckResponse_SERVING)
	set(DatabaseHealth(svc), healthpb.HealthCheckResponse_SERVING)
	if code, failing := ask(); code != http.StatusOK || len(failing) != 0 {
		t.Errorf("all serving: %d %q", code, failing)
	}
	set(svc, healthpb.HealthCheckResponse_NOT_SERVING)
	set(DatabaseHealth(svc), healthpb.HealthCheckResponse_NOT_SERVING)
	if code, failing := ask(); code != http.StatusServiceUnavailable || !slices.Equal(failing, []string{"finance database unreachable"}) {
		t.Errorf("database down: %d %q", code, failing)
	}
	set(DatabaseHealth(svc), healthpb.HealthCheckResponse_SERVING)
	if code, failing := ask(); code != http.StatusServiceUnavailable || !slices.Equal(failing, []string{"finance service NOT_SERVING"}) {
		t.Errorf("service not serving, database fine: %d %q", code, failing)
	}
	h.Shutdown() // what a draining service does: everything NOT_SERVING
	if code, failing := ask(); code != http.StatusServiceUnavailable || !slices.Equal(failing, []string{"finance service shutting down"}) {
		t.Errorf("shutting down: %d %q", code, failing)
	}
	srv.Stop()
	if code, failing := ask(); code != http.StatusServiceUnavailable || len(failing) != 1 || !strings.HasPrefix(failing[0], "finance service unreachable: ") {
		t.Errorf("stopped: %d %q", code, failing)
	}
}
