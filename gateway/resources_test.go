package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/app/apptest"
)

// kind describes one resource's REST surface, so every resource gets the same
// standard-method and bad-input checks.
type kind struct {
	collection string // "people"
	idParam    string // "personId"
	service    string // schema holding its table
	table      string
	valid      string // a valid body
	other      string // another valid body (for "same request_id, different body")
	update     string // a field to patch, as JSON without braces, e.g. `"bio":"x"`
	updated    string // a substring of the patched response
	oversize   string // a body with one field too long, and its field path
	oversizeAt string
	badValue   string // a body with one invalid value, and its field path
	badValueAt string
	required   string // the required field's path when the body is {}
	// preexisting are ids every environment starts with (the bootstrap admin).
	preexisting []string
}

var kinds = []kind{
	{
		collection: "people", idParam: "personId", service: "membership", table: "people",
		valid:  `{"displayName":"Jean Crisp","email":"jean@example.org","handles":{"irc":"jcrisp"},"skills":["perl"]}`,
		other:  `{"displayName":"Someone Else"}`,
		update: `"bio":"Maintains the contribs"`, updated: `"bio":"Maintains the contribs"`,
		oversize: `{"displayName":"` + strings.Repeat("x", 201) + `"}`, oversizeAt: "person.displayName",
		badValue: `{"displayName":"J","email":"not-an-email"}`, badValueAt: "person.email",
		required: "person.displayName", preexisting: []string{"admin"},
	},
	{
		collection: "releases", idParam: "releaseId", service: "roadmap", table: "releases",
		valid:  `{"displayName":"SME Server 10","basePlatform":"Rocky 8","targetDate":"2027-06-30"}`,
		other:  `{"displayName":"SME Server 11"}`,
		update: `"notes":"Beta soon"`, updated: `"notes":"Beta soon"`,
		oversize: `{"displayName":"` + strings.Repeat("x", 201) + `"}`, oversizeAt: "release.displayName",
		badValue: `{"displayName":"v","targetDate":"2027-02-30"}`, badValueAt: "release.targetDate",
		required: "release.displayName",
	},
	{
		collection: "accounts", idParam: "accountId", service: "finance", table: "accounts",
		valid:  `{"displayName":"Bank","type":"TYPE_ASSET","currencyCode":"EUR"}`,
		other:  `{"displayName":"Cash","type":"TYPE_ASSET","currencyCode":"EUR"}`,
		update: `"description":"Main bank account"`, updated: `"description":"Main bank account"`,
		oversize: `{"displayName":"` + strings.Repeat("x", 201) + `","type":"TYPE_ASSET","currencyCode":"EUR"}`, oversizeAt: "account.displayName",
		badValue: `{"displayName":"Bank","type":"TYPE_ASSET","currencyCode":"XXZ"}`, badValueAt: "account.currencyCode",
		required: "account.currencyCode",
	},
}

