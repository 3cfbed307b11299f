package telemetry_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/guildhall/guildhall/app/apptest"
)

// TestMetrics checks the series operators look for exist after real traffic,
// carry the labels they are read by, and pass promlint.
func TestMetrics(t *testing.T) {
	env := apptest.Start(t)
	admin := env.WithToken(apptest.AdminToken)
	if res := admin.Do(t, http.MethodPost, "/v1/accounts?accountId=bank&requestId="+uuid.NewString(), account); res.Status != http.StatusOK {
		t.Fatalf("create account: %d %s", res.Status, res.Body)
	}
	for _, id := range []string{"bank", "nope", "also-nope"} {
		admin.Do(t, http.MethodGet, "/v1/accounts/"+id, "")
	}
	admin.Do(t, http.MethodGet, "/no/such/route/"+uuid.NewString(), "")

	mfs, err := env.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	// has reports whether family name has a series with all of labels.
	has := func(name string, labels map[string]string) bool {
		mf := byName[name]
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			ok := true
			for k, v := range labels {
				if got[k] != v {
					ok = false
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
	want := []struct {
		name   string
		labels map[string]string
	}{
		// Database pools, per service.
		{"guildhall_db_pool_acquired_connections", map[string]string{"service": "finance"}},
		{"guildhall_db_pool_idle_connections", map[string]string{"service": "membership"}},
		{"guildhall_db_pool_acquire_wait_seconds_total", map[string]string{"service": "roadmap"}},
		{"guildhall_db_pool_acquires_total", map[string]string{"service": "finance"}},
		// Calls between services (finance asks membership who is calling), and the gateway's calls.
		{"grpc_client_handled_total", map[string]string{"grpc_service": "guildhall.membership.v1.MembershipService", "grpc_method": "Authenticate", "grpc_code": "OK"}},
		{"grpc_client_handling_seconds", map[string]string{"grpc_service": "guildhall.finance.v1.FinanceService", "grpc_method": "CreateAccount"}},
		// REST by route template.
		{"guildhall_http_requests_total", map[string]string{"method": "POST", "route": "/v1/accounts", "code": "200"}},
		{"guildhall_http_requests_total", map[string]string{"method": "GET", "route": "/v1/{name=accounts/*}", "code": "404"}},
		{"guildhall_http_requests_total", map[string]string{"method": "GET", "route": "unmatched", "code": "404"}},
		{"guildhall_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/v1/{name=accounts/*}"}},
		// The outbox backlog of the services that have one.
		{"guildhall_outbox_messages", map[string]string{"service": "finance"}},
		{"guildhall_outbox_oldest_message_age_seconds", map[string]string{"service": "roadmap"}},
	}
	for _, w := range want {
		if !has(w.name, w.labels) {
			t.Errorf("no series %s%v", w.name, w.labels)
		}
	}
	// No raw path may become a label value: one series per route, not per id.
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "nope") || strings.Contains(l.GetValue(), "/no/such") {
					t.Errorf("%s has label %s=%q: a raw path leaked into a label", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}

	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
