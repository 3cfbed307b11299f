// Package swaggerui serves Swagger UI for an OpenAPI document with every asset embedded in the
// binary: the page loads nothing from anywhere but its own origin.
//
// The assets come from the npm package swagger-ui-dist (Apache-2.0; see dist/LICENSE and
// dist/NOTICE), vendored at the version in dist/VERSION by refresh.sh. index.html and init.js
// are this package's own.
//
// Handler serves the page at "/" and its assets beside it, so mount it under a prefix with
// http.StripPrefix:
//
//	mux.Handle("/docs/", http.StripPrefix("/docs", swaggerui.Handler("/openapi.json")))
//
// A request for the bare prefix ("/docs", which StripPrefix turns into "") is redirected to
// "/docs/" so that the page's relative asset links resolve under the prefix.
package swaggerui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed dist/swagger-ui-bundle.js dist/swagger-ui-bundle.js.LICENSE.txt dist/swagger-ui.css
//go:embed dist/favicon-32x32.png dist/LICENSE dist/NOTICE dist/VERSION
var dist embed.FS

//go:embed index.html
var indexHTML string

//go:embed init.js
var initJS []byte

// Version is the swagger-ui-dist version whose assets are embedded.
var Version = strings.TrimSpace(string(mustRead("VERSION")))

// file is one response body the handler serves.
type file struct {
	contentType string
	body        []byte
	etag        string
	cache       string // Cache-Control

	gzipOnce sync.Once
	gzipped  []byte // lazily compressed body; nil when not worth it
}

type handler struct {
	files map[string]*file // by name; "" is the index page
	csp   string
}

// Handler returns an http.Handler serving Swagger UI for the OpenAPI document at specURL
// (for example "/openapi.json"; an absolute http(s) URL on another origin also works).
// It answers GET and HEAD for "/" (the page), "/init.js", "/swagger-ui-bundle.js",
// "/swagger-ui.css", "/favicon-32x32.png" and the license files, and 404 for anything else.
func Handler(specURL string) http.Handler {
	var index bytes.Buffer
	tmpl := template.Must(template.New("index.html").Parse(indexHTML))
	if err := tmpl.Execute(&index, struct{ SpecURL string }{specURL}); err != nil {
		panic("swaggerui: index.html: " + err.Error()) // the template is embedded: cannot happen
	}

	const assetCache = "public, max-age=86400"
	h := &handler{
		files: map[string]*file{
			"":                                 newFile("text/html; charset=utf-8", index.Bytes(), "no-cache"),
			"init.js":                          newFile("text/javascript; charset=utf-8", initJS, "no-cache"),
			"swagger-ui-bundle.js":             newFile("text/javascript; charset=utf-8", mustRead("swagger-ui-bundle.js"), assetCache),
			"swagger-ui.css":                   newFile("text/css; charset=utf-8", mustRead("swagger-ui.css"), assetCache),
			"favicon-32x32.png":                newFile("image/png", mustRead("favicon-32x32.png"), assetCache),
			"swagger-ui-bundle.js.LICENSE.txt": newFile("text/plain; charset=utf-8", mustRead("swagger-ui-bundle.js.LICENSE.txt"), assetCache),
			"LICENSE":                          newFile("text/plain; charset=utf-8", mustRead("LICENSE"), assetCache),
			"NOTICE":                           newFile("text/plain; charset=utf-8", mustRead("NOTICE"), assetCache),
		},
		csp: contentSecurityPolicy(specURL),
	}
	return h
}

// contentSecurityPolicy allows what Swagger UI needs and nothing more: scripts and styles from
// this origin (Swagger UI sets inline styles, hence 'unsafe-inline' for styles only), data:
// images used by its CSS, and fetches to this origin, plus the spec's origin when it has one.
func contentSecurityPolicy(specURL string) string {
	connect := "'self'"
	if u, err := url.Parse(specURL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		connect += " " + u.Scheme + "://" + u.Host
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data:",
		"font-src 'self' data:",
		"connect-src " + connect,
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "" {
		h.redirectToSlash(w, r)
		return
	}
	name := p[strings.LastIndexByte(p, '/')+1:]
	f, ok := h.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}

	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", f.cache)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", h.csp)
	hdr.Set("Referrer-Policy", "no-referrer")

	body, etag := f.body, f.etag
	if gz := f.gzip(); gz != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			hdr.Set("Content-Encoding", "gzip")
			body, etag = gz, strings.TrimSuffix(etag, `"`)+`-gzip"`
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// redirectToSlash answers a request for the bare mount point (http.StripPrefix("/docs", …)
// turns "/docs" into "") with a redirect to the same path plus "/".
func (h *handler) redirectToSlash(w http.ResponseWriter, r *http.Request) {
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		http.NotFound(w, r)
		return
	}
	target := u.EscapedPath() + "/"
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	http.Redirect(w, r, target, http.StatusMovedPermanently)
}

func newFile(contentType string, body []byte, cache string) *file {
	sum := sha256.Sum256(body)
	return &file{
		contentType: contentType,
		body:        body,
		etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
		cache:       cache,
	}
}

// gzip returns the compressed body of a large text file, compressing it on first use.
func (f *file) gzip() []byte {
	f.gzipOnce.Do(func() {
		if len(f.body) < 4096 || !strings.HasPrefix(f.contentType, "text/") {
			return
		}
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(f.body)
		if zw.Close() == nil {
			f.gzipped = b.Bytes()
		}
	})
	return f.gzipped
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip (ignoring q-values
// other than an explicit q=0).
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if strings.EqualFold(strings.TrimSpace(coding), "gzip") || strings.TrimSpace(coding) == "*" {
				q := strings.ReplaceAll(params, " ", "")
				return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
			}
		}
	}
	return false
}

func mustRead(name string) []byte {
	b, err := dist.ReadFile(path.Join("dist", name))
	if err != nil {
		panic("swaggerui: " + err.Error()) // embedded at build time: cannot happen
	}
	return b
}
