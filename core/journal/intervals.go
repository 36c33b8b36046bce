package journal

import "sort"

// intervals is a set of disjoint, sorted, non-adjacent [start, end) ranges:
// the parts of a file whose original bytes are already in the journal.
type intervals [][2]int64

// missing returns the parts of [a, b) not in the set.
func (s intervals) missing(a, b int64) [][2]int64 {
	var out [][2]int64
	i := sort.Search(len(s), func(i int) bool { return s[i][1] > a })
	for pos := a; pos < b; {
		if i >= len(s) || s[i][0] >= b {
			out = append(out, [2]int64{pos, b})
			break
		}
		if s[i][0] > pos {
			out = append(out, [2]int64{pos, s[i][0]})
		}
		pos = max(pos, s[i][1])
		i++
	}
	return out
}

// add inserts [a, b), merging with neighbours.
func (s *intervals) add(a, b int64) {
	if a >= b {
		return
	}
	v := *s
	i := sort.Search(len(v), func(i int) bool { return v[i][1] >= a })
	j := i
	for j < len(v) && v[j][0] <= b {
		a = min(a, v[j][0])
		b = max(b, v[j][1])
		j++
	}
	v = append(v[:i], append([][2]int64{{a, b}}, v[j:]...)...)
	*s = v
}
