package replay

import (
	"strings"
	"sync"
)

// Other is the pattern of every request once MaxPatterns patterns are
// known.
const Other = "other"

// DefaultMaxPatterns bounds the patterns a Patterns hands out.
const DefaultMaxPatterns = 100

// Patterns groups concrete paths into endpoint patterns, so per-endpoint
// figures stay few however many URLs a recording holds:
// GET /v1/images/123 and GET /v1/images/456 are both
// "GET /v1/images/{id}". Once MaxPatterns patterns are known, requests
// matching none of them are Other. The zero value works, with
// DefaultMaxPatterns; a Patterns is safe for concurrent use.
type Patterns struct {
	MaxPatterns int

	mu    sync.Mutex
	known map[string]bool
}

// Pattern returns "METHOD /pattern" for a request, or Other. path may be a
// path with a query or an absolute URL; only the path counts.
func (p *Patterns) Pattern(method, path string) string {
	pattern := method + " " + PathPattern(path)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.known[pattern] {
		return pattern
	}
	if len(p.known) >= p.max() {
		return Other
	}
	if p.known == nil {
		p.known = make(map[string]bool)
	}
	p.known[pattern] = true
	return pattern
}

// Known returns how many patterns have been handed out (Other aside).
func (p *Patterns) Known() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.known)
}

func (p *Patterns) max() int {
	if p.MaxPatterns > 0 {
		return p.MaxPatterns
	}
	return DefaultMaxPatterns
}

// PathPattern replaces the parts of a path that identify a thing rather
// than an endpoint with a placeholder: {id} for numbers and mostly-digit
// codes (ORD-12345), {uuid} for UUIDs, {hash} for hex strings of 16
// characters or more, {token} for long opaque strings (20 characters or
// more with a digit, such as base64 tokens and slugs with a date, or 32
// or more of any kind). A file extension is kept: /img/42.png is
// /img/{id}.png. The query and an absolute URL's scheme and host are
// dropped.
func PathPattern(path string) string {
	if i := strings.Index(path, "://"); i >= 0 {
		rest := path[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			path = rest[j:]
		} else {
			path = "/"
		}
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		return "/"
	}
	var b strings.Builder
	b.Grow(len(path))
	for i, segment := range strings.Split(path, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		stem, ext := segment, ""
		if dot := strings.LastIndexByte(segment, '.'); dot > 0 && len(segment)-dot <= 6 {
			stem, ext = segment[:dot], segment[dot:]
		}
		if placeholder := classify(stem); placeholder != "" {
			b.WriteString(placeholder)
			b.WriteString(ext)
		} else {
			b.WriteString(segment)
		}
	}
	return b.String()
}

// classify returns the placeholder a path segment stands for, or "" when
// it reads as a fixed part of the endpoint.
func classify(s string) string {
	if s == "" {
		return ""
	}
	var digits, hex, letters, other int
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits++
			hex++
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
			hex++
			letters++
		case 'g' <= c && c <= 'z', 'G' <= c && c <= 'Z':
			letters++
		case c == '-' || c == '_' || c == '~' || c == '%' || c == '=' || c == '+' || c == ',' || c == ':':
			other++
		default:
			return ""
		}
	}
	switch {
	case digits == len(s):
		return "{id}"
	case isUUID(s):
		return "{uuid}"
	case hex == len(s) && len(s) >= 16:
		return "{hash}"
	case len(s) >= 32 || len(s) >= 20 && digits > 0:
		return "{token}"
	case digits >= 4 && digits*2 >= len(s)-other:
		return "{id}"
	}
	return ""
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
