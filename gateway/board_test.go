package gateway_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/web/board"
)

// TestBoardServed: the gateway serves the embedded board at /board/, with /
// leading to it; the page is revalidated, its hashed assets are immutable,
// every answer carries the board's CSP, and the page has nothing inline that
// the CSP would block.
func TestBoardServed(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, env.BaseURL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	for path, want := range map[string]int{"/": http.StatusFound, "/board": http.StatusMovedPermanently} {
		res, _ := get(path)
		if res.StatusCode != want || res.Header.Get("Location") != "/board/" {
			t.Errorf("GET %s: %d Location %q, want %d to /board/", path, res.StatusCode, res.Header.Get("Location"), want)
		}
	}

	res, page := get("/board/")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /board/: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if got := res.Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("page Cache-Control %q, want no-cache", got)
	}
	csp := res.Header.Get("Content-Security-Policy")
	if csp != board.CSP || strings.Contains(csp, "unsafe") {
		t.Errorf("page CSP %q", csp)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("page lacks nosniff")
	}
	for _, inline := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), // a script with a body
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\son[a-z]+=`),
	} {
		if m := inline.FindString(page); m != "" {
			t.Errorf("the page has inline code the CSP blocks: %q", m)
		}
	}
	if !strings.Contains(page, `data-slot="sign-in"`) {
		t.Errorf("the page lacks the sign-in slot")
	}

	assets := regexp.MustCompile(`(?:src|href)="(/board/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(assets) < 2 {
		t.Fatalf("the page links %d assets, want a script and a stylesheet:\n%s", len(assets), page)
	}
	types := map[string]string{".js": "text/javascript", ".css": "text/css"}
	for _, a := range assets {
		res, body := get(a[1])
		ext := a[1][strings.LastIndex(a[1], "."):]
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), types[ext]) || body == "" {
			t.Errorf("GET %s: %d %s (%d bytes)", a[1], res.StatusCode, res.Header.Get("Content-Type"), len(body))
			continue
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s Cache-Control %q, want immutable", a[1], got)
		}
		etag := res.Header.Get("ETag")
		if again, _ := get(a[1], "If-None-Match", etag); etag == "" || again.StatusCode != http.StatusNotModified {
			t.Errorf("%s with If-None-Match %q: %d, want 304", a[1], etag, again.StatusCode)
		}
	}

	for path, want := range map[string]int{"/board/assets/nope.js": http.StatusNotFound, "/board/index.html": http.StatusNotFound} {
		if res, _ := get(path); res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, res.StatusCode, want)
		}
	}
	if r := env.Do(t, http.MethodPost, "/board/", "{}"); r.Status != http.StatusMethodNotAllowed {
		t.Errorf("POST /board/: %d, want 405", r.Status)
	}
	// The API is untouched: an unknown API path is still the JSON 404.
	if r := env.Do(t, http.MethodGet, "/v1/nope", ""); r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), `"code"`) {
		t.Errorf("GET /v1/nope: %d %s", r.Status, r.Body)
	}
}
