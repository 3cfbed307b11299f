package gateway_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/app/apptest"
)

// Each HTTP behaviour a frontend relies on, with a wrong and a right request.

func TestUnknownQueryParameters(t *testing.T) {
	env := apptest.Start(t).WithToken(apptest.AdminToken)
	for i := range 4 {
		env.Do(t, http.MethodPost, "/v1/people?personId=p"+string(rune('a'+i)), `{"displayName":"P"}`)
	}
	for _, c := range []struct {
		name, method, path, body string
		unknown                  []string
	}{
		{"typo of pageSize", "GET", "/v1/people?pagesize=3", "", []string{"pagesize"}},
		{"two unknown", "GET", "/v1/people?colour=red&pageSize=2&zzz=1", "", []string{"colour", "zzz"}},
		{"on a get", "GET", "/v1/people/admin?view=full", "", []string{"view"}},
		{"nested unknown", "GET", "/v1/people?pageSize.x=1", "", []string{"pageSize.x"}},
		{"on a create", "POST", "/v1/people?personId=q&requestID=" + uuid.NewString(), `{"displayName":"Q"}`, []string{"requestID"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := env.Do(t, c.method, c.path, c.body)
			if res.Status != http.StatusBadRequest {
				t.Fatalf("want 400, got %d %s", res.Status, res.Body)
			}
			st := res.RPCStatus(t)
			if got := st.Fields(); !slices.Equal(got, c.unknown) {
				t.Fatalf("violations %v, want %v: %s", got, c.unknown, res.Body)
			}
			if !strings.Contains(st.Message, "pageSize") && c.method == "GET" && strings.HasPrefix(c.path, "/v1/people?") {
				t.Errorf("message does not list the accepted parameters: %s", st.Message)
			}
		})
	}
	// Right: the same requests spelled correctly, by JSON or proto name.
	for _, q := range []string{"pageSize=3", "page_size=3"} {
		res := env.Do(t, "GET", "/v1/people?"+q, "")
		if res.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", q, res.Status, res.Body)
		}
		var page struct{ People []any }
		_ = json.Unmarshal(res.Body, &page)
		if len(page.People) != 3 {
			t.Fatalf("%s: %d people, want 3", q, len(page.People))
		}
	}
}

func TestUnknownQueryOnBodyOnlyRoute(t *testing.T) {
	env := apptest.Start(t).WithToken(apptest.AdminToken)
	path := "/v1/transactions/00000000-0000-0000-0000-000000000000:reverse"
	res := env.Do(t, "POST", path+"?requestId="+uuid.NewString(), `{}`)
	if res.Status != http.StatusBadRequest || !slices.Equal(res.RPCStatus(t).Fields(), []string{"requestId"}) {
		t.Fatalf("query on a body-only route: want 400 naming requestId, got %d %s", res.Status, res.Body)
	}
	// Right: the same field in the body reaches the service (which finds no such transaction).
	res = env.Do(t, "POST", path, `{"requestId":"`+uuid.NewString()+`"}`)
	if res.Status != http.StatusNotFound {
		t.Fatalf("body-only route with its fields in the body: want 404, got %d %s", res.Status, res.Body)
	}
}

func TestUpdateMaskJSONNames(t *testing.T) {
	env := apptest.Start(t).WithToken(apptest.AdminToken)
	env.Do(t, "POST", "/v1/people?personId=jc", `{"displayName":"J","bio":"old"}`)
	res := env.Do(t, "PATCH", "/v1/people/jc?updateMask=displayName,timeZone", `{"displayName":"Jean","timeZone":"Europe/Paris","bio":"ignored"}`)
	if res.Status != http.StatusOK {
		t.Fatalf("camelCase mask: %d %s", res.Status, res.Body)
	}
	m := res.JSON(t)
	if m["displayName"] != "Jean" || m["timeZone"] != "Europe/Paris" || m["bio"] != "old" {
		t.Fatalf("mask not applied as sent: %s", res.Body)
	}
	res = env.Do(t, "PATCH", "/v1/people/jc?updateMask=displayName,nonsense", `{"displayName":"X"}`)
	if res.Status != http.StatusBadRequest || !slices.Equal(res.RPCStatus(t).Fields(), []string{"updateMask"}) {
		t.Fatalf("unknown mask path: want 400 on updateMask, got %d %s", res.Status, res.Body)
	}
}

