package targets

import (
	"fmt"
	"strconv"
	"strings"
)

// Merge gives the mix its final shape. A target written more than once,
// the way vegeta users weight a mix, becomes one target whose weight is
// the sum of the copies' (vegeta sends each copy in turn, so the shares
// are the same). Then each target without a name gets one: "METHOD
// /path", the whole URL where two paths are alike on different hosts, and
// " #2", " #3" ... in the order written where targets differ only in
// headers, body or annotations. Names given with # @name must be unique.
func Merge(specs []Spec) ([]Spec, error) {
	merged := make([]Spec, 0, len(specs))
	first := map[string]int{} // identity to index in merged
	for _, s := range specs {
		key := identity(&s)
		i, seen := first[key]
		if !seen {
			first[key] = len(merged)
			merged = append(merged, s)
			continue
		}
		sum := max(1, merged[i].Weight) + max(1, s.Weight)
		if sum > MaxWeight {
			return nil, fmt.Errorf("%s: %q is written again at %s; the weights of its copies add up to more than %d", merged[i].Where, merged[i].Method+" "+merged[i].URL.String(), s.Where, MaxWeight)
		}
		merged[i].Weight = sum
	}
	return merged, name(merged)
}

// identity is what makes two targets the same request.
func identity(s *Spec) string {
	var b strings.Builder
	field := func(v string) {
		b.WriteString(strconv.Quote(v))
		b.WriteByte(' ')
	}
	field(s.Name)
	field(s.Method)
	field(s.URL.String())
	for _, h := range s.Header {
		field(h.Name)
		field(h.Value.String())
	}
	b.WriteByte('|')
	if s.Body != nil {
		field(s.Body.String())
	}
	field(s.Timeout.String())
	field(s.Group)
	field(strconv.FormatBool(s.Template))
	return b.String()
}

func name(specs []Spec) error {
	used := map[string]string{} // name to where
	for _, s := range specs {
		if s.Name == "" {
			continue
		}
		if first, taken := used[s.Name]; taken {
			return fmt.Errorf("%s: %q: the name %q is taken by %s; give each target its own name (# @name ...)", s.Where, s.Method+" "+s.URL.String(), s.Name, first)
		}
		used[s.Name] = s.Where
	}
	// Targets alike in short name take the whole URL, unless they are
	// alike in it too.
	urls := map[string]map[string]bool{}
	for _, s := range specs {
		if s.Name == "" {
			if urls[short(&s)] == nil {
				urls[short(&s)] = map[string]bool{}
			}
			urls[short(&s)][s.URL.String()] = true
		}
	}
	for i := range specs {
		s := &specs[i]
		if s.Name != "" {
			continue
		}
		base := short(s)
		if len(urls[base]) > 1 {
			base = s.Method + " " + s.URL.String()
		}
		s.Name = base
		for n := 2; used[s.Name] != ""; n++ {
			s.Name = base + " #" + strconv.Itoa(n)
		}
		used[s.Name] = s.Where
	}
	return nil
}

// short is "METHOD /path?query" with the path as written.
func short(s *Spec) string {
	raw := s.URL.String()
	if i := strings.Index(raw, "://"); i >= 0 {
		raw = raw[i+3:]
	}
	j := strings.IndexAny(raw, "/?")
	switch {
	case j < 0:
		return s.Method + " /"
	case raw[j] == '?':
		return s.Method + " /" + raw[j:]
	}
	return s.Method + " " + raw[j:]
}
