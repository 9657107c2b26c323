// Package efskeeper embeds the repository's example data that the binaries
// ship with: the demo's policies (testdata/policies), so that `efskeeper
// demo` runs from any directory.
package efskeeper

import "embed"

// DemoPolicies holds testdata/policies/*.json.
//
//go:embed testdata/policies/*.json
var DemoPolicies embed.FS
