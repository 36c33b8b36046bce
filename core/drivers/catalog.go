package drivers

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// MaxCatalogSize bounds a .cat read; real catalogs are tens of KiB.
const MaxCatalogSize = 16 << 20

// ErrCatalog marks a catalog that is not a usable PKCS#7 SignedData.
var ErrCatalog = errors.New("drivers: invalid catalog")

var (
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidCTL        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 1} // szOID_CTL: what signtool's catalogs hold
)

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

// CatalogInfo is what the structural check learned.
type CatalogInfo struct {
	Signers int  // SignerInfo entries
	IsCTL   bool // the signed content is a certificate trust list, as in Windows catalogs
}

// CheckCatalog parses a .cat as a DER PKCS#7 ContentInfo holding SignedData
// with at least one signer. It does not verify any signature or hash.
func CheckCatalog(b []byte) (CatalogInfo, error) {
	var info CatalogInfo
	if len(b) == 0 {
		return info, fmt.Errorf("%w: empty file", ErrCatalog)
	}
	if len(b) > MaxCatalogSize {
		return info, fmt.Errorf("%w: %d bytes exceeds %d", ErrCatalog, len(b), MaxCatalogSize)
	}
	var ci contentInfo
	rest, err := asn1.Unmarshal(b, &ci)
	if err != nil {
		return info, fmt.Errorf("%w: not DER ASN.1: %v", ErrCatalog, err)
	}
	for _, c := range rest { // signtool pads catalogs with zero bytes
		if c != 0 {
			return info, fmt.Errorf("%w: %d bytes of trailing data", ErrCatalog, len(rest))
		}
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return info, fmt.Errorf("%w: content type %v is not pkcs7-signedData", ErrCatalog, ci.ContentType)
	}
	// SignedData ::= SEQUENCE { version, digestAlgorithms SET, contentInfo,
	//   [0] certificates OPTIONAL, [1] crls OPTIONAL, signerInfos SET }.
	// Walked by hand: encoding/asn1 matches an optional RawValue field
	// whatever its tag, so a struct cannot tell [0] from signerInfos.
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &seq); err != nil || seq.Tag != asn1.TagSequence {
		return info, fmt.Errorf("%w: SignedData is not a SEQUENCE: %v", ErrCatalog, err)
	}
	var elems []asn1.RawValue
	for rem := seq.Bytes; len(rem) > 0; {
		if len(elems) >= 8 {
			return info, fmt.Errorf("%w: SignedData has too many elements", ErrCatalog)
		}
		var e asn1.RawValue
		if rem, err = asn1.Unmarshal(rem, &e); err != nil {
			return info, fmt.Errorf("%w: SignedData: %v", ErrCatalog, err)
		}
		elems = append(elems, e)
	}
	if len(elems) < 4 || elems[0].Tag != asn1.TagInteger || elems[1].Tag != asn1.TagSet || elems[2].Tag != asn1.TagSequence {
		return info, fmt.Errorf("%w: SignedData lacks version, digestAlgorithms or contentInfo", ErrCatalog)
	}
	var inner contentInfo
	if _, err := asn1.Unmarshal(elems[2].FullBytes, &inner); err != nil {
		return info, fmt.Errorf("%w: inner contentInfo: %v", ErrCatalog, err)
	}
	signers := elems[len(elems)-1]
	if signers.Class != asn1.ClassUniversal || signers.Tag != asn1.TagSet {
		return info, fmt.Errorf("%w: SignedData has no signerInfos set", ErrCatalog)
	}
	for rem := signers.Bytes; len(rem) > 0 && info.Signers < 64; {
		var one asn1.RawValue
		if rem, err = asn1.Unmarshal(rem, &one); err != nil {
			return info, fmt.Errorf("%w: signerInfo: %v", ErrCatalog, err)
		}
		info.Signers++
	}
	info.IsCTL = inner.ContentType.Equal(oidCTL)
	if info.Signers == 0 {
		return info, fmt.Errorf("%w: SignedData has no signer", ErrCatalog)
	}
	return info, nil
}
