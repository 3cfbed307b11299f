package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/guildhall/guildhall/app/apptest"
)

func TestRequestID(t *testing.T) {
	env := apptest.Start(t)
	valid := "trace-42.abc:DEF_9"
	for _, c := range []struct {
		name, sent string
		echoed     bool // the sent id comes back; otherwise a fresh UUID does
	}{
		{"valid", valid, true},
		{"max length", strings.Repeat("a", 128), true},
		{"absent", "", false},
		{"too long", strings.Repeat("a", 300), false},
		{"spaces", "has spaces in it", false},
		{"log injection", "abc\\nlevel=error", false},
		{"unicode", "idé", false},
	} {
		for _, path := range []string{"/v1/people", "/v1/people/nobody", "/healthz"} {
			t.Run(c.name+" "+path, func(t *testing.T) {
				var hdr []string
				if c.sent != "" {
					hdr = []string{"X-Request-Id", c.sent}
				}
				res := env.Do(t, http.MethodGet, path, "", hdr...)
				got := res.Header.Values("X-Request-Id")
				if len(got) != 1 {
					t.Fatalf("X-Request-Id headers %q, want exactly one", got)
				}
				if c.echoed {
					if got[0] != c.sent {
						t.Fatalf("X-Request-Id %q, want %q echoed", got[0], c.sent)
					}
					return
				}
				if _, err := uuid.Parse(got[0]); err != nil || got[0] == c.sent {
					t.Fatalf("X-Request-Id %q: want a freshly generated UUID", got[0])
				}
			})
		}
	}
	// Generated ids differ from request to request.
	a := env.Do(t, http.MethodGet, "/healthz", "").Header.Get("X-Request-Id")
	b := env.Do(t, http.MethodGet, "/healthz", "").Header.Get("X-Request-Id")
	if a == b {
		t.Fatalf("two requests got the same generated id %q", a)
	}
}

func TestCORS(t *testing.T) {
	env := apptest.Start(t)
	const allowed, evil = "https://allowed.example", "https://evil.example"
	for _, c := range []struct {
		name, method, origin, reqMethod, reqHeaders string
		allow                                       bool
	}{
		{"preflight PATCH with Authorization", http.MethodOptions, allowed, http.MethodPatch, "authorization, content-type, x-request-id", true},
		{"preflight DELETE", http.MethodOptions, allowed, http.MethodDelete, "", true},
		{"preflight from another origin", http.MethodOptions, evil, http.MethodPatch, "authorization", false},
		{"preflight for a header not allowed", http.MethodOptions, allowed, http.MethodGet, "x-evil", false},
		{"preflight for a method not allowed", http.MethodOptions, allowed, "TRACE", "", false},
		{"simple GET", http.MethodGet, allowed, "", "", true},
		{"simple GET from another origin", http.MethodGet, evil, "", "", false},
		{"origin differing in scheme", http.MethodGet, "http://allowed.example", "", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := []string{"Origin", c.origin}
			if c.reqMethod != "" {
				hdr = append(hdr, "Access-Control-Request-Method", c.reqMethod)
			}
			if c.reqHeaders != "" {
				hdr = append(hdr, "Access-Control-Request-Headers", c.reqHeaders)
			}
			res := env.Do(t, c.method, "/v1/people/someone", "", hdr...)
			acao := res.Header.Get("Access-Control-Allow-Origin")
			if !c.allow {
				if acao != "" || res.Header.Get("Access-Control-Allow-Methods") != "" {
					t.Fatalf("origin %s got Access-Control-Allow-Origin %q, Allow-Methods %q; want none",
						c.origin, acao, res.Header.Get("Access-Control-Allow-Methods"))
				}
				return
			}
			if acao != c.origin {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q", acao, c.origin)
			}
			if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary %q lacks Origin, so caches could serve one origin's answer to another", res.Header.Values("Vary"))
			}
			if res.Header.Get("Access-Control-Allow-Credentials") != "" {
				t.Errorf("Access-Control-Allow-Credentials set; bearer tokens need no cookies")
			}
			if c.method != http.MethodOptions {
				// An actual request reaches the API and exposes the request id.
				if res.Status != http.StatusNotFound || res.RPCStatus(t).Reason() != "NOT_FOUND" {
					t.Fatalf("GET: %d %s", res.Status, res.Body)
				}
				if !strings.Contains(strings.ToLower(res.Header.Get("Access-Control-Expose-Headers")), "x-request-id") {
					t.Errorf("Access-Control-Expose-Headers %q lacks X-Request-Id", res.Header.Get("Access-Control-Expose-Headers"))
				}
				return
			}
			// A preflight is answered by the gateway and never reaches a service.
			if res.Status != http.StatusNoContent && res.Status != http.StatusOK {
				t.Fatalf("preflight: %d %s", res.Status, res.Body)
			}
			if m := res.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(strings.ToUpper(m), c.reqMethod) {
				t.Errorf("Access-Control-Allow-Methods %q lacks %s", m, c.reqMethod)
			}
			got := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
			for _, h := range strings.Split(c.reqHeaders, ",") {
				if h = strings.TrimSpace(h); h != "" && !strings.Contains(got, h) {
					t.Errorf("Access-Control-Allow-Headers %q lacks %s", got, h)
				}
			}
			if res.Header.Get("Access-Control-Max-Age") == "" {
				t.Errorf("no Access-Control-Max-Age: browsers would preflight every call")
			}
		})
	}
}

