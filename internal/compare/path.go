package compare

import (
	"fmt"
	"strconv"
	"strings"
)

// step is one step of a JSON path: a key, an index, or a wildcard.
type step struct {
	kind  stepKind
	key   string
	index int
}

type stepKind uint8

const (
	keyStep stepKind = iota
	indexStep
	anyIndex // [*]
	anyKey   // .*
)

// path is a JSON path, from the root.
type path []step

// String writes the path as $.items[0].id, quoting keys that are not
// plain names: $["odd key"].
func (p path) String() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range p {
		switch s.kind {
		case keyStep:
			if plainKey(s.key) {
				b.WriteByte('.')
				b.WriteString(s.key)
			} else {
				b.WriteByte('[')
				b.WriteString(strconv.Quote(s.key))
				b.WriteByte(']')
			}
		case indexStep:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		case anyIndex:
			b.WriteString("[*]")
		case anyKey:
			b.WriteString(".*")
		}
	}
	return b.String()
}

// general turns every index into [*]: the field the path is in, whatever
// the element.
func (p path) general() path {
	out := make(path, len(p))
	for i, s := range p {
		if s.kind == indexStep {
			s = step{kind: anyIndex}
		}
		out[i] = s
	}
	return out
}

// covers reports whether rule p matches concrete path q or one of its
// parents: $.meta covers $.meta.request_id.
func (p path) covers(q path) bool {
	if len(p) > len(q) {
		return false
	}
	for i, s := range p {
		t := q[i]
		switch s.kind {
		case keyStep:
			if t.kind != keyStep || t.key != s.key {
				return false
			}
		case indexStep:
			if t.kind != indexStep || t.index != s.index {
				return false
			}
		case anyIndex:
			if t.kind != indexStep && t.kind != anyIndex {
				return false
			}
		case anyKey:
			if t.kind != keyStep && t.kind != anyKey {
				return false
			}
		}
	}
	return true
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !nameByte(k[i]) {
			return false
		}
	}
	return true
}

func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '$' || c == '@'
}

const pathShape = `want $.field, $.list[0], $.list[*].field, $.map.* or $["odd key"]`

// parsePath reads a JSON path as compare-ignore takes it.
func parsePath(s string) (path, error) {
	bad := func() (path, error) { return nil, fmt.Errorf("%q is not a JSON path; %s", s, pathShape) }
	if !strings.HasPrefix(s, "$") {
		return bad()
	}
	var p path
	rest := s[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			if strings.HasPrefix(rest, "*") {
				p, rest = append(p, step{kind: anyKey}), rest[1:]
				continue
			}
			n := 0
			for n < len(rest) && nameByte(rest[n]) {
				n++
			}
			if n == 0 {
				return bad()
			}
			p, rest = append(p, step{kind: keyStep, key: rest[:n]}), rest[n:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if strings.HasPrefix(rest, `["`) {
				quoted, err := strconv.QuotedPrefix(rest[1:])
				if err != nil || !strings.HasPrefix(rest[1+len(quoted):], "]") {
					return bad()
				}
				key, _ := strconv.Unquote(quoted)
				p, rest = append(p, step{kind: keyStep, key: key}), rest[2+len(quoted):]
				continue
			}
			if end < 0 {
				return bad()
			}
			inside := rest[1:end]
			if inside == "*" {
				p = append(p, step{kind: anyIndex})
			} else if n, err := strconv.Atoi(inside); err == nil && n >= 0 && inside == strconv.Itoa(n) {
				p = append(p, step{kind: indexStep, index: n})
			} else {
				return bad()
			}
			rest = rest[end+1:]
		default:
			return bad()
		}
	}
	return p, nil
}
