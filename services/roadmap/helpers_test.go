package roadmap_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/app/apptest"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
)

// fixture is a running Guildhall with the access-matrix actors.
type fixture struct {
	env    *apptest.Env
	admin  *apptest.Env
	actors apptest.Actors
	client roadmapv1.RoadmapServiceClient
}

func start(t *testing.T, opts ...apptest.Option) *fixture {
	t.Helper()
	env := apptest.Start(t, opts...)
	return &fixture{
		env: env, admin: env.WithToken(apptest.AdminToken), actors: env.Actors(t),
		client: roadmapv1.NewRoadmapServiceClient(env.Conn),
	}
}

// ok fails unless res has status want, and returns its JSON body.
func ok(t *testing.T, res *apptest.Response, want int) map[string]any {
	t.Helper()
	if res.Status != want {
		t.Fatalf("HTTP %d, want %d: %s", res.Status, want, res.Body)
	}
	if len(res.Body) == 0 || res.Body[0] != '{' {
		return nil
	}
	return res.JSON(t)
}

// refused fails unless res is an error with status code, and returns it.
func refused(t *testing.T, res *apptest.Response, code int) apptest.Status {
	t.Helper()
	if res.Status != code {
		t.Fatalf("HTTP %d, want %d: %s", res.Status, code, res.Body)
	}
	return res.RPCStatus(t)
}

func newRelease(t *testing.T, env *apptest.Env, id, body string) map[string]any {
	t.Helper()
	return ok(t, env.Do(t, http.MethodPost, "/v1/releases?releaseId="+id+"&requestId="+uuid.NewString(), body), http.StatusOK)
}

func newItem(t *testing.T, env *apptest.Env, body string) string {
	t.Helper()
	m := ok(t, env.Do(t, http.MethodPost, "/v1/items?requestId="+uuid.NewString(), body), http.StatusOK)
	return m["name"].(string)
}

func newProposal(t *testing.T, env *apptest.Env, body string) string {
	t.Helper()
	m := ok(t, env.Do(t, http.MethodPost, "/v1/proposals?requestId="+uuid.NewString(), body), http.StatusOK)
	return m["name"].(string)
}

func count(t *testing.T, env *apptest.Env, service, query string, args ...any) int {
	t.Helper()
	var n int
	if err := env.DB(t, service).QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func hasField(s apptest.Status, field string) bool {
	return slices.ContainsFunc(s.Fields(), func(f string) bool { return f == field || strings.HasPrefix(f, field+"[") })
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func itemID(name string) string { return strings.TrimPrefix(name, "items/") }
