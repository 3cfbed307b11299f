package templates_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/internal/mail/templates"
)

func data(fields map[string]string) templates.Data {
	return templates.Data{
		Site:      templates.Site{Name: "SME Server", URL: "https://guildhall.example.org"},
		Recipient: "Jane <Crisp>", Unsubscribe: "https://guildhall.example.org/v1/notifications:unsubscribe?token=t0k",
		Fields: fields,
	}
}

// Every built-in kind renders with the fields its file documents.
func TestBuiltinKindsRender(t *testing.T) {
	t.Parallel()
	set, err := templates.Load("")
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{
		"stage": "nudged", "holds": "lead of Docs", "team": "Docs", "subject": "Jane", "position": "Tester",
		"expense": "expenses/1", "description": "Hosting", "amount": "EUR 25.00", "item": "items/1",
		"title": "LDAP", "proposal": "proposals/1", "closes": "2026-12-01 12:00 UTC", "outcome": "Yes",
		"link": "https://guildhall.example.org/board/#signin=c0de", "code": "c0de", "minutes": "15",
	}
	// Mail sent only on request carries no opt-out.
	onRequest := map[string]bool{"signin-link": true}
	if len(set.Kinds()) != 10 {
		t.Errorf("kinds: %v", set.Kinds())
	}
	for _, kind := range set.Kinds() {
		r, err := set.Render(kind, data(all))
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		optOut := strings.Contains(r.Text, "one click: https://guildhall.example.org/v1/notifications:unsubscribe?token=t0k")
		if r.Subject == "" || strings.Contains(r.Subject, "\n") || !strings.Contains(r.Text, "Hello Jane <Crisp>,") || optOut == onRequest[kind] {
			t.Errorf("%s: subject %q text %q", kind, r.Subject, r.Text)
		}
		// Every kind has an HTML part too, escaped (html/template), with the
		// same opt-out as its text.
		htmlOptOut := strings.Contains(r.HTML, `href="https://guildhall.example.org/v1/notifications:unsubscribe?token=t0k"`)
		if r.HTML == "" || !strings.Contains(r.HTML, "Jane &lt;Crisp&gt;") || strings.Contains(r.HTML, "<Crisp>") || htmlOptOut == onRequest[kind] ||
			!strings.HasPrefix(r.HTML, "<!DOCTYPE html>") || !strings.Contains(r.HTML, "</html>") {
			t.Errorf("%s: html missing, not escaped or with the wrong opt-out: %s", kind, r.HTML)
		}
		// What a field carries is text, never markup.
		hostile := map[string]string{}
		for k, v := range all {
			hostile[k] = v
		}
		for _, k := range []string{"title", "description", "team", "subject", "position", "outcome", "holds"} {
			hostile[k] = `<script>alert("x")</script>`
		}
		if r, err := set.Render(kind, data(hostile)); err != nil || strings.Contains(r.HTML, "<script>") {
			t.Errorf("%s: a field's markup reached the html (%v): %s", kind, err, r.HTML)
		}
	}
	r, err := set.Render("drift-nudge", data(map[string]string{"stage": "inactive", "holds": "lead of Docs"}))
	if err != nil || r.Subject != "You are now marked inactive in SME Server" {
		t.Errorf("inactive nudge: %q, %v", r.Subject, err)
	}
	if _, err := set.Render("drift-nudge", data(map[string]string{"stage": "nudged"})); err == nil {
		t.Error("a missing field rendered")
	}
	if _, err := set.Render("no-such-kind", data(nil)); err == nil {
		t.Error("an unknown kind rendered")
	}
}

func TestOverrideDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("volunteer-received.txt", `{{define "subject"}}Merci, {{.Recipient}}{{end}}Bonjour !{{template "footer" .}}`)
	write("_footer.txt", `{{define "footer"}} -- {{.Unsubscribe}}{{end}}`)
	set, err := templates.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := set.Render("volunteer-received", data(nil))
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Merci, Jane <Crisp>" || r.Text != "Bonjour ! -- https://guildhall.example.org/v1/notifications:unsubscribe?token=t0k\n" {
		t.Errorf("override: %+v", r)
	}

	for name, body := range map[string]string{
		"item-stale.txt":   `{{define "subject"}}unclosed`,
		"proposal-new.txt": `no subject here`,
		"orphan.html":      `<p>no text twin</p>`,
		"drift-nudge.md":   `# not a template kind`,
	} {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := templates.Load(bad); err == nil {
			t.Errorf("%s loaded", name)
		}
	}
	if _, err := templates.Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing directory loaded")
	}
}
