// Package messagecheck holds the tests' checks of error messages: every
// message of this codebase is one lower-case line that quotes the value it
// is about.
package messagecheck

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Check fails the test unless err reads as this codebase's messages do:
// one lower-case line. fn and in name the call, for the failure message.
func Check(t testing.TB, fn, in string, err error) {
	t.Helper()
	msg := err.Error()
	if msg == "" {
		t.Fatalf("%s(%q) failed with an empty message", fn, in)
	}
	if first, _ := utf8.DecodeRuneInString(msg); unicode.IsUpper(first) {
		t.Errorf("%s(%q) error %q starts upper case", fn, in, msg)
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("%s(%q) error %q spans lines", fn, in, msg)
	}
}

// QuotesPartOf reports whether msg holds a Go-quoted piece of in (an empty
// piece, such as a missing percentile, counts).
func QuotesPartOf(msg, in string) bool {
	for rest := msg; ; {
		i := strings.IndexByte(rest, '"')
		if i < 0 {
			return false
		}
		rest = rest[i:]
		quoted, err := strconv.QuotedPrefix(rest)
		if err != nil {
			rest = rest[1:]
			continue
		}
		if s, _ := strconv.Unquote(quoted); strings.Contains(in, s) {
			return true
		}
		rest = rest[len(quoted):]
	}
}