func TestHealth(t *testing.T) {
	env := apptest.Start(t)

	res := env.Do(t, http.MethodGet, "/healthz", "")
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("/healthz: %d %q %s", res.Status, res.Header.Get("Content-Type"), res.Body)
	}
	if got := res.JSON(t)["status"]; got != "SERVING" {
		t.Fatalf("/healthz status %v, want SERVING", got)
	}

	res = env.Do(t, http.MethodGet, "/readyz", "")
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("/readyz: %d %q %s", res.Status, res.Header.Get("Content-Type"), res.Body)
	}
	var ready struct {
		Ready    bool              `json:"ready"`
		Services map[string]string `json:"services"`
	}
	if err := json.Unmarshal(res.Body, &ready); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"membership": "SERVING", "roadmap": "SERVING", "finance": "SERVING", "events": "SERVING"}
	if !ready.Ready || fmt.Sprint(ready.Services) != fmt.Sprint(want) {
		t.Fatalf("/readyz = %s, want ready with %v", res.Body, want)
	}
}

// route is an HTTP method and a path whose parameters are all written "{}".
type route struct{ method, path string }

func (r route) String() string { return strings.ToUpper(r.method) + " " + r.path }

var openAPIParam = regexp.MustCompile(`\{[^}]*\}`)

// protoRoutes reads every google.api.http rule of every Guildhall service
// linked into the binary, so a new RPC is checked without touching this test.
func protoRoutes(t *testing.T) (routes []route, services []string) {
	t.Helper()
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "guildhall.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			services = append(services, string(sd.FullName()))
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
				if rule == nil {
					continue
				}
				for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
					method, tmpl := ruleRoute(r)
					if method == "" {
						t.Errorf("%s: HTTP rule without a pattern", md.FullName())
						continue
					}
					path, err := openAPIPath(tmpl)
					if err != nil {
						t.Errorf("%s: %v", md.FullName(), err)
						continue
					}
					routes = append(routes, route{method, path})
				}
			}
		}
		return true
	})
	return routes, services
}

func ruleRoute(r *annotations.HttpRule) (method, template string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "get", p.Get
	case *annotations.HttpRule_Post:
		return "post", p.Post
	case *annotations.HttpRule_Put:
		return "put", p.Put
	case *annotations.HttpRule_Patch:
		return "patch", p.Patch
	case *annotations.HttpRule_Delete:
		return "delete", p.Delete
	case *annotations.HttpRule_Custom:
		return strings.ToLower(p.Custom.GetKind()), p.Custom.GetPath()
	}
	return "", ""
}

// openAPIPath turns a google.api.http path template into the path
// protoc-gen-openapiv2 writes, with every parameter written "{}":
// "/v1/{name=people/*}" → "/v1/people/{}", "/v1/{parent}/items" → "/v1/{}/items",
// "/v1/{name=expenses/*}:approve" → "/v1/expenses/{}:approve".
func openAPIPath(tmpl string) (string, error) {
	var out strings.Builder
	for i := 0; i < len(tmpl); {
		c := tmpl[i]
		if c == '}' {
			return "", fmt.Errorf("template %q: unbalanced }", tmpl)
		}
		if c != '{' {
			if c == '*' {
				out.WriteString("{}") // an unnamed wildcard is a parameter too
			} else {
				out.WriteByte(c)
			}
			i++
			continue
		}
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("template %q: unbalanced {", tmpl)
		}
		_, segments, hasPattern := strings.Cut(tmpl[i+1:i+end], "=")
		if !hasPattern {
			segments = "*"
		}
		for k, seg := range strings.Split(segments, "/") {
			if k > 0 {
				out.WriteByte('/')
			}
			if seg == "*" || seg == "**" {
				out.WriteString("{}")
			} else {
				out.WriteString(seg)
			}
		}
		i += end + 1
	}
	return out.String(), nil
}

