package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"

	"github.com/pvinject/pvinject/internal/hostfile"
)

// maxHiveLog bounds a supplied log: a log is at most as large as its hive,
// and the registry format caps a hive at 2 GiB; real logs are a few MiB.
const maxHiveLog = 512 << 20

// AddHiveLogs reads registry transaction logs the user has elsewhere and
// opens the image again with them standing beside their hives (the image
// is not changed: the logs are replayed in memory while planning, and into
// the written hive by Apply).
func (e *Engine) AddHiveLogs(ctx context.Context, paths []string) error {
	logs := map[string][]byte{}
	for _, p := range paths {
		name := strings.ToUpper(filepath.Base(p))
		ext := filepath.Ext(name)
		if ext != ".LOG" && ext != ".LOG1" && ext != ".LOG2" {
			return fmt.Errorf("%s is not a registry log: its name should end in .LOG1, .LOG2 or .LOG, like SYSTEM.LOG1", filepath.Base(p))
		}
		b, err := hostfile.ReadFile(p, maxHiveLog)
		if errors.Is(err, hostfile.ErrTooLarge) {
			return fmt.Errorf("%s is larger than any registry log (%d bytes)", filepath.Base(p), maxHiveLog)
		}
		if err != nil {
			return e.plain(filepath.Base(p)+" cannot be read", err)
		}
		logs[name] = b
	}
	e.mu.Lock()
	path := e.path
	merged := maps.Clone(e.hiveLogs)
	if merged == nil {
		merged = map[string][]byte{}
	}
	maps.Copy(merged, logs)
	e.hiveLogs = merged
	e.mu.Unlock()
	if path == "" {
		return fmt.Errorf("no image is open")
	}
	_, err := e.OpenImage(ctx, path)
	return err
}
