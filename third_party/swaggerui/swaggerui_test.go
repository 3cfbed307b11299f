package swaggerui

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// newServer mounts the handler the way the gateway does: under /docs/ with StripPrefix.
func newServer(t *testing.T, specURL string) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/docs/", http.StripPrefix("/docs", Handler(specURL)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, c *http.Client, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestServesPageAndAssets(t *testing.T) {
	srv := newServer(t, "/openapi.json")
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/docs/", "text/html; charset=utf-8", `<div id="swagger-ui">`},
		{"/docs/init.js", "text/javascript; charset=utf-8", "SwaggerUIBundle("},
		{"/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8", "SwaggerUIBundle"},
		{"/docs/swagger-ui.css", "text/css; charset=utf-8", ".swagger-ui"},
		{"/docs/favicon-32x32.png", "image/png", "\x89PNG"},
		{"/docs/LICENSE", "text/plain; charset=utf-8", "Apache License"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			resp, body := get(t, srv.Client(), srv.URL+tc.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options %q, want nosniff", got)
			}
			if body == "" || !strings.Contains(body, tc.contains) {
				t.Errorf("body (%d bytes) lacks %q", len(body), tc.contains)
			}
		})
	}
}

func TestIndexLoadsOnlyLocalAssets(t *testing.T) {
	srv := newServer(t, "/openapi.json")
	resp, body := get(t, srv.Client(), srv.URL+"/docs/")
	if m := regexp.MustCompile(`(?i)https?://`).FindString(body); m != "" {
		t.Errorf("index.html references a remote URL (%q):\n%s", m, body)
	}
	for _, want := range []string{
		`<meta name="openapi-url" content="/openapi.json">`,
		`<script src="swagger-ui-bundle.js">`,
		`<script src="init.js">`,
		`<link rel="stylesheet" href="swagger-ui.css">`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("index.html lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(regexp.MustCompile(`<script src="[^"]*"></script>`).ReplaceAllString(body, ""), "<script") {
		t.Errorf("index.html has an inline script, which the CSP forbids:\n%s", body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
		t.Errorf("Content-Security-Policy %q allows inline or eval'd scripts", csp)
	}

	_, js := get(t, srv.Client(), srv.URL+"/docs/init.js")
	for _, want := range []string{"validatorUrl: null", `dom_id: "#swagger-ui"`, "deepLinking: true"} {
		if !strings.Contains(js, want) {
			t.Errorf("init.js lacks %s", want)
		}
	}
}

func TestSpecURLIsEscapedAndAllowedByCSP(t *testing.T) {
	srv := newServer(t, `https://api.example.org/openapi.json?a=1&b="x"`)
	resp, body := get(t, srv.Client(), srv.URL+"/docs/")
	if strings.Contains(body, `"x"`) {
		t.Errorf("spec URL not escaped in index.html:\n%s", body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://api.example.org;") {
		t.Errorf("Content-Security-Policy %q does not allow fetching the spec's origin", csp)
	}
}

func TestBarePrefixRedirects(t *testing.T) {
	srv := httptest.NewServer(http.StripPrefix("/docs", Handler("/openapi.json")))
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, _ := get(t, c, srv.URL+"/docs?x=1")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/docs/?x=1" {
		t.Errorf("GET /docs: %d Location %q, want 301 to /docs/?x=1", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	srv := newServer(t, "/openapi.json")
	if resp, _ := get(t, srv.Client(), srv.URL+"/docs/nope.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /docs/nope.js: %d, want 404", resp.StatusCode)
	}
	resp, err := srv.Client().Post(srv.URL+"/docs/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /docs/: %d, want 405", resp.StatusCode)
	}
}

func TestGzipAndConditionalRequests(t *testing.T) {
	srv := newServer(t, "/openapi.json")
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	plain, plainBody := get(t, c, srv.URL+"/docs/swagger-ui-bundle.js")

	resp, gzBody := get(t, c, srv.URL+"/docs/swagger-ui-bundle.js", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(gzBody))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || string(unzipped) != plainBody {
		t.Errorf("gzipped body does not decompress to the plain one (err %v)", err)
	}
	if resp.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Errorf("gzip and identity responses share the ETag %s", plain.Header.Get("ETag"))
	}

	resp, _ = get(t, c, srv.URL+"/docs/swagger-ui-bundle.js", "If-None-Match", plain.Header.Get("ETag"))
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET: %d, want 304", resp.StatusCode)
	}
}

func TestVersion(t *testing.T) {
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(Version) {
		t.Errorf("Version %q is not a semantic version", Version)
	}
}
