package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/gen/openapi"
)

// TestHostileRequests sends malformed and hostile requests to every route in
// the OpenAPI document, as an anonymous caller and as an admin. None may get
// a 5xx, and every error must be a google.rpc.Status.
func TestHostileRequests(t *testing.T) {
	env := apptest.Start(t)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	param := regexp.MustCompile(`\{[^}]+\}`)
	segments := []string{"x", "Not_A_Valid-ID", strings.Repeat("a", 300), url.PathEscape("../../etc/passwd"), url.PathEscape("ünï🙂"), "-", "a%00b"}
	bodies := []string{``, `{`, `[]`, `null`, `"text"`, `{"unknownField":1}`, `{"name":5,"displayName":{"a":[]}}`,
		`{"amount":{"currencyCode":"EUR","minorUnits":"1e400"}}`, `{"minorUnits":"9223372036854775808"}`,
		`{"displayName":"\u0000"}`, `{"amount":{"currencyCode":"US\u0000","minorUnits":"1"}}`}
	queries := []string{"", "?pageSize=-5", "?pageSize=99999999999", "?pageToken=%00%ff", "?requestId=not-a-uuid", "?month=2026-13", "?from=yesterday", "?filter=%00"}

	callers := map[string]*apptest.Env{"anonymous": env, "admin": env.WithToken(apptest.AdminToken)}
	requests := 0
	for _, p := range paths {
		for method := range doc.Paths[p] {
			method = strings.ToUpper(method)
			for who, caller := range callers {
				for i, seg := range segments {
					path := param.ReplaceAllString(p, seg)
					for j, q := range queries {
						body := ""
						if method == http.MethodPost || method == http.MethodPatch {
							body = bodies[(i+j)%len(bodies)]
						}
						res := caller.Do(t, method, path+q, body)
						requests++
						if res.Status >= 500 {
							t.Errorf("%s %s%s as %s with %q: HTTP %d %s", method, path, q, who, body, res.Status, res.Body)
							continue
						}
						if res.Status >= 400 {
							assertStatusJSON(t, method+" "+path+q, res)
						}
					}
				}
			}
		}
	}
	t.Logf("%d hostile requests over %d paths", requests, len(paths))
}

// assertStatusJSON checks an error body is a google.rpc.Status; streaming
// routes wrap it as {"error": Status}, as grpc-gateway does for streams.
func assertStatusJSON(t *testing.T, what string, res *apptest.Response) {
	t.Helper()
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Error   *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(res.Body, &st); err != nil {
		t.Errorf("%s: HTTP %d body is not JSON: %s", what, res.Status, res.Body)
		return
	}
	if st.Error != nil {
		st.Code, st.Message = st.Error.Code, st.Error.Message
	}
	if st.Code == 0 || st.Message == "" {
		t.Errorf("%s: HTTP %d body is not a google.rpc.Status: %s", what, res.Status, res.Body)
	}
}