func TestOpenAPIPathConversion(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/people":                               "/v1/people",
		"/v1/{name=people/*}":                      "/v1/people/{}",
		"/v1/{release.name=releases/*}":            "/v1/releases/{}",
		"/v1/{parent=teams/*}/members":             "/v1/teams/{}/members",
		"/v1/{name=teams/*/members/*}":             "/v1/teams/{}/members/{}",
		"/v1/{name=expenses/*}:approve":            "/v1/expenses/{}:approve",
		"/v1/{parent}/things":                      "/v1/{}/things",
		"/v1/{name=items/*/updates/*}:markCurrent": "/v1/items/{}/updates/{}:markCurrent",
	} {
		if got, err := openAPIPath(in); err != nil || got != want {
			t.Errorf("openAPIPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := openAPIPath("/v1/{name=people/*"); err == nil {
		t.Error("unbalanced template accepted")
	}
}

func TestOpenAPI(t *testing.T) {
	env := apptest.Start(t)
	res := env.Do(t, http.MethodGet, "/openapi.json", "")
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("/openapi.json: %d %q", res.Status, res.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Info    struct{ Title, Version string }      `json:"info"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(res.Body, &doc); err != nil {
		t.Fatalf("/openapi.json is not valid JSON of the OpenAPI shape: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") || doc.Info.Title == "" || len(doc.Paths) == 0 {
		t.Fatalf("/openapi.json: openapi %q, title %q, %d paths; want an OpenAPI 3.0 document", doc.OpenAPI, doc.Info.Title, len(doc.Paths))
	}

	documented := map[route]map[string]any{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" {
				continue
			}
			documented[route{method, openAPIParam.ReplaceAllString(path, "{}")}] = op
		}
	}

	declared, services := protoRoutes(t)
	for _, want := range []string{
		"guildhall.membership.v1.MembershipService", "guildhall.roadmap.v1.RoadmapService", "guildhall.finance.v1.FinanceService",
	} {
		if !slices.Contains(services, want) {
			t.Errorf("service %s not found in the proto registry (found %v)", want, services)
		}
	}
	if len(declared) < 15 {
		t.Fatalf("found only %d HTTP rules in the protos: %v", len(declared), declared)
	}
	t.Logf("%d HTTP rules in the protos, %d operations documented", len(declared), len(documented))
	seen := map[route]bool{}
	for _, r := range declared {
		seen[r] = true
		op, ok := documented[r]
		if !ok {
			t.Errorf("%s is declared in the protos but missing from /openapi.json", r)
			continue
		}
		if op["operationId"] == "" || (op["summary"] == nil && op["description"] == nil) {
			t.Errorf("%s is documented without an operationId and a summary: %v", r, op)
		}
	}
	for r := range documented {
		if !seen[r] {
			t.Errorf("%s is in /openapi.json but no proto declares it (stale document?)", r)
		}
	}
}

func TestDocs(t *testing.T) {
	env := apptest.Start(t)
	res := env.Do(t, http.MethodGet, "/docs/", "")
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("/docs/: %d %q", res.Status, res.Header.Get("Content-Type"))
	}
	page := string(res.Body)
	for _, want := range []string{"swagger-ui-bundle.js", "swagger-ui.css", "/openapi.json"} {
		if !strings.Contains(page, want) {
			t.Errorf("/docs/ does not reference %s:\n%s", want, page)
		}
	}
	// The bundle the page loads is served beside it.
	if res := env.Do(t, http.MethodGet, "/docs/swagger-ui-bundle.js", ""); res.Status != http.StatusOK || len(res.Body) < 100_000 {
		t.Errorf("/docs/swagger-ui-bundle.js: %d, %d bytes", res.Status, len(res.Body))
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(env.BaseURL + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/docs/" {
		t.Fatalf("/docs: %d Location %q, want 301 to /docs/", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestRoutingErrorsAreJSONStatus(t *testing.T) {
	env := apptest.Start(t)
	for _, c := range []struct {
		name, method, path string
		status, code       int
	}{
		{"unknown API route", http.MethodGet, "/v1/nothing-here", http.StatusNotFound, 5},
		{"unknown top-level route", http.MethodGet, "/nothing-here", http.StatusNotFound, 5},
		{"unknown version", http.MethodGet, "/v2/people", http.StatusNotFound, 5},
		{"wrong method on a resource", http.MethodPut, "/v1/people/someone", http.StatusMethodNotAllowed, 12},
		{"wrong method on a collection", http.MethodDelete, "/v1/releases", http.StatusMethodNotAllowed, 12},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := ""
			if c.method == http.MethodPut {
				body = `{"displayName":"x"}`
			}
			res := env.Do(t, c.method, c.path, body)
			if res.Status != c.status {
				t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, res.Status, res.Body, c.status)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if st := res.RPCStatus(t); st.Code != c.code || !strings.Contains(st.Message, c.path) {
				t.Errorf("google.rpc.Status code %d message %q, want code %d naming %s", st.Code, st.Message, c.code, c.path)
			}
			if res.Header.Get("X-Request-Id") == "" {
				t.Error("error response without X-Request-Id")
			}
		})
	}
}

// With no origins configured (the documented default), no origin is allowed:
// rs/cors on its own would treat an empty list as "every origin".
func TestCORSDefaultAllowsNoOrigin(t *testing.T) {
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) { c.CORSOrigins = nil })
	for _, c := range []struct{ method, reqMethod string }{
		{http.MethodOptions, http.MethodPatch},
		{http.MethodGet, ""},
	} {
		hdr := []string{"Origin", "https://evil.example"}
		if c.reqMethod != "" {
			hdr = append(hdr, "Access-Control-Request-Method", c.reqMethod)
		}
		res := env.Do(t, c.method, "/v1/people", "", hdr...)
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("%s with no CORS origins configured: Access-Control-Allow-Origin %q, want none", c.method, got)
		}
	}
}
