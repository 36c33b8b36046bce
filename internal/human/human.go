// Package human formats quantities for people. It is shared by the core's
// text reports and the wizard, which must not depend on the core.
package human

import "fmt"

// Bytes formats n with a binary unit, e.g. "64.0 GiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
