package gateway

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// DatabaseHealth is the health-check name under which a service reports its
// database: "<gRPC service name>/database".
func DatabaseHealth(service string) string { return service + "/database" }

type upstream struct {
	name    string
	service string
	health  healthpb.HealthClient
}

// readiness reports ready when every service says SERVING. Services report
// NOT_SERVING when their database is unreachable; the answer's "failing"
// list says which dependency it is: the service itself (unreachable, with
// the connection error, or shutting down) or its database.
type readiness []upstream

func (rd readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	out := make(map[string]string, len(rd))
	failing := []string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range rd {
		wg.Go(func() {
			state, why := u.check(ctx)
			mu.Lock()
			defer mu.Unlock()
			out[u.name] = state
			if why != "" {
				failing = append(failing, why)
			}
		})
	}
	wg.Wait()
	slices.Sort(failing)
	code := http.StatusOK
	if len(failing) > 0 {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": code == http.StatusOK, "services": out, "failing": failing})
}

// check returns the service's state and, unless SERVING, what is failing.
func (u upstream) check(ctx context.Context) (state, why string) {
	resp, err := u.health.Check(ctx, &healthpb.HealthCheckRequest{Service: u.service})
	if err != nil {
		return "UNREACHABLE", u.name + " service unreachable: " + status.Convert(err).Message()
	}
	state = resp.GetStatus().String()
	if resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
		return state, ""
	}
	// The server as a whole ("") goes NOT_SERVING only when it is stopping;
	// then every name does, its database's too, which would mislead.
	if all, err := u.health.Check(ctx, &healthpb.HealthCheckRequest{}); err == nil &&
		all.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
		return state, u.name + " service shutting down"
	}
	db, err := u.health.Check(ctx, &healthpb.HealthCheckRequest{Service: DatabaseHealth(u.service)})
	if err == nil && db.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
		return state, u.name + " database unreachable"
	}
	return state, u.name + " service " + state
}
