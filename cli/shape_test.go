package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is how long a function of the package may be without a
// reason stated in its comment (a line starting "Long because").
const maxFuncLines = 60

// TestFunctionsAreShort: no production function of the package is over
// maxFuncLines lines unless its comment says why.
func TestFunctionsAreShort(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			lines := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
			if lines > maxFuncLines && !strings.Contains(fd.Doc.Text(), "Long because") {
				t.Errorf("%s: %s is %d lines (over %d) and its comment does not say why (\"Long because …\")", name, fd.Name.Name, lines, maxFuncLines)
			}
		}
	}
}
