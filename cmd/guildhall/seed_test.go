package main

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestSeedSME loads the demo data through `guildhall seed sme` against a
// running dev started as `make run` does, twice, with no variables of its
// own (it finds dev where dev listens, with make run's token), and checks
// the second run adds nothing.
func TestSeedSME(t *testing.T) {
	vars, a := devEnv(t)
	vars["GUILDHALL_LOG_LEVEL"] = "error"
	vars["GUILDHALL_BOOTSTRAP_ADMIN_TOKEN"] = devAdminToken
	for k, v := range vars {
		t.Setenv(k, v)
	}
	startDev(t, a.http)
	// What a second terminal has: no token, no targets.
	os.Unsetenv("GUILDHALL_BOOTSTRAP_ADMIN_TOKEN")
	for _, svc := range []string{"MEMBERSHIP", "ROADMAP", "FINANCE"} {
		t.Setenv("GUILDHALL_"+svc+"_TARGET", "")
		os.Unsetenv("GUILDHALL_" + svc + "_TARGET")
	}

	counts := func() map[string]int {
		out := map[string]int{}
		for _, path := range []string{"/v1/teams", "/v1/people", "/v1/releases", "/v1/items", "/v1/proposals", "/v1/accounts", "/v1/donations", "/v1/goals"} {
			resp, err := http.Get("http://" + a.http + path + "?pageSize=1000")
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]any
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
			}
			for k, v := range body {
				if list, ok := v.([]any); ok {
					out[path+" "+k] = len(list)
				}
			}
		}
		return out
	}
	if err := run(context.Background(), []string{"seed", "sme"}, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	first := counts()
	for _, key := range []string{"/v1/teams teams", "/v1/releases releases", "/v1/accounts accounts", "/v1/donations donations"} {
		if first[key] == 0 {
			t.Errorf("%s is empty after seeding: %v", key, first)
		}
	}
	if first["/v1/teams teams"] != 7 {
		t.Errorf("want the seed's seven teams, got %d", first["/v1/teams teams"])
	}
	if err := run(context.Background(), []string{"seed", "sme"}, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	if second := counts(); !maps.Equal(first, second) {
		t.Fatalf("second seed changed counts:\n first %v\nsecond %v", first, second)
	}
	if err := run(context.Background(), []string{"seed", "nonsense"}, &strings.Builder{}); err == nil {
		t.Fatal("unknown data set accepted")
	}
}
