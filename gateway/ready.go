package gateway

import (
	"context"
	"net/http"
	"sync"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type upstream struct {
	name    string
	service string
	health  healthpb.HealthClient
}

// readiness reports ready when every service says SERVING. Services report
// NOT_SERVING when their database is unreachable, so this covers databases too.
type readiness []upstream

func (rd readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	out := make(map[string]string, len(rd))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range rd {
		wg.Go(func() {
			state := "UNREACHABLE"
			resp, err := u.health.Check(ctx, &healthpb.HealthCheckRequest{Service: u.service})
			if err == nil {
				state = resp.GetStatus().String()
			}
			mu.Lock()
			out[u.name] = state
			mu.Unlock()
		})
	}
	wg.Wait()
	code := http.StatusOK
	for _, s := range out {
		if s != healthpb.HealthCheckResponse_SERVING.String() {
			code = http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, map[string]any{"ready": code == http.StatusOK, "services": out})
}
