package netid

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/hive"
)

// mapReader is an in-memory Reader: key path (lower case) to values.
type mapReader map[string][]hive.NamedValue

func (m mapReader) Values(p string) ([]hive.NamedValue, error) {
	v, ok := m[strings.ToLower(p)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, hive.ErrNotFound)
	}
	return v, nil
}

func (m mapReader) Subkeys(p string) ([]string, error) {
	prefix := strings.ToLower(p) + `\`
	seen := map[string]bool{}
	var out []string
	for k := range m {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			if n := strings.Split(rest, `\`)[0]; !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	if len(out) == 0 {
		if _, ok := m[strings.ToLower(p)]; !ok {
			return nil, hive.ErrNotFound
		}
	}
	return out, nil
}

// FuzzRead: whatever the values of an adapter's keys hold (types, sizes,
// garbage strings, NSI names), Read neither panics nor reports a static
// adapter without an address.
func FuzzRead(f *testing.F) {
	f.Add(uint8(7), []byte("1\x002\x00"), []byte{0, 0, 0, 0}, []byte("0000000600000600c0a8017b00000000"), uint8(4))
	f.Add(uint8(4), []byte{0xff, 0xfe}, []byte{1}, []byte("000000050000060020010db8000100000000000000000010000000"), uint8(11))
	f.Fuzz(func(t *testing.T, typ uint8, data, dhcp, nsiName []byte, luidType uint8) {
		cs := "ControlSet001"
		guid := "{11111111-2222-3333-4444-555555555555}"
		m := mapReader{}
		put := func(key string, vs ...hive.NamedValue) { m[strings.ToLower(cs+`\`+key)] = vs }
		v := func(name string, t hive.Type, d []byte) hive.NamedValue {
			return hive.NamedValue{Name: name, Value: hive.Value{Type: t, Data: d}}
		}
		put(classKey+`\0001`, v("NetCfgInstanceId", hive.RegSZ, hive.SZ(guid).Data), v("Characteristics", hive.Type(typ), data),
			v("NetLuidIndex", hive.Type(luidType), data), v("MatchingDeviceId", hive.Type(typ), data))
		put(networkKey+`\`+guid+`\Connection`, v("Name", hive.Type(typ), data), v("PnpInstanceID", hive.Type(typ), data))
		put(TcpipIfKey+`\`+guid, v("EnableDHCP", hive.RegDWord, dhcp), v("IPAddress", hive.Type(typ), data),
			v("SubnetMask", hive.Type(typ), data), v("DefaultGateway", hive.RegMultiSZ, data), v("DefaultGatewayMetric", hive.Type(typ), data),
			v("NameServer", hive.Type(typ), data))
		put(tcpip6IfKey+`\`+guid, v("NameServer", hive.Type(typ), data))
		put(NsiIPv6Addr, v(string(nsiName), hive.RegBinary, data))
		put(NsiIPv4Addr, v(string(nsiName), hive.RegBinary, data))
		id, err := Read(m, cs)
		if err != nil {
			return
		}
		for _, a := range id.Adapters {
			if a.Static && len(a.IPv4) == 0 && len(a.IPv6) == 0 {
				t.Fatalf("static adapter without an address: %+v", a)
			}
		}
	})
}