func TestFieldViolationsUseJSONNames(t *testing.T) {
	env := apptest.Start(t).WithToken(apptest.AdminToken)
	res := env.Do(t, "POST", "/v1/people?personId=ok&requestId=nope", `{"displayName":"","timeZone":"Mars/Olympus"}`)
	if res.Status != http.StatusBadRequest {
		t.Fatalf("want 400, got %d %s", res.Status, res.Body)
	}
	st := res.RPCStatus(t)
	for _, f := range st.Fields() {
		if strings.Contains(f, "_") {
			t.Errorf("violation %q uses a proto name, not the JSON name the client sent", f)
		}
	}
	if !slices.Contains(st.Fields(), "requestId") {
		t.Errorf("violations %v lack requestId", st.Fields())
	}
	if strings.Contains(st.Message, "_") {
		t.Errorf("message %q names a proto field", st.Message)
	}
}

func TestConditionalRequests(t *testing.T) {
	env := apptest.Start(t).WithToken(apptest.AdminToken)
	env.Do(t, "POST", "/v1/people?personId=jc", `{"displayName":"J"}`)
	get := env.Do(t, "GET", "/v1/people/jc", "")
	tag := get.Header.Get("ETag")
	if get.Status != http.StatusOK || !strings.HasPrefix(tag, `"1.`) {
		t.Fatalf("GET: want 200 with an ETag built on the body etag 1, got %d %q", get.Status, tag)
	}
	// If-None-Match: the current tag is a 304 without a body, another tag a 200.
	if res := env.Do(t, "GET", "/v1/people/jc", "", "If-None-Match", tag); res.Status != http.StatusNotModified || len(res.Body) != 0 || res.Header.Get("ETag") != tag {
		t.Fatalf("If-None-Match current: want 304 with the tag and no body, got %d %q %s", res.Status, res.Header.Get("ETag"), res.Body)
	}
	if res := env.Do(t, "GET", "/v1/people/jc", "", "If-None-Match", `"0.0123456789abcdef"`); res.Status != http.StatusOK || len(res.Body) == 0 {
		t.Fatalf("If-None-Match stale: want 200 with a body, got %d", res.Status)
	}
	// Lists carry a tag too.
	list := env.Do(t, "GET", "/v1/people", "")
	if lt := list.Header.Get("ETag"); lt == "" {
		t.Fatal("list without an ETag")
	} else if res := env.Do(t, "GET", "/v1/people", "", "If-None-Match", lt); res.Status != http.StatusNotModified {
		t.Fatalf("list If-None-Match: %d", res.Status)
	}

	// If-Match on PATCH: stale is a 412 and changes nothing; current applies.
	for _, stale := range []string{`"7"`, `"7.0123456789abcdef"`} {
		res := env.Do(t, "PATCH", "/v1/people/jc", `{"bio":"stale"}`, "If-Match", stale)
		if res.Status != http.StatusPreconditionFailed || res.RPCStatus(t).Reason() != "ETAG_MISMATCH" {
			t.Fatalf("PATCH If-Match %s: want 412 ETAG_MISMATCH, got %d %s", stale, res.Status, res.Body)
		}
	}
	if !strings.Contains(string(env.Do(t, "GET", "/v1/people/jc", "").Body), `"etag":"1"`) {
		t.Fatal("a refused PATCH changed the person")
	}
	// Without If-Match a stale body etag stays a 409 (AIP-154).
	if res := env.Do(t, "PATCH", "/v1/people/jc", `{"bio":"x","etag":"7"}`); res.Status != http.StatusConflict {
		t.Fatalf("stale body etag: want 409, got %d", res.Status)
	}
	if res := env.Do(t, "PATCH", "/v1/people/jc", `{"bio":"x","etag":"2"}`, "If-Match", `"1"`); res.Status != http.StatusBadRequest {
		t.Fatalf("body etag and If-Match disagree: want 400, got %d", res.Status)
	}
	res := env.Do(t, "PATCH", "/v1/people/jc", `{"bio":"fresh"}`, "If-Match", tag)
	if res.Status != http.StatusOK || res.JSON(t)["bio"] != "fresh" {
		t.Fatalf("PATCH If-Match current: want 200, got %d %s", res.Status, res.Body)
	}
	// If-Match on DELETE.
	if res := env.Do(t, "DELETE", "/v1/people/jc", "", "If-Match", tag); res.Status != http.StatusPreconditionFailed {
		t.Fatalf("DELETE with the old tag: want 412, got %d %s", res.Status, res.Body)
	}
	if res := env.Do(t, "GET", "/v1/people/jc", ""); res.Status != http.StatusOK {
		t.Fatalf("a refused DELETE deleted: %d", res.Status)
	}
	tag = env.Do(t, "GET", "/v1/people/jc", "").Header.Get("ETag")
	if res := env.Do(t, "DELETE", "/v1/people/jc", "", "If-Match", tag); res.Status != http.StatusOK {
		t.Fatalf("DELETE with the current tag: want 200, got %d %s", res.Status, res.Body)
	}
	if res := env.Do(t, "GET", "/v1/people/jc", ""); res.Status != http.StatusNotFound {
		t.Fatalf("after DELETE: %d", res.Status)
	}
}

