// Package redact decides what counts as a credential and hides it: header
// names and JSON keys that carry secrets, and known secret values wherever
// they appear. Replayed requests and sample answers both pass through it,
// so neither a recorded token nor one echoed by an API reaches a summary.
package redact

import (
	"net/http"
	"regexp"
	"strings"
)

// Mask replaces a hidden value.
const Mask = "***"

// secretWords are the pieces of a header name or JSON key that mark its
// value as a credential, compared lower case with '-' and '_' removed, so
// "X-Api-Key", "x_api_key" and "apiKey" all match "apikey".
var secretWords = []string{
	"authorization", "cookie", "password", "passwd", "secret", "token",
	"apikey", "accesskey", "privatekey", "session", "signature", "credential",
}

// Secret reports whether a header name or JSON key names a credential:
// Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key,
// X-Auth-*, X-CSRF-Token, client_secret, password and the like.
func Secret(name string) bool {
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	folded := b.String()
	if strings.HasPrefix(folded, "xauth") {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(folded, w) {
			return true
		}
	}
	return false
}

// Masker hides known secret values in text and the values of credential
// headers. The zero value hides headers only.
type Masker struct {
	values []string
}

// minSecret is the shortest value masked inside text: replacing a
// two-letter secret everywhere would garble the text and reveal it anyway.
const minSecret = 4

// NewMasker returns a masker for the given secret values (tokens, keys,
// passwords); empty and very short values are left out.
func NewMasker(secrets ...string) *Masker {
	m := &Masker{}
	for _, s := range secrets {
		if len(s) >= minSecret {
			m.values = append(m.values, s)
		}
	}
	return m
}

// String hides every known secret value in s.
func (m *Masker) String(s string) string {
	if m == nil {
		return s
	}
	for _, v := range m.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return s
}

// Header returns a copy of h with credential headers' values and known
// secret values masked.
func (m *Masker) Header(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for name, values := range h {
		masked := make([]string, len(values))
		for i, v := range values {
			if Secret(name) {
				masked[i] = Mask
			} else {
				masked[i] = m.String(v)
			}
		}
		out[name] = masked
	}
	return out
}

// pair finds name=value and "name": "value" pairs in free text: query
// strings, log lines, bodies that are not JSON.
var pair = regexp.MustCompile(`([A-Za-z0-9_.\-]+)("?\s*[:=]\s*"?)((?:Bearer |Basic )?[^"&\s,;}]+)`)

// credentialHeader finds a credential header written as text, "Cookie:
// a=1; b=2" or `"Authorization": "Basic ..."`, up to the end of its value:
// every cookie of the header, not only the first, is a credential.
var credentialHeader = regexp.MustCompile(`(?i)\b((?:set-)?cookie|(?:proxy-)?authorization)("?\s*:\s*"?)[^"\r\n]*`)

// Inline hides the values of credential headers and credential-named
// pairs in free text, such as "Cookie: a=1; b=2", "?api_key=abc" or
// `"password": "abc"`, and known secret values.
func (m *Masker) Inline(s string) string {
	s = credentialHeader.ReplaceAllString(s, "${1}${2}"+Mask)
	s = pair.ReplaceAllStringFunc(s, func(p string) string {
		sub := pair.FindStringSubmatch(p)
		if !Secret(sub[1]) {
			return p
		}
		return sub[1] + sub[2] + Mask
	})
	return m.String(s)
}
