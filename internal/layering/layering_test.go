// Package layering holds the rule that keeps the platform below the
// services: nothing under internal/ imports a service or the gateway, so
// a shared helper (lifecycle, pagination, events …) never learns of one
// service's types and every service can use it.
package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/guildhall/guildhall/"

func TestInternalImportsNoServiceOrGateway(t *testing.T) {
	files := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, banned := range []string{"services", "gateway"} {
				if p == module+banned || strings.HasPrefix(p, module+banned+"/") {
					t.Errorf("internal/%s imports %s", filepath.ToSlash(strings.TrimPrefix(path, "../")), p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read %d files under internal/, expected the whole platform", files)
	}
}