func TestIdempotencyKeyHeader(t *testing.T) {
	env := apptest.Start(t).WithToken(apptest.AdminToken)
	key := uuid.NewString()
	first := env.Do(t, "POST", "/v1/releases?releaseId=v10", `{"displayName":"SME 10"}`, "Idempotency-Key", key)
	again := env.Do(t, "POST", "/v1/releases?releaseId=v10", `{"displayName":"SME 10"}`, "Idempotency-Key", key)
	if first.Status != http.StatusOK || again.Status != http.StatusOK || !bytes.Equal(first.Body, again.Body) {
		t.Fatalf("retry with the same key: want the first answer again, got %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	// Without the key the retry is a second create, which the id refuses: the
	// header really is what made the retry safe.
	if res := env.Do(t, "POST", "/v1/releases?releaseId=v10", `{"displayName":"SME 10"}`); res.Status != http.StatusConflict {
		t.Fatalf("same create without the key: want 409, got %d", res.Status)
	}
	// The same key with another body is refused, like a reused requestId.
	res := env.Do(t, "POST", "/v1/releases?releaseId=v10", `{"displayName":"Other"}`, "Idempotency-Key", key)
	if res.Status != http.StatusConflict || res.RPCStatus(t).Reason() != "REQUEST_ID_REUSED" {
		t.Fatalf("key reused with another body: want 409 REQUEST_ID_REUSED, got %d %s", res.Status, res.Body)
	}
	// The header and requestId must agree; a key that is no UUID is a 400.
	res = env.Do(t, "POST", "/v1/releases?releaseId=v11&requestId="+uuid.NewString(), `{"displayName":"x"}`, "Idempotency-Key", key)
	if res.Status != http.StatusBadRequest || !slices.Contains(res.RPCStatus(t).Fields(), "requestId") {
		t.Fatalf("key and requestId differ: want 400 on requestId, got %d %s", res.Status, res.Body)
	}
	if res := env.Do(t, "POST", "/v1/releases?releaseId=v11", `{"displayName":"x"}`, "Idempotency-Key", "not-a-uuid"); res.Status != http.StatusBadRequest {
		t.Fatalf("key that is no UUID: want 400, got %d %s", res.Status, res.Body)
	}
	// A method without request_id refuses the header instead of ignoring it.
	res = env.Do(t, "PATCH", "/v1/releases/v10", `{"notes":"x"}`, "Idempotency-Key", uuid.NewString())
	if res.Status != http.StatusBadRequest || !slices.Contains(res.RPCStatus(t).Fields(), "Idempotency-Key") {
		t.Fatalf("key on a method without request_id: want 400, got %d %s", res.Status, res.Body)
	}
}

func TestChallengeHeaders(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) { c.VolunteerRatePerMinute = 1 })
	res := env.Do(t, "POST", "/v1/releases?releaseId=x", `{"displayName":"x"}`)
	if res.Status != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != `Bearer realm="guildhall"` {
		t.Fatalf("no token: want 401 with a Bearer challenge, got %d %q", res.Status, res.Header.Get("WWW-Authenticate"))
	}
	res = env.WithToken("gh_wrong").Do(t, "POST", "/v1/releases?releaseId=x", `{"displayName":"x"}`)
	if ch := res.Header.Get("WWW-Authenticate"); res.Status != http.StatusUnauthorized || !strings.HasPrefix(ch, `Bearer realm="guildhall", error="invalid_token"`) {
		t.Fatalf("bad token: want 401 with error=invalid_token, got %d %q", res.Status, ch)
	}
	if res := env.WithToken(apptest.AdminToken).Do(t, "GET", "/v1/people", ""); res.Status != http.StatusOK || res.Header.Get("WWW-Authenticate") != "" {
		t.Fatalf("good token: %d %q", res.Status, res.Header.Get("WWW-Authenticate"))
	}
	offer := `{"displayName":"Helper","contact":"h@example.org"}`
	if res := env.Do(t, "POST", "/v1/volunteers", offer); res.Status != http.StatusOK || res.Header.Get("Retry-After") != "" {
		t.Fatalf("first offer: %d %q %s", res.Status, res.Header.Get("Retry-After"), res.Body)
	}
	res = env.Do(t, "POST", "/v1/volunteers", offer)
	if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "60" {
		t.Fatalf("second offer in the minute: want 429 with Retry-After 60, got %d %q", res.Status, res.Header.Get("Retry-After"))
	}
}

