package awscloud

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sdkPackages maps the import names of the SDK service packages to the
// SigV4 signing names the fake reports.
var sdkPackages = map[string]string{
	"backup":        "backup",
	"efs":           "elasticfilesystem",
	"organizations": "organizations",
	"sqs":           "sqs",
	"sns":           "sns",
	"sts":           "sts",
}

// calledOperations finds every SDK operation the package's code calls: each
// call (direct or through a paginator) builds a &<pkg>.<Op>Input literal,
// and stscreds' provider calls sts:AssumeRole.
func calledOperations(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			if svc, ok := sdkPackages[pkg.Name]; ok && strings.HasSuffix(sel.Sel.Name, "Input") {
				seen[svc+"."+strings.TrimSuffix(sel.Sel.Name, "Input")] = true
			}
			if pkg.Name == "stscreds" && sel.Sel.Name == "NewAssumeRoleProvider" {
				seen["sts.AssumeRole"] = true
			}
			return true
		})
	}
	var ops []string
	for op := range seen {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// TestEveryOperationHasAShapeTest fails when the code calls an SDK
// operation that TestRequestShapes does not check on the wire, or when a
// shape case names an operation the code no longer calls.
func TestEveryOperationHasAShapeTest(t *testing.T) {
	called := calledOperations(t)
	if len(called) < 15 {
		t.Fatalf("found only %d operations (%v): the scan is broken", len(called), called)
	}
	tested := map[string]bool{}
	for _, sc := range shapeCases {
		if tested[sc.op] {
			t.Errorf("two shape cases for %s", sc.op)
		}
		tested[sc.op] = true
	}
	for _, op := range called {
		if !tested[op] {
			t.Errorf("%s is called but has no case in shapeCases", op)
		}
		delete(tested, op)
	}
	for op := range tested {
		t.Errorf("shapeCases checks %s, which the code does not call", op)
	}
	t.Logf("operations with request-shape tests: %v", called)
}
