package replay

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// accessLogDecoder reads nginx's and Apache's combined and common log
// formats:
//
//	203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /v1/images/42?size=s HTTP/1.1" 200 5120 "https://example.com/" "Mozilla/5.0 ..."
//
// The referer and user agent are optional (common format); fields after
// them (nginx's $request_time, $http_x_forwarded_for, ...) are ignored.
// The recorded user agent is offered as a User-Agent header, the referer
// as Referer, for the header rules to keep or drop.
type accessLogDecoder struct {
	lines *lineReader
}

// accessLogTime is the time layout of both servers' logs ($time_local,
// %t).
const accessLogTime = "02/Jan/2006:15:04:05 -0700"

const accessLogShape = `want HOST IDENT USER [TIME] "METHOD PATH PROTOCOL" STATUS BYTES, as in nginx's combined format`

func (d *accessLogDecoder) next(e *entry) error {
	line, err := d.lines.nextEntry(e)
	if err != nil {
		return err
	}
	if reason := parseAccessLine(string(line), e); reason != "" {
		return &badEntry{line: e.line, text: string(line), reason: reason}
	}
	return nil
}

// parseAccessLine fills e from one log line, or says what is wrong with it.
func parseAccessLine(line string, e *entry) string {
	rest := line
	for range 3 { // host, ident, user
		var ok bool
		if _, rest, ok = strings.Cut(rest, " "); !ok {
			return accessLogShape
		}
	}
	if !strings.HasPrefix(rest, "[") {
		return accessLogShape
	}
	stamp, rest, ok := strings.Cut(rest[1:], "] ")
	if !ok {
		return accessLogShape
	}
	at, err := time.Parse(accessLogTime, stamp)
	if err != nil {
		return fmt.Sprintf("time %q: want [02/Jan/2006:15:04:05 -0700]", stamp)
	}
	request, rest, ok := quoted(rest)
	if !ok {
		return accessLogShape
	}
	status, rest, _ := strings.Cut(rest, " ")
	if _, err := strconv.Atoi(status); err != nil || len(status) != 3 {
		return fmt.Sprintf("status %q: %s", status, accessLogShape)
	}
	if request == "-" || request == "" {
		return "no request line (a connection closed before it sent one)"
	}
	method, target, ok := strings.Cut(request, " ")
	if !ok {
		return fmt.Sprintf("request %q: want METHOD PATH PROTOCOL", trim(request))
	}
	if i := strings.LastIndexByte(target, ' '); i >= 0 && strings.HasPrefix(target[i+1:], "HTTP/") {
		target = target[:i]
	}
	e.method, e.target, e.at = method, target, at

	// Combined format: BYTES "REFERER" "USER AGENT".
	if _, rest, ok = strings.Cut(rest, " "); !ok {
		return ""
	}
	referer, rest, ok := quoted(rest)
	if !ok {
		return ""
	}
	agent, _, ok := quoted(strings.TrimPrefix(rest, " "))
	if !ok {
		return ""
	}
	for name, value := range map[string]string{"Referer": referer, "User-Agent": agent} {
		if value != "" && value != "-" {
			if e.header == nil {
				e.header = make(http.Header, 2)
			}
			e.header[name] = []string{value}
		}
	}
	return ""
}

// quoted reads a "..." field at the start of s, undoing the servers'
// escapes (\" and \\ from Apache, \xHH from both), and returns what
// follows it.
func quoted(s string) (value, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	end := -1
	escaped := false
	for i := 1; i < len(s); i++ {
		switch {
		case escaped:
			escaped = false
		case s[i] == '\\':
			escaped = true
		case s[i] == '"':
			end = i
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return "", s, false
	}
	value, rest = s[1:end], strings.TrimPrefix(s[end+1:], " ")
	if strings.IndexByte(value, '\\') < 0 {
		return value, rest, true
	}
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c != '\\' || i+1 == len(value) {
			b.WriteByte(c)
			continue
		}
		if value[i+1] == 'x' && i+3 < len(value) {
			if n, err := strconv.ParseUint(value[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		i++
		b.WriteByte(value[i])
	}
	return b.String(), rest, true
}