func (k kind) count(t *testing.T, env *apptest.Env) int {
	t.Helper()
	var n int
	err := env.DB(t, k.service).QueryRow(context.Background(),
		"SELECT count(*) FROM "+k.table+" WHERE NOT id = ANY($1)", append([]string{}, k.preexisting...)).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (k kind) create(t *testing.T, env *apptest.Env, id, body string) *apptest.Response {
	t.Helper()
	return env.Do(t, http.MethodPost, fmt.Sprintf("/v1/%s?%s=%s&requestId=%s", k.collection, k.idParam, id, uuid.NewString()), body)
}

func TestStandardMethods(t *testing.T) {
	env := apptest.Start(t).WithToken(apptest.AdminToken)
	for _, k := range kinds {
		t.Run(k.collection, func(t *testing.T) {
			res := k.create(t, env, "alpha", k.valid)
			if res.Status != http.StatusOK {
				t.Fatalf("create: %d %s", res.Status, res.Body)
			}
			created := res.JSON(t)
			if created["name"] != k.collection+"/alpha" || created["etag"] == "" || created["createTime"] == nil {
				t.Fatalf("create returned %s", res.Body)
			}

			if res := k.create(t, env, "alpha", k.valid); res.Status != http.StatusConflict || res.RPCStatus(t).Reason() != "ALREADY_EXISTS" {
				t.Fatalf("duplicate id: want 409 ALREADY_EXISTS, got %d %s", res.Status, res.Body)
			}

			got := env.Do(t, http.MethodGet, "/v1/"+k.collection+"/alpha", "")
			if got.Status != http.StatusOK || got.JSON(t)["etag"] != created["etag"] {
				t.Fatalf("get: %d %s", got.Status, got.Body)
			}

			patch := env.Do(t, http.MethodPatch, "/v1/"+k.collection+"/alpha", fmt.Sprintf(`{%s,"etag":%q}`, k.update, created["etag"]))
			if patch.Status != http.StatusOK || !strings.Contains(compact(patch.Body), k.updated) {
				t.Fatalf("patch: %d %s", patch.Status, patch.Body)
			}
			if patch.JSON(t)["etag"] == created["etag"] {
				t.Fatal("etag did not change on update")
			}
			if patch.JSON(t)["displayName"] != created["displayName"] {
				t.Fatalf("patch of one field changed displayName: %s", patch.Body)
			}

			stale := env.Do(t, http.MethodPatch, "/v1/"+k.collection+"/alpha", fmt.Sprintf(`{%s,"etag":%q}`, k.update, created["etag"]))
			if stale.Status != http.StatusConflict || stale.RPCStatus(t).Reason() != "ETAG_MISMATCH" {
				t.Fatalf("stale etag: want 409 ETAG_MISMATCH, got %d %s", stale.Status, stale.Body)
			}

			if res := env.Do(t, http.MethodDelete, "/v1/"+k.collection+"/alpha?etag="+created["etag"].(string), ""); res.Status != http.StatusConflict {
				t.Fatalf("delete with stale etag: want 409, got %d %s", res.Status, res.Body)
			}
			if res := env.Do(t, http.MethodDelete, "/v1/"+k.collection+"/alpha", ""); res.Status != http.StatusOK {
				t.Fatalf("delete: %d %s", res.Status, res.Body)
			}
			if res := env.Do(t, http.MethodGet, "/v1/"+k.collection+"/alpha", ""); res.Status != http.StatusNotFound || res.RPCStatus(t).Reason() != "NOT_FOUND" {
				t.Fatalf("get after delete: want 404, got %d %s", res.Status, res.Body)
			}
			if n := k.count(t, env); n != 0 {
				t.Fatalf("%d rows left after delete", n)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	env := apptest.Start(t).WithToken(apptest.AdminToken)
	for _, k := range kinds {
		t.Run(k.collection, func(t *testing.T) {
			var want []string
			for _, id := range k.preexisting {
				want = append(want, k.collection+"/"+id)
			}
			for i := range 7 {
				id := fmt.Sprintf("item-%02d", i)
				if res := k.create(t, env, id, k.valid); res.Status != http.StatusOK {
					t.Fatalf("create %s: %d %s", id, res.Status, res.Body)
				}
				want = append(want, k.collection+"/"+id)
			}
			var got []string
			token, pages := "", 0
			for {
				res := env.Do(t, http.MethodGet, "/v1/"+k.collection+"?pageSize=3&pageToken="+token, "")
				if res.Status != http.StatusOK {
					t.Fatalf("list: %d %s", res.Status, res.Body)
				}
				body := res.JSON(t)
				items, _ := body[k.collection].([]any)
				if len(items) > 3 {
					t.Fatalf("page of %d items with pageSize=3", len(items))
				}
				for _, it := range items {
					got = append(got, it.(map[string]any)["name"].(string))
				}
				pages++
				token, _ = body["nextPageToken"].(string)
				if token == "" {
					break
				}
				if strings.Contains(token, "item-") {
					t.Fatalf("page token is not opaque: %q", token)
				}
			}
			if wantPages := (len(want) + 2) / 3; !slices.Equal(got, want) || pages != wantPages {
				t.Fatalf("listed %v in %d pages, want %v in %d", got, pages, want, wantPages)
			}

			for _, bad := range []string{"pageSize=-1", "pageToken=garbage", "pageSize=abc"} {
				res := env.Do(t, http.MethodGet, "/v1/"+k.collection+"?"+bad, "")
				if res.Status != http.StatusBadRequest || len(res.RPCStatus(t).Fields()) == 0 {
					t.Errorf("%s: want 400 with a field violation, got %d %s", bad, res.Status, res.Body)
				}
			}
			// The maximum is a clamp, not an error.
			if res := env.Do(t, http.MethodGet, "/v1/"+k.collection+"?pageSize=5000", ""); res.Status != http.StatusOK {
				t.Errorf("pageSize over the maximum: want 200, got %d", res.Status)
			}
		})
	}
}

// TestBadInput sends hostile and malformed requests to every route. Each must
// get the right 4xx with a google.rpc.Status naming the field, and store nothing.
func TestBadInput(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) { c.MaxBodyBytes = 4096 }).WithToken(apptest.AdminToken)
	for _, k := range kinds {
		t.Run(k.collection, func(t *testing.T) {
			if res := k.create(t, env, "existing", k.valid); res.Status != http.StatusOK {
				t.Fatalf("seed: %d %s", res.Status, res.Body)
			}
			coll := "/v1/" + k.collection
			create := coll + "?" + k.idParam + "=fresh&requestId=" + uuid.NewString()
			cases := []struct {
				name, method, path, body string
				status                   int
				field                    string // "" when no field applies (404/405)
			}{
				{"malformed JSON", "POST", create, `{"displayName":`, 400, "body"},
				{"not an object", "POST", create, `[1,2,3]`, 400, "body"},
				{"unknown field", "POST", create, `{"displayName":"x","colour":"red"}`, 400, "colour"},
				{"wrong type", "POST", create, `{"displayName":5}`, 400, "displayName"},
				{"missing required", "POST", create, `{}`, 400, k.required},
				{"oversized field", "POST", create, k.oversize, 400, k.oversizeAt},
				{"invalid value", "POST", create, k.badValue, 400, k.badValueAt},
				{"missing id", "POST", coll + "?requestId=" + uuid.NewString(), k.valid, 400, k.idParam2()},
				{"invalid id", "POST", coll + "?" + k.idParam + "=Not_Valid", k.valid, 400, k.idParam2()},
				{"invalid request id", "POST", coll + "?" + k.idParam + "=fresh&requestId=42", k.valid, 400, "requestId"},
				{"body over the limit", "POST", create, `{"displayName":"` + strings.Repeat("x", 5000) + `"}`, 413, "body"},
				{"get unknown", "GET", coll + "/nobody", "", 404, ""},
				{"get invalid name", "GET", coll + "/Bad_Name", "", 400, "name"},
				{"patch unknown", "PATCH", coll + "/nobody", `{"displayName":"x"}`, 404, ""},
				{"patch malformed", "PATCH", coll + "/existing", `{"displayName"`, 400, "body"},
				{"patch clears required", "PATCH", coll + "/existing?updateMask=displayName", `{}`, 400, k.collectionSingular() + ".displayName"},
				{"patch clears required, proto mask", "PATCH", coll + "/existing?updateMask=display_name", `{}`, 400, k.collectionSingular() + ".displayName"},
				{"patch output-only field", "PATCH", coll + "/existing?updateMask=createTime", `{}`, 400, "updateMask"},
				{"unknown query parameter", "GET", coll + "?pagesize=3", "", 400, "pagesize"},
				{"trailing object", "POST", create, k.valid + k.valid, 400, "body"},
				{"trailing junk", "POST", create, k.valid + " junk", 400, "body"},
				{"patch trailing junk", "PATCH", coll + "/existing", `{"displayName":"x"} {}`, 400, "body"},
				{"patch oversized", "PATCH", coll + "/existing", k.oversize, 400, k.oversizeAt},
				{"delete unknown", "DELETE", coll + "/nobody", "", 404, ""},
				{"wrong method", "PUT", coll + "/existing", k.valid, 405, ""},
				{"unknown route", "GET", "/v1/nothing-here", "", 404, ""},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					before := k.count(t, env)
					res := env.Do(t, c.method, c.path, c.body)
					if res.Status != c.status {
						t.Fatalf("want %d, got %d %s", c.status, res.Status, res.Body)
					}
					st := res.RPCStatus(t)
					if c.field != "" && !slices.Contains(st.Fields(), c.field) {
						t.Fatalf("want a violation on %q, got %v in %s", c.field, st.Fields(), res.Body)
					}
					if after := k.count(t, env); after != before {
						t.Fatalf("rows went from %d to %d", before, after)
					}
					got := env.Do(t, http.MethodGet, coll+"/existing", "")
					if got.Status != http.StatusOK || !strings.Contains(compact(got.Body), `"etag":"1"`) {
						t.Fatalf("existing resource changed: %s", got.Body)
					}
				})
			}
		})
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	env := apptest.Start(t).WithToken(apptest.AdminToken)
	for _, k := range kinds {
		t.Run(k.collection, func(t *testing.T) {
			rid := uuid.NewString()
			path := fmt.Sprintf("/v1/%s?%s=storm&requestId=%s", k.collection, k.idParam, rid)
			const n = 40
			bodies := make([]string, n)
			codes := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					res := env.Do(t, http.MethodPost, path, k.valid)
					codes[i], bodies[i] = res.Status, string(res.Body)
				})
			}
			wg.Wait()
			for i := range n {
				if codes[i] != http.StatusOK || bodies[i] != bodies[0] {
					t.Fatalf("reply %d: %d %s\nwant 200 %s", i, codes[i], bodies[i], bodies[0])
				}
			}
			if c := k.count(t, env); c != 1 {
				t.Fatalf("%d concurrent creates with one request id stored %d rows", n, c)
			}
			// A retry after the storm returns the first result too.
			if res := env.Do(t, http.MethodPost, path, k.valid); res.Status != http.StatusOK || string(res.Body) != bodies[0] {
				t.Fatalf("retry: %d %s", res.Status, res.Body)
			}
			// The same id with a different body is refused and changes nothing.
			res := env.Do(t, http.MethodPost, path, k.other)
			if res.Status != http.StatusConflict || res.RPCStatus(t).Reason() != "REQUEST_ID_REUSED" {
				t.Fatalf("reused request id: want 409 REQUEST_ID_REUSED, got %d %s", res.Status, res.Body)
			}
			if c := k.count(t, env); c != 1 {
				t.Fatalf("rows: %d", c)
			}
		})
	}
}

func (k kind) idParam2() string {
	// Violations name the query parameter as it was sent (its JSON name).
	return k.idParam
}

func (k kind) collectionSingular() string {
	return map[string]string{"people": "person", "releases": "release", "accounts": "account"}[k.collection]
}

// compact removes the spaces protojson puts after separators.
func compact(b []byte) string {
	return strings.NewReplacer(`": `, `":`, `, "`, `,"`).Replace(string(b))
}
