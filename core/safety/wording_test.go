package safety_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/internal/testenv"
)

// forbidden are what must never reach a person in a finding's title,
// message, remedy or source: command-line flags, this repository's files and
// source lines, and a Go value dump ({...}) from an error.
var forbidden = []string{"--", ".md", ".ml:", ".go:", "{", "facts §", "core/"}

// userFields are the Finding (and matrix Reason) fields people read in the
// wizard and every report. CLIRemedy and Details are for the command line
// and the debug log.
var userFields = map[string]bool{"Title": true, "Message": true, "Remedy": true, "Source": true}

// helpers are functions whose arguments become a finding's user fields:
// name -> indexes of those arguments.
var helpers = map[string][]int{
	"add":          {2, 3, 4},    // guest: w.add(sev, code, msg, remedy, source)
	"addErr":       {2, 3, 4, 5}, // guest: w.addErr(sev, code, title, msg, remedy, source, err)
	"warn":         {1},          // inject: warn(code, msg)
	"refuseWrites": {0},          // hive: refuseWrites(reason, details, code)
}

type site struct {
	pos  token.Position
	code string
	text []string // literal pieces, constants resolved
	errs []string // error values interpolated
}

// TestFindingWording reads every non-test Go file of the core and lists every
// Finding it can emit (composite literals and the helpers that build them),
// with the constant text of each user field; and every message, remedy and
// source of the shipped driver-set matrices. Nothing a person reads may hold
// a flag, a repository file, a source line, or an error's raw text (which
// goes to Details).
func TestFindingWording(t *testing.T) {
	root := filepath.Join(testenv.RepoRoot(), "core")
	var sites []site
	codes := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || strings.Contains(path, "testdata") {
			return err
		}
		fset := token.NewFileSet()
		names, err := filepath.Glob(filepath.Join(path, "*.go"))
		if err != nil {
			return err
		}
		var files []*ast.File // one package per folder, tests left out
		for _, n := range names {
			if strings.HasSuffix(n, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, n, nil, 0)
			if err != nil {
				return err
			}
			files = append(files, f)
		}
		consts := stringConsts(files)
		for _, f := range files {
			sites = append(sites, scan(fset, f, consts)...)
			strayRefs(t, fset, f)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sites {
		if strings.Contains(s.code, ".") {
			codes[s.code] = true
		}
		for _, e := range s.errs {
			t.Errorf("%s (%s): an error (%s) is written into text people read; put it in Details", rel(s.pos), s.code, e)
		}
		for _, txt := range s.text {
			for _, bad := range forbidden {
				if strings.Contains(txt, bad) {
					t.Errorf("%s (%s): %q contains %q", rel(s.pos), s.code, txt, bad)
				}
			}
		}
	}
	list := make([]string, 0, len(codes))
	for c := range codes {
		list = append(list, c)
	}
	sort.Strings(list)
	t.Logf("%d finding sites, %d codes: %s", len(sites), len(list), strings.Join(list, " "))
	if len(list) < 40 {
		t.Errorf("found only %d finding codes: the scan is missing sites", len(list))
	}

	matrices, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "assets", "matrix", "*.json"))
	if len(matrices) == 0 {
		t.Fatal("no driver-set matrices found")
	}
	for _, m := range matrices {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		walkJSON(v, "", func(key, s string) {
			if key != "message" && key != "remedy" && key != "source" {
				return
			}
			for _, bad := range forbidden {
				if strings.Contains(s, bad) {
					t.Errorf("%s %s %q contains %q", filepath.Base(m), key, s, bad)
				}
			}
		})
	}
}

// strayRefs: no string of the core (plan reasons, report lines, the
// first-boot log included) cites this repository's notes or a source line of
// another project; people read those strings in the plan and the reports.
func strayRefs(t *testing.T, fset *token.FileSet, f *ast.File) {
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		v, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		for _, bad := range []string{".ml:", ".cpp:", "facts §", "injection-facts"} {
			if strings.Contains(v, bad) {
				t.Errorf("%s: %q cites %q", rel(fset.Position(lit.Pos())), v, bad)
			}
		}
		return true
	})
}

func rel(p token.Position) string {
	r, err := filepath.Rel(testenv.RepoRoot(), p.Filename)
	if err != nil {
		r = p.Filename
	}
	return r + ":" + strconv.Itoa(p.Line)
}

func walkJSON(v any, key string, fn func(key, s string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walkJSON(e, k, fn)
		}
	case []any:
		for _, e := range x {
			walkJSON(e, key, fn)
		}
	case string:
		fn(key, x)
	}
}

