package gateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/guildhall/guildhall/app/apptest"
)

// TestReadyzNamesFailingDependency cuts the services off from their database
// and expects /readyz to say so: 503, and each service's database named.
func TestReadyzNamesFailingDependency(t *testing.T) {
	env := apptest.Start(t)
	u, err := url.Parse(env.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, os.Getenv("TEST_DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{db}.Sanitize()+` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), `ALTER DATABASE `+pgx.Identifier{db}.Sanitize()+` ALLOW_CONNECTIONS true`)
	})
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, db); err != nil {
		t.Fatal(err)
	}

	var body struct {
		Ready    bool              `json:"ready"`
		Services map[string]string `json:"services"`
		Failing  []string          `json:"failing"`
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		res := env.Do(t, http.MethodGet, "/readyz", "")
		if err := json.Unmarshal(res.Body, &body); err != nil {
			t.Fatalf("/readyz: %d %s", res.Status, res.Body)
		}
		if res.Status == http.StatusServiceUnavailable && len(body.Failing) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after cutting the database off: %d %s", res.Status, res.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := []string{"events database unreachable", "finance database unreachable", "membership database unreachable", "roadmap database unreachable"}
	if body.Ready || !slices.Equal(body.Failing, want) {
		t.Errorf("/readyz = ready %v, failing %q; want not ready, failing %q", body.Ready, body.Failing, want)
	}
	if body.Services["finance"] != "NOT_SERVING" {
		t.Errorf("/readyz services = %v; want finance NOT_SERVING", body.Services)
	}
}
