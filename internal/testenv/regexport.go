package testenv

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// RegValue is one registry value as hivexregedit --export printed it.
type RegValue struct {
	Type uint32
	Data []byte
}

// ParseRegExport reads the .reg text `hivexregedit --export HIVE '\'`
// prints (a tool we did not write) into key -> value name -> value, keys
// and names upper-cased (the registry compares them case-insensitively),
// keys without their leading backslash. hivexregedit writes every value as
// dword: or hex(N): lists, with long lists continued by a trailing "\".
func ParseRegExport(out []byte) (map[string]map[string]RegValue, error) {
	m := map[string]map[string]RegValue{}
	var cur map[string]RegValue
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var pending string
	for sc.Scan() {
		line := pending + sc.Text()
		pending = ""
		if strings.HasSuffix(line, `\`) && !strings.HasPrefix(line, "[") {
			pending = strings.TrimSuffix(line, `\`)
			continue
		}
		switch {
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			cur = map[string]RegValue{}
			m[strings.ToUpper(strings.TrimPrefix(line[1:len(line)-1], `\`))] = cur
		case strings.HasPrefix(line, `"`) || strings.HasPrefix(line, "@="):
			if cur == nil {
				return nil, fmt.Errorf("value before any key: %q", line)
			}
			name, v, err := regValueLine(line)
			if err != nil {
				return nil, err
			}
			cur[strings.ToUpper(name)] = v
		}
	}
	return m, sc.Err()
}

func regValueLine(line string) (string, RegValue, error) {
	var name, rest string
	if strings.HasPrefix(line, "@=") {
		rest = line[2:]
	} else {
		i := 1
		var b strings.Builder
		for ; i < len(line) && line[i] != '"'; i++ {
			if line[i] == '\\' && i+1 < len(line) {
				i++
			}
			b.WriteByte(line[i])
		}
		if i >= len(line) {
			return "", RegValue{}, fmt.Errorf("export line %q: unterminated name", line)
		}
		name, rest = b.String(), strings.TrimPrefix(line[i+1:], "=")
	}
	hexList := func(s string) ([]byte, error) {
		return hex.DecodeString(strings.NewReplacer(",", "", " ", "").Replace(s))
	}
	switch {
	case strings.HasPrefix(rest, "dword:"):
		n, err := strconv.ParseUint(rest[6:], 16, 32)
		return name, RegValue{Type: 4, Data: []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}}, err
	case strings.HasPrefix(rest, "hex:"):
		b, err := hexList(rest[4:])
		return name, RegValue{Type: 3, Data: b}, err
	case strings.HasPrefix(rest, "hex("):
		j := strings.Index(rest, "):")
		if j < 0 {
			return "", RegValue{}, fmt.Errorf("export line %q: no type", line)
		}
		typ, err := strconv.ParseUint(rest[4:j], 16, 32)
		if err != nil {
			return "", RegValue{}, fmt.Errorf("export line %q: %w", line, err)
		}
		b, err := hexList(rest[j+2:])
		return name, RegValue{Type: uint32(typ), Data: b}, err
	}
	return "", RegValue{}, fmt.Errorf("export line %q: unknown value form", line)
}
