// Package templates renders Guildhall's mail from template files a
// community can edit: for each kind of mail, <kind>.txt (required; Go
// text/template) and <kind>.html (optional; Go html/template, which escapes
// what it inserts). Each file defines its subject in a "subject" block:
//
//	{{define "subject"}}Are you still with {{.Site.Name}}?{{end}}
//	Hello {{.Recipient}}, …
//
// The defaults are built in (files/). GUILDHALL_MAIL_TEMPLATES names a
// directory whose files replace the built-in ones of the same name, so a
// community rewrites a mail by copying one file and editing it; a file that
// does not parse, or defines no subject, stops start-up. Every file may use
// the blocks of files/_footer.txt and files/_footer.html (also replaceable).
// The data each kind receives is Data; its Fields are listed in the kind's
// default file.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path"
	"strings"
	texttemplate "text/template"
)

//go:embed files/*.txt files/*.html
var builtin embed.FS

// Site is what mail says about the installation.
type Site struct {
	// Name is how the community is called in mail ("Guildhall").
	Name string
	// URL is GUILDHALL_PUBLIC_URL.
	URL string
}

// Data is what every template receives.
type Data struct {
	Site Site
	// Recipient is the name the mail greets.
	Recipient string
	// Unsubscribe is the one-click opt-out link of this kind of mail.
	Unsubscribe string
	// Fields are the kind's own values (a team's name, a stage, a link).
	Fields map[string]string
}

// Rendered is a mail's subject and bodies.
type Rendered struct {
	Subject, Text, HTML string
}

// Set is the parsed templates, one entry per kind.
type Set struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// Load parses the built-in templates with the files of dir ("" for none)
// in their place.
func Load(dir string) (*Set, error) {
	files := map[string][]byte{}
	if err := readAll(builtin, "files", files); err != nil {
		return nil, err
	}
	if dir != "" {
		if err := readAll(os.DirFS(dir), ".", files); err != nil {
			return nil, fmt.Errorf("GUILDHALL_MAIL_TEMPLATES: %w", err)
		}
	}
	s := &Set{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	var errs []error
	for name := range files {
		if strings.HasPrefix(name, "_") {
			continue
		}
		kind, ext := strings.TrimSuffix(name, path.Ext(name)), path.Ext(name)
		switch ext {
		case ".txt":
			t, err := texttemplate.New(name).Option("missingkey=error").Parse(string(files[name]))
			if err == nil {
				_, err = t.New("_footer.txt").Parse(string(files["_footer.txt"]))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("mail template %s: %w", name, err))
				continue
			}
			if t.Lookup("subject") == nil {
				errs = append(errs, fmt.Errorf("mail template %s defines no subject", name))
			}
			s.text[kind] = t
		case ".html":
			t, err := htmltemplate.New(name).Option("missingkey=error").Parse(string(files[name]))
			if err == nil {
				_, err = t.New("_footer.html").Parse(string(files["_footer.html"]))
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("mail template %s: %w", name, err))
				continue
			}
			s.html[kind] = t
		default:
			errs = append(errs, fmt.Errorf("mail template %s: only .txt and .html files belong here", name))
		}
	}
	for kind := range s.html {
		if s.text[kind] == nil {
			errs = append(errs, fmt.Errorf("mail template %s.html has no %s.txt: plain text is required", kind, kind))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func readAll(fsys fs.FS, dir string, into map[string][]byte) error {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		into[e.Name()] = b
	}
	return nil
}

// Kinds lists the kinds that have templates.
func (s *Set) Kinds() []string {
	out := make([]string, 0, len(s.text))
	for k := range s.text {
		out = append(out, k)
	}
	return out
}

// Render fills the templates of kind with d. A kind without templates, or
// a template that uses a field d lacks, is an error.
func (s *Set) Render(kind string, d Data) (Rendered, error) {
	t := s.text[kind]
	if t == nil {
		return Rendered{}, fmt.Errorf("no mail template for %q", kind)
	}
	var out Rendered
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "subject", d); err != nil {
		return Rendered{}, fmt.Errorf("mail %s subject: %w", kind, err)
	}
	out.Subject = strings.Join(strings.Fields(b.String()), " ")
	b.Reset()
	if err := t.ExecuteTemplate(&b, kind+".txt", d); err != nil {
		return Rendered{}, fmt.Errorf("mail %s text: %w", kind, err)
	}
	out.Text = strings.TrimSpace(b.String()) + "\n"
	if h := s.html[kind]; h != nil {
		b.Reset()
		if err := h.ExecuteTemplate(&b, kind+".html", d); err != nil {
			return Rendered{}, fmt.Errorf("mail %s html: %w", kind, err)
		}
		out.HTML = b.String()
	}
	return out, nil
}