func TestGzip(t *testing.T) {
	env := apptest.Start(t).WithToken(apptest.AdminToken)
	for i := range 30 {
		env.Do(t, "POST", "/v1/people?personId=p"+strings.Repeat("x", i), `{"displayName":"Someone with a long enough name"}`)
	}
	res := env.Do(t, "GET", "/v1/people?pageSize=30", "", "Accept-Encoding", "gzip")
	if res.Status != http.StatusOK || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("want a gzip answer, got %d %q", res.Status, res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(res.Body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !json.Valid(plain) || len(plain) <= len(res.Body) {
		t.Fatalf("gzip body does not inflate to larger JSON: %v", err)
	}
	res = env.Do(t, "GET", "/v1/people?pageSize=30", "", "Accept-Encoding", "identity")
	if res.Header.Get("Content-Encoding") != "" || !json.Valid(res.Body) {
		t.Fatalf("identity: got Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
}

func TestExportErrorShape(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	for _, c := range []struct {
		name, token, query string
		status             int
	}{
		{"bad date", apptest.AdminToken, "?from=yesterday", http.StatusBadRequest},
		{"unknown parameter", apptest.AdminToken, "?since=2026-01-01", http.StatusBadRequest},
		{"no token", "", "", http.StatusUnauthorized},
		{"plain member", a.Member, "", http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := env.WithToken(c.token).Do(t, "GET", "/v1/transactions:export"+c.query, "")
			if res.Status != c.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("want %d JSON, got %d %q %s", c.status, res.Status, res.Header.Get("Content-Type"), res.Body)
			}
			if bytes.Contains(res.Body, []byte(`"error"`)) {
				t.Fatalf("error wrapped in {\"error\":…}: %s", res.Body)
			}
			st := res.RPCStatus(t)
			if st.Reason() == "" {
				t.Fatalf("no ErrorInfo: %s", res.Body)
			}
			if c.status == http.StatusBadRequest && (len(st.Fields()) == 0 || strings.Contains(strings.Join(st.Fields(), ""), "_")) {
				t.Fatalf("violations %v", st.Fields())
			}
		})
	}
	// Right: the export itself is CSV.
	res := env.WithToken(apptest.AdminToken).Do(t, "GET", "/v1/transactions:export?from=2026-01-01", "")
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %q", res.Status, res.Header.Get("Content-Type"))
	}
}

func TestListFilter(t *testing.T) {
	env := apptest.Start(t).WithToken(apptest.AdminToken)
	for _, body := range []string{`{"title":"a","state":"STATE_IN_PROGRESS"}`, `{"title":"b","state":"STATE_PLANNED"}`, `{"title":"c","state":"STATE_IN_PROGRESS"}`} {
		if res := env.Do(t, "POST", "/v1/items", body); res.Status != http.StatusOK {
			t.Fatalf("item: %d %s", res.Status, res.Body)
		}
	}
	q := func(f string) string { return "/v1/items?filter=" + url.QueryEscape(f) }
	for _, f := range []string{`state = "STATE_IN_PROGRESS"`, `state = "STATE_IN_PROGRESS" AND tag = ""`} {
		res := env.Do(t, "GET", q(f), "")
		var page struct{ Items []struct{ State string } }
		if res.Status != http.StatusOK || json.Unmarshal(res.Body, &page) != nil || len(page.Items) != 2 {
			t.Fatalf("filter %s: want the 2 items in progress, got %d %s", f, res.Status, res.Body)
		}
		for _, it := range page.Items {
			if it.State != "STATE_IN_PROGRESS" {
				t.Fatalf("filter %s let through %s", f, it.State)
			}
		}
	}
	for _, f := range []string{`state =`, `colour = "red"`, `state = "STATE_NOPE"`, `state = "STATE_DONE" OR state = "STATE_PLANNED"`, `title = "a"`} {
		res := env.Do(t, "GET", q(f), "")
		if res.Status != http.StatusBadRequest || !slices.Equal(res.RPCStatus(t).Fields(), []string{"filter"}) {
			t.Errorf("filter %q: want 400 on filter, got %d %s", f, res.Status, res.Body)
		}
	}
	// The filter and a parameter must agree.
	if res := env.Do(t, "GET", q(`state = "STATE_PLANNED"`)+"&state=STATE_IN_PROGRESS", ""); res.Status != http.StatusBadRequest {
		t.Errorf("contradicting filter and parameter: %d", res.Status)
	}
}
