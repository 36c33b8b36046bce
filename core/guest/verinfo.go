package guest

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// VersionInfo is what a driver file's VS_VERSION_INFO resource says.
type VersionInfo struct {
	FileVersion    string            `json:"file_version,omitempty"`    // from VS_FIXEDFILEINFO, "a.b.c.d"
	ProductVersion string            `json:"product_version,omitempty"` // from VS_FIXEDFILEINFO
	Strings        map[string]string `json:"strings,omitempty"`         // StringFileInfo: CompanyName, ProductName, ...
}

// ErrNoVersionInfo means the PE file has no RT_VERSION resource.
var ErrNoVersionInfo = errors.New("guest: no version resource")

// errVerInfo marks a malformed version resource.
var errVerInfo = errors.New("guest: malformed version resource")

const (
	rtVersion        = 16
	maxResourceDepth = 3       // type, name, language
	maxResEntries    = 4096    // per directory; real files have a handful
	maxVerInfo       = 1 << 16 // wLength is a WORD
	fixedFileInfoSig = 0xFEEF04BD
	maxVerStrings    = 64
)

// PEVersionInfo finds and parses the version resource of a PE image.
func PEVersionInfo(b []byte) (VersionInfo, error) {
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		return VersionInfo{}, fmt.Errorf("not a PE image: %w", err)
	}
	defer f.Close()
	var dir pe.DataDirectory
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		if oh.NumberOfRvaAndSizes > pe.IMAGE_DIRECTORY_ENTRY_RESOURCE {
			dir = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_RESOURCE]
		}
	case *pe.OptionalHeader64:
		if oh.NumberOfRvaAndSizes > pe.IMAGE_DIRECTORY_ENTRY_RESOURCE {
			dir = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_RESOURCE]
		}
	}
	if dir.VirtualAddress == 0 || dir.Size == 0 {
		return VersionInfo{}, ErrNoVersionInfo
	}
	for _, s := range f.Sections {
		if dir.VirtualAddress < s.VirtualAddress || uint64(dir.VirtualAddress) >= uint64(s.VirtualAddress)+uint64(max(s.VirtualSize, s.Size)) {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return VersionInfo{}, fmt.Errorf("reading section %s: %w", s.Name, err)
		}
		blob, err := findVersionResource(data, s.VirtualAddress, dir.VirtualAddress-s.VirtualAddress)
		if err != nil {
			return VersionInfo{}, err
		}
		return ParseVersionInfo(blob)
	}
	return VersionInfo{}, fmt.Errorf("resource directory RVA 0x%x is in no section: %w", dir.VirtualAddress, errVerInfo)
}

// findVersionResource walks the resource tree of one section: the first
// RT_VERSION entry, its first name, its first language.
func findVersionResource(sec []byte, secRVA, root uint32) ([]byte, error) {
	off := root
	want := uint32(rtVersion)
	for depth := 0; depth < maxResourceDepth; depth++ {
		if uint64(off)+16 > uint64(len(sec)) {
			return nil, fmt.Errorf("resource directory at 0x%x past section end: %w", off, errVerInfo)
		}
		n := uint32(binary.LittleEndian.Uint16(sec[off+12:])) + uint32(binary.LittleEndian.Uint16(sec[off+14:]))
		if n > maxResEntries {
			return nil, fmt.Errorf("resource directory with %d entries: %w", n, errVerInfo)
		}
		next, found := uint32(0), false
		for i := uint32(0); i < n; i++ {
			e := uint64(off) + 16 + 8*uint64(i)
			if e+8 > uint64(len(sec)) {
				return nil, fmt.Errorf("resource entry past section end: %w", errVerInfo)
			}
			name := binary.LittleEndian.Uint32(sec[e:])
			target := binary.LittleEndian.Uint32(sec[e+4:])
			if depth == 0 && name != want {
				continue
			}
			isDir := target&0x80000000 != 0
			target &^= 0x80000000
			if isDir != (depth < maxResourceDepth-1) {
				return nil, fmt.Errorf("resource tree shape at depth %d: %w", depth, errVerInfo)
			}
			next, found = root+target, true
			break
		}
		if !found {
			return nil, ErrNoVersionInfo
		}
		off = next
	}
	// off is an IMAGE_RESOURCE_DATA_ENTRY: data RVA, size.
	if uint64(off)+8 > uint64(len(sec)) {
		return nil, fmt.Errorf("resource data entry past section end: %w", errVerInfo)
	}
	rva := binary.LittleEndian.Uint32(sec[off:])
	size := binary.LittleEndian.Uint32(sec[off+4:])
	if rva < secRVA || size > maxVerInfo || uint64(rva-secRVA)+uint64(size) > uint64(len(sec)) {
		return nil, fmt.Errorf("version data RVA 0x%x size %d outside its section: %w", rva, size, errVerInfo)
	}
	return sec[rva-secRVA : rva-secRVA+size], nil
}

