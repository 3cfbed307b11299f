// Package board serves the reference board: the community's public page, a Vite + TypeScript
// app built on the typed client (clients/typescript) that reads only the public API, and lets a
// person who signs in by an email link vote and follow their offers of help. The built
// assets in dist/ are committed like generated code (`make board` rebuilds them from the
// lockfile; `make check-generated` fails on drift) and embedded here, so the binary serves the
// board with no Node at run time. It must not import the rest of Guildhall.
//
// Mount it at its base path, which the build bakes into its asset links:
//
//	mux.Handle("GET /board/", http.StripPrefix("/board", board.Handler()))
package board

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Path is where the board is served; the build's `base` (vite.config.ts) must match.
const Path = "/board/"

//go:embed dist
var dist embed.FS

// CSP allows what the board needs and nothing more: its own scripts, styles and images, and
// fetches to its own origin (the API). No inline script or style: Chart.js styles its canvas
// through the CSSOM, which style-src does not govern.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Cache lifetimes: assets/ names carry a content hash, so they never change under their name;
// the page itself (which names them) is revalidated every time.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheIndex     = "no-cache"
	cacheOther     = "public, max-age=3600"
)

type file struct {
	body        []byte
	contentType string
	cache       string
	etag        string
}

type handler struct{ files map[string]*file }

// Handler serves the board: "/" is the page, "/assets/…" its hashed scripts and styles, and
// the few unhashed files beside them (the icon). Anything else is 404; only GET and HEAD.
func Handler() http.Handler {
	h := &handler{files: map[string]*file{}}
	err := fs.WalkDir(dist, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := dist.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "dist/")
		cache := cacheOther
		switch {
		case name == "index.html":
			name, cache = "", cacheIndex
		case strings.HasPrefix(name, "assets/"):
			cache = cacheImmutable
		}
		sum := sha256.Sum256(body)
		h.files[name] = &file{body: body, contentType: contentType(p), cache: cache,
			etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil || h.files[""] == nil {
		panic("board: the embedded build is incomplete; run make board") // embedded at build time
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	f, ok := h.files[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", f.cache)
	hdr.Set("ETag", f.etag)
	hdr.Set("Content-Security-Policy", CSP)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// contentType is fixed per extension, not read from the host's MIME tables.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}