// stringConsts are the package's constant strings (literals and sums of them).
func stringConsts(files []*ast.File) map[string]string {
	out := map[string]string{}
	for range 3 { // constants made of other constants
		for _, f := range files {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, sp := range g.Specs {
					vs := sp.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if s, ok := constString(vs.Values[i], out); ok {
								out[n.Name] = s
							}
						}
					}
				}
			}
		}
	}
	return out
}

func constString(e ast.Expr, consts map[string]string) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind == token.STRING {
			s, err := strconv.Unquote(x.Value)
			return s, err == nil
		}
	case *ast.Ident:
		s, ok := consts[x.Name]
		return s, ok
	case *ast.BinaryExpr:
		a, ok1 := constString(x.X, consts)
		b, ok2 := constString(x.Y, consts)
		return a + b, ok1 && ok2
	case *ast.ParenExpr:
		return constString(x.X, consts)
	}
	return "", false
}

// texts collects the constant pieces of an expression and the error values
// it formats.
func texts(e ast.Expr, consts map[string]string, s *site) {
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.BasicLit:
			if x.Kind == token.STRING {
				if v, err := strconv.Unquote(x.Value); err == nil {
					s.text = append(s.text, v)
				}
			}
		case *ast.Ident:
			if v, ok := consts[x.Name]; ok {
				s.text = append(s.text, v)
			}
			if x.Name == "err" || strings.HasSuffix(x.Name, "Err") {
				s.errs = append(s.errs, x.Name)
			}
		case *ast.CallExpr:
			if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Error" && len(x.Args) == 0 {
				s.errs = append(s.errs, "Error()")
				return false
			}
		}
		return true
	})
}

func scan(fset *token.FileSet, f *ast.File, consts map[string]string) []site {
	var out []site
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CompositeLit:
			if at, ok := x.Type.(*ast.ArrayType); ok && isFindingType(at.Elt) {
				for _, el := range x.Elts { // []Finding{{...}}: the elements' type is elided
					if cl, ok := el.(*ast.CompositeLit); ok && cl.Type == nil {
						cl.Type = at.Elt
					}
				}
			}
			if !isFindingType(x.Type) {
				return true
			}
			s := site{pos: fset.Position(x.Pos())}
			for _, el := range x.Elts {
				kv, ok := el.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				key, _ := kv.Key.(*ast.Ident)
				if key == nil {
					continue
				}
				if key.Name == "Code" {
					s.code, _ = constString(kv.Value, consts)
				}
				if userFields[key.Name] {
					texts(kv.Value, consts, &s)
				}
			}
			out = append(out, s)
		case *ast.AssignStmt:
			// f.Message += "...": a user field changed after the literal.
			for i, lhs := range x.Lhs {
				sel, ok := lhs.(*ast.SelectorExpr)
				if !ok || !userFields[sel.Sel.Name] || i >= len(x.Rhs) {
					continue
				}
				if id, ok := sel.X.(*ast.Ident); !ok || (id.Name != "f" && id.Name != "hib") {
					continue // only finding variables, not other structs' fields
				}
				s := site{pos: fset.Position(x.Pos())}
				texts(x.Rhs[i], consts, &s)
				out = append(out, s)
			}
		case *ast.CallExpr:
			name := ""
			switch fn := x.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			}
			idx, ok := helpers[name]
			if !ok {
				return true
			}
			s := site{pos: fset.Position(x.Pos())}
			if name == "add" && len(x.Args) < 5 {
				return true // another add (a list's), not a finding's
			}
			if name == "add" || name == "addErr" {
				s.code, _ = constString(x.Args[1], consts)
			}
			if name == "warn" && len(x.Args) > 0 {
				s.code, _ = constString(x.Args[0], consts)
			}
			if name == "refuseWrites" && len(x.Args) > 2 {
				s.code, _ = constString(x.Args[2], consts)
			}
			for _, i := range idx {
				if i < len(x.Args) {
					texts(x.Args[i], consts, &s)
				}
			}
			out = append(out, s)
		}
		return true
	})
	return out
}

// isFindingType matches safety.Finding, Finding (inside core/safety) and
// matrix.Reason / Reason, whose texts become findings.
func isFindingType(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name == "Finding" || x.Name == "Reason"
	case *ast.SelectorExpr:
		return x.Sel.Name == "Finding" || x.Sel.Name == "Reason"
	}
	return false
}
