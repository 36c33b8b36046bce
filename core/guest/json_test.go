//go:build cgo

package guest

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// TestJSONFields pins the field names `pvinject inspect --json` promises.
func TestJSONFields(t *testing.T) {
	ws, err := Detect(DirFS(filepath.Join(testenv.Fixture(t, "guests"), "trees", "2k19-core")), OpenHive)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ws[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"systemroot": `\Windows`, "product_name": "Windows Server 2019 Standard", "major": 10.0, "minor": 0.0,
		"build": 17763.0, "service_pack": 0.0, "edition": "ServerStandard", "installation_type": "Server Core",
		"arch": "amd64", "control_set": "ControlSet002", "os_id": "win2k19", "virtio_dir": "2k19",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s: got %#v, want %#v", k, m[k], v)
		}
	}
	s, ok := m["safety"].(map[string]any)
	if !ok {
		t.Fatalf("safety: %#v", m["safety"])
	}
	for _, k := range []string{"blockers", "warnings"} {
		if _, ok := s[k].([]any); !ok {
			t.Errorf("safety.%s is %#v, want a list", k, s[k])
		}
	}
	for _, k := range []string{"pv_drivers", "pending_reboot", "start_overrides", "device_install_restrictions"} {
		if _, ok := m[k].([]any); !ok {
			t.Errorf("%s is %#v, want a list", k, m[k])
		}
	}
}
