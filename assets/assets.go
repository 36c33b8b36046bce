// Package assets embeds the data files pvinject ships: the supported-OS
// matrices (matrix/*.json, one per driver set, read by core/matrix).
package assets

import (
	"embed"
	"io/fs"
)

//go:embed matrix/*.json
var matrixFiles embed.FS

// Matrix returns the driver-set matrix files, named <set id>.json at its root.
func Matrix() fs.FS {
	sub, err := fs.Sub(matrixFiles, "matrix")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	return sub
}
