package drivers_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const scsiINF = "[Version]\nSignature=\"$Windows NT$\"\nClass=SCSIAdapter\nClassGUID={4D36E97B-E325-11CE-BFC1-08002BE10318}\n"

func TestDriverPackageVersionVectors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		// The pre-2016 virt-v2v full DriverDatabase patch (libguestfs commit
		// f0dce2452): DriverDate 6-4-2014, DriverVersion 62.71.104.8600.
		{"virt-v2v full", scsiINF + "DriverVer=6-4-2014,62.71.104.8600\n",
			"00 ff 09 00 00 00 00 00 7b e9 36 4d 25 e3 ce 11 bf c1 08 00 2b e1 03 18 00 40 90 ed 87 7f cf 01 98 21 68 00 47 00 3e 00 00 00 00 00 00 00 00 00"},
		// The seed patch's value (virt-v2v today): class GUID only, date and version zero.
		{"seed patch, no DriverVer", scsiINF,
			"00 ff 09 00 00 00 00 00 7b e9 36 4d 25 e3 ce 11 bf c1 08 00 2b e1 03 18" + strings.Repeat(" 00", 24)},
	}
	for _, c := range cases {
		f, err := inf.Parse(c.name+".inf", []byte(c.text), inf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := drivers.DriverPackageVersion(f)
		if want := unhex(t, c.want); !bytes.Equal(got[:], want) {
			t.Errorf("%s:\n got % x\nwant % x", c.name, got, want)
		}
	}
}

func TestDriverPackageVersionCorpus(t *testing.T) {
	b, err := os.ReadFile(testenv.CorpusFile(t, "inf/virtio-win-built/viostor_0.1.208_2k12R2_amd64.inf"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := inf.Parse("viostor.inf", b, inf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := drivers.DriverPackageVersion(f)
	// 08/30/2021 as FILETIME and 100.85.104.20800, computed independently (python datetime).
	want := unhex(t, "00 ff 09 00 00 00 00 00 7b e9 36 4d 25 e3 ce 11 bf c1 08 00 2b e1 03 18 00 40 c3 f9 31 9d d7 01 40 51 68 00 55 00 64 00 00 00 00 00 00 00 00 00")
	if !bytes.Equal(got[:], want) {
		t.Errorf("got % x\nwant % x", got, want)
	}
}
