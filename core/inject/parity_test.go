package inject

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// TestParityWithVirtCustomize: for viostor on Windows 7 (CriticalDeviceDatabase)
// and Windows 10 (DriverDatabase), the SYSTEM hive we write holds every key
// and value virt-customize --inject-virtio-win writes (testdata/peer-*.txt,
// from peer-reference-writes.md), read back with hivexregedit. Names are
// translated to ours (guestor.inf -> pvinject-viostor.inf, label in the
// DriverStore form), and Version must be filled from the INF, not zeros.
func TestParityWithVirtCustomize(t *testing.T) {
	dir := fixture(t)
	for _, c := range []struct{ disk, peer, osdir string }{
		{"7-sp1-x64-policy", "peer-viostor-w7.txt", "w7"},
		{"10-x64-virtio", "peer-viostor-w10.txt", "w10"},
	} {
		t.Run(c.disk, func(t *testing.T) {
			img := testenv.CopyInto(t, filepath.Join(dir, "disks", c.disk+".raw"), t.TempDir())
			p, err := BuildPlan(context.Background(), nil, Request{Image: img, Drivers: filepath.Join(dir, "drivers", "virtio-tree"), InPlace: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Apply(context.Background(), p, nil); err != nil {
				t.Fatal(err)
			}
			sys := export(t, volumeOf(t, img), hivePath(p.Guest, HiveSystem))
			infText, err := os.ReadFile(filepath.Join(dir, "drivers", "virtio-tree", "viostor", c.osdir, "amd64", "viostor.inf"))
			if err != nil {
				t.Fatal(err)
			}
			wantVersion := expectedVersion(t, infText)
			label := "pvinject-viostor.inf_amd64_0000000000000000"
			repl := strings.NewReplacer("guestor.inf_tmp", label, "guestor.inf", "pvinject-viostor.inf", "guestor_conf", "pvinject-viostor_conf")
			lines := peerLines(t, filepath.Join("testdata", c.peer))
			// virt-v2v's current VEN/DEV/REV ids (71d5870) must be there too.
			extra := 0
			for _, l := range lines {
				if strings.Contains(l.key, "SUBSYS_") {
					l2 := l
					l2.key = regexp.MustCompile(`&SUBSYS_[0-9A-Fa-f]{8}`).ReplaceAllString(l.key, "")
					lines = append(lines, l2)
					extra++
				}
			}
			if extra == 0 {
				t.Fatal("peer data has no SUBSYS ids")
			}
			for _, l := range lines {
				key := strings.ToUpper(strings.TrimPrefix(repl.Replace(l.key), `\`))
				name := strings.ToUpper(repl.Replace(l.name))
				if name == "@" {
					name = "" // the default value
				}
				got, ok := sys[key][name]
				if !ok {
					t.Errorf("missing %s [%s]", key, name)
					continue
				}
				want := l.val
				if l.name == "Version" {
					want = wantVersion
					if !bytes.Equal(l.val[24:40], make([]byte, 16)) {
						t.Fatal("peer Version unexpectedly non-zero")
					}
				}
				if l.typ == 7 || l.typ == 1 {
					want = utf16z(repl.Replace(decodeUTF16(l.val)), l.typ == 7)
				}
				if got.Type != l.typ || !bytes.Equal(got.Data, want) {
					t.Errorf("%s [%s] = type %d %x, want type %d %x", key, name, got.Type, got.Data, l.typ, want)
				}
			}
		})
	}
}

type peerLine struct {
	key, name string
	typ       uint32
	val       []byte
}

func peerLines(t *testing.T, file string) []peerLine {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []peerLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "+") {
			continue
		}
		parts := strings.Split(l[1:], "\t")
		if len(parts) != 4 {
			t.Fatalf("bad peer line %q", l)
		}
		pl := peerLine{key: parts[0], name: strings.Trim(parts[1], `"`)}
		v := parts[3]
		switch parts[2] {
		case "REG_DWORD":
			n, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			pl.typ, pl.val = 4, binary.LittleEndian.AppendUint32(nil, uint32(n))
		case "REG_SZ":
			pl.typ, pl.val = 1, utf16z(strings.Trim(v, `"`), false)
		case "REG_EXPAND_SZ":
			pl.typ, pl.val = 2, utf16z(strings.Trim(v, `"`), false)
		case "REG_MULTI_SZ":
			pl.typ, pl.val = 7, utf16z(strings.Trim(v, `["]`), true)
		case "REG_BINARY":
			b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimPrefix(v, "hex:"), ",", ""))
			if err != nil {
				t.Fatal(err)
			}
			pl.typ, pl.val = 3, b
		default:
			t.Fatalf("type %s", parts[2])
		}
		out = append(out, pl)
	}
	return out
}

func utf16z(s string, multi bool) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	b = append(b, 0, 0)
	if multi {
		b = append(b, 0, 0)
	}
	return b
}

func decodeUTF16(b []byte) string {
	var u []uint16
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// expectedVersion builds the 48-byte Version from the INF text on its own
// (facts §2.4 layout): header, ClassGUID, DriverVer date as FILETIME,
// version a.b.c.d with a in the top 16 bits, zeros.
func expectedVersion(t *testing.T, infText []byte) []byte {
	m := regexp.MustCompile(`(?m)^DriverVer\s*=\s*(\d+)/(\d+)/(\d+)\s*,\s*(\d+)\.(\d+)\.(\d+)\.(\d+)`).FindSubmatch(infText)
	if m == nil {
		t.Fatal("no DriverVer in the INF")
	}
	n := func(i int) int { v, _ := strconv.Atoi(string(m[i])); return v }
	v := []byte{0x00, 0xff, 0x09, 0x00, 0, 0, 0, 0,
		0x7b, 0xe9, 0x36, 0x4d, 0x25, 0xe3, 0xce, 0x11, 0xbf, 0xc1, 0x08, 0x00, 0x2b, 0xe1, 0x03, 0x18} // SCSIAdapter
	date := time.Date(n(3), time.Month(n(1)), n(2), 0, 0, 0, 0, time.UTC)
	ft := uint64(date.Unix()+11644473600) * 10000000 // seconds 1601..1970; a Duration would overflow
	v = binary.LittleEndian.AppendUint64(v, ft)
	ver := uint64(n(4))<<48 | uint64(n(5))<<32 | uint64(n(6))<<16 | uint64(n(7))
	v = binary.LittleEndian.AppendUint64(v, ver)
	return append(v, make([]byte, 8)...)
}
