package shape

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is how long a production function may be, from its func line
// to its closing brace, without a reason stated in its comment: a line
// starting "Long because".
const maxFuncLines = 60

// TestFunctionsAreShort: no production function of the module is over
// maxFuncLines lines unless its comment says why.
func TestFunctionsAreShort(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "e2e" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		for _, msg := range longFunctions(t, path) {
			t.Error(msg)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func longFunctions(t *testing.T, path string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	name, _ := filepath.Rel(filepath.Join("..", ".."), path)
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		lines := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
		if lines > maxFuncLines && !saysWhy(fd.Doc) {
			out = append(out, fmt.Sprintf("%s: %s is %d lines (over %d) and its comment does not say why (a line starting \"Long because\")", name, fd.Name.Name, lines, maxFuncLines))
		}
	}
	return out
}

func saysWhy(doc *ast.CommentGroup) bool {
	for _, line := range strings.Split(doc.Text(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "Long because") {
			return true
		}
	}
	return false
}