// verBlock is one node of the VS_VERSIONINFO tree: WORD wLength,
// WORD wValueLength, WORD wType, WCHAR szKey[], padding, Value, padding,
// Children. Offsets are 32-bit aligned from the start of the resource.
type verBlock struct {
	key      string
	value    []byte
	text     bool
	children []byte
	base     int // offset of children within the resource, for alignment
}

func parseVerBlock(b []byte, base int) (blk verBlock, size int, err error) {
	if len(b) < 6 {
		return blk, 0, fmt.Errorf("block header truncated: %w", errVerInfo)
	}
	length := int(binary.LittleEndian.Uint16(b))
	valLen := int(binary.LittleEndian.Uint16(b[2:]))
	blk.text = binary.LittleEndian.Uint16(b[4:]) == 1
	if length < 6 || length > len(b) {
		return blk, 0, fmt.Errorf("block length %d with %d bytes left: %w", length, len(b), errVerInfo)
	}
	b = b[:length]
	p := 6
	var key []uint16
	for {
		if p+2 > len(b) {
			return blk, 0, fmt.Errorf("block key not terminated: %w", errVerInfo)
		}
		c := binary.LittleEndian.Uint16(b[p:])
		p += 2
		if c == 0 {
			break
		}
		key = append(key, c)
	}
	blk.key = string(utf16.Decode(key))
	p = align4(base, p)
	if blk.text {
		valLen *= 2 // text values count WCHARs
	}
	if valLen > len(b)-min(p, len(b)) {
		valLen = max(len(b)-p, 0) // some linkers overstate text lengths; clamp
	}
	if p > len(b) {
		p = len(b)
	}
	blk.value = b[p : p+valLen]
	p = align4(base, p+valLen)
	if p > len(b) {
		p = len(b)
	}
	blk.children = b[p:]
	blk.base = base + p
	return blk, length, nil
}

func align4(base, p int) int { return p + (4-(base+p)%4)%4 }

// eachChild calls fn for every child block, stopping at the first error.
func (blk verBlock) eachChild(fn func(verBlock) error) error {
	b, base := blk.children, blk.base
	for count := 0; len(b) >= 6 && count < maxVerStrings*4; count++ {
		c, n, err := parseVerBlock(b, base)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
		step := align4(base, n)
		if step >= len(b) {
			break
		}
		b, base = b[step:], base+step
	}
	return nil
}

// ParseVersionInfo decodes a VS_VERSIONINFO resource.
func ParseVersionInfo(b []byte) (VersionInfo, error) {
	var vi VersionInfo
	root, _, err := parseVerBlock(b, 0)
	if err != nil {
		return vi, err
	}
	if root.key != "VS_VERSION_INFO" {
		return vi, fmt.Errorf("root key %q: %w", root.key, errVerInfo)
	}
	if len(root.value) >= 52 && binary.LittleEndian.Uint32(root.value) == fixedFileInfoSig {
		v := root.value
		vi.FileVersion = fourPart(binary.LittleEndian.Uint32(v[8:]), binary.LittleEndian.Uint32(v[12:]))
		vi.ProductVersion = fourPart(binary.LittleEndian.Uint32(v[16:]), binary.LittleEndian.Uint32(v[20:]))
	}
	err = root.eachChild(func(sfi verBlock) error {
		if sfi.key != "StringFileInfo" {
			return nil
		}
		return sfi.eachChild(func(table verBlock) error {
			return table.eachChild(func(s verBlock) error {
				if vi.Strings == nil {
					vi.Strings = map[string]string{}
				}
				if _, dup := vi.Strings[s.key]; !dup && len(vi.Strings) < maxVerStrings {
					val := decodeUTF16(s.value)
					if i := strings.IndexByte(val, 0); i >= 0 {
						val = val[:i]
					}
					vi.Strings[s.key] = strings.TrimSpace(val)
				}
				return nil
			})
		})
	})
	if err != nil && vi.FileVersion == "" {
		return vi, err
	}
	if vi.FileVersion == "" && vi.Strings["FileVersion"] != "" {
		vi.FileVersion = vi.Strings["FileVersion"]
	}
	return vi, nil
}

func fourPart(ms, ls uint32) string {
	return fmt.Sprintf("%d.%d.%d.%d", ms>>16, ms&0xffff, ls>>16, ls&0xffff)
}
