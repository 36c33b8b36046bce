package drivers_test

import (
	"encoding/asn1"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// handMadeSignedData builds a minimal DER ContentInfo{signedData} with the
// given number of (opaque) signer entries, independent of openssl.
func handMadeSignedData(t testing.TB, signers int, inner asn1.ObjectIdentifier) []byte {
	t.Helper()
	var si []byte
	for i := 0; i < signers; i++ {
		one, err := asn1.Marshal(struct{ V int }{1})
		if err != nil {
			t.Fatal(err)
		}
		si = append(si, one...)
	}
	type ci struct {
		ContentType asn1.ObjectIdentifier
	}
	sd := struct {
		Version     int
		Digests     asn1.RawValue
		Content     ci
		SignerInfos asn1.RawValue
	}{1, asn1.RawValue{Class: 0, Tag: asn1.TagSet, IsCompound: true, Bytes: []byte{}}, ci{inner},
		asn1.RawValue{Class: 0, Tag: asn1.TagSet, IsCompound: true, Bytes: si}}
	sdb, err := asn1.Marshal(sd)
	if err != nil {
		t.Fatal(err)
	}
	out, err := asn1.Marshal(struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue
	}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdb}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var oidCTL = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 1}

func TestCheckCatalogHandMade(t *testing.T) {
	info, err := drivers.CheckCatalog(handMadeSignedData(t, 1, oidCTL))
	if err != nil || info.Signers != 1 || !info.IsCTL {
		t.Errorf("ctl: %+v %v", info, err)
	}
	padded := append(handMadeSignedData(t, 2, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}), 0, 0, 0)
	if info, err := drivers.CheckCatalog(padded); err != nil || info.Signers != 2 || info.IsCTL {
		t.Errorf("padded: %+v %v", info, err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"nosigner":  handMadeSignedData(t, 0, oidCTL),
		"trailing":  append(handMadeSignedData(t, 1, oidCTL), 1),
		"text":      []byte("not a catalog"),
		"truncated": handMadeSignedData(t, 1, oidCTL)[:20],
	} {
		if _, err := drivers.CheckCatalog(b); !errors.Is(err, drivers.ErrCatalog) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A DER blob that is not signedData (pkcs7-data ContentInfo).
	b, _ := asn1.Marshal(struct{ T asn1.ObjectIdentifier }{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}})
	if _, err := drivers.CheckCatalog(b); !errors.Is(err, drivers.ErrCatalog) {
		t.Errorf("data: %v", err)
	}
}

// The openssl-made catalogs of the fixture: smime -sign has a signer,
// crl2pkcs7 has none.
func TestCheckCatalogOpenSSL(t *testing.T) {
	dir := testenv.Fixture(t, "drivers")
	for _, c := range []struct {
		file string
		ok   bool
	}{{"folder/good/demo.cat", true}, {"folder/nosigner/nosigner.cat", false}, {"folder/garbage/garbage.cat", false}} {
		b, err := os.ReadFile(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		info, err := drivers.CheckCatalog(b)
		if (err == nil) != c.ok {
			t.Errorf("%s: %+v %v", c.file, info, err)
		}
	}
}

func FuzzCheckCatalog(f *testing.F) {
	f.Add(handMadeSignedData(f, 1, oidCTL))
	f.Add(handMadeSignedData(f, 3, asn1.ObjectIdentifier{1, 2, 3}))
	f.Add([]byte{0x30, 0x80, 0x06, 0x09})
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := drivers.CheckCatalog(b)
		if err == nil && info.Signers == 0 {
			t.Fatal("accepted a catalog without signer")
		}
	})
}
