package replay

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// jsonLinesDecoder reads one JSON object a line. The keys it reads (key
// names match in any case, other keys are ignored, so JSON access logs of
// nginx, Caddy or a load balancer read as they are):
//
//   - method, or request_method (default GET)
//   - url, uri, request_uri or path: an absolute URL or a path with its
//     query; query, args or query_string add a query to a path without one
//   - request: "GET /path HTTP/1.1" (nginx's $request), or an object
//     holding these same keys (Caddy's access log)
//   - headers or header: an object of name to a string or a list of strings
//   - body: the body as text; body_base64: the body in base64 (standard
//     alphabet, padded or not)
//   - time, timestamp, @timestamp, ts, time_iso8601 or time_local: RFC
//     3339, 02/Jan/2006:15:04:05 -0700, or Unix seconds (a number or a
//     numeric string; milliseconds, microseconds and nanoseconds are told
//     by their size)
type jsonLinesDecoder struct {
	lines *lineReader
}

// jsonLine holds the keys read from one line.
type jsonLine struct {
	Method        string          `json:"method"`
	RequestMethod string          `json:"request_method"`
	URL           string          `json:"url"`
	URI           string          `json:"uri"`
	RequestURI    string          `json:"request_uri"`
	Path          string          `json:"path"`
	Query         string          `json:"query"`
	Args          string          `json:"args"`
	QueryString   string          `json:"query_string"`
	Request       json.RawMessage `json:"request"`
	Headers       json.RawMessage `json:"headers"`
	Header        json.RawMessage `json:"header"`
	Body          *string         `json:"body"`
	BodyBase64    *string         `json:"body_base64"`
	Time          json.RawMessage `json:"time"`
	Timestamp     json.RawMessage `json:"timestamp"`
	AtTimestamp   json.RawMessage `json:"@timestamp"`
	TS            json.RawMessage `json:"ts"`
	TimeISO8601   json.RawMessage `json:"time_iso8601"`
	TimeLocal     json.RawMessage `json:"time_local"`
}

func (d *jsonLinesDecoder) next(e *entry) error {
	line, err := d.lines.nextEntry(e)
	if err != nil {
		return err
	}
	var jl jsonLine
	if err := json.Unmarshal(line, &jl); err != nil {
		return &badEntry{line: e.line, text: string(line), reason: "not a JSON object: " + jsonReason(err)}
	}
	if reason := jl.fill(e, 0); reason != "" {
		return &badEntry{line: e.line, text: string(line), reason: reason}
	}
	return nil
}

// jsonReason says what is wrong with a line, without quoting Go types.
func jsonReason(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return fmt.Sprintf("key %q holds a JSON %s", typeErr.Field, typeErr.Value)
	}
	return err.Error()
}

// fill reads the keys into e; depth counts nested request objects.
func (jl *jsonLine) fill(e *entry, depth int) string {
	if len(jl.Request) > 0 && jl.Request[0] == '{' {
		if depth > 0 {
			return `"request" nests too deep`
		}
		var inner jsonLine
		if err := json.Unmarshal(jl.Request, &inner); err != nil {
			return `"request": ` + jsonReason(err)
		}
		if reason := inner.fill(e, depth+1); reason != "" {
			return reason
		}
	} else if len(jl.Request) > 0 && string(jl.Request) != "null" {
		var line string
		if err := json.Unmarshal(jl.Request, &line); err != nil {
			return `"request" is neither a request line nor an object`
		}
		method, target, ok := strings.Cut(line, " ")
		if !ok {
			return fmt.Sprintf("request %q: want METHOD PATH PROTOCOL", trim(line))
		}
		if i := strings.LastIndexByte(target, ' '); i >= 0 && strings.HasPrefix(target[i+1:], "HTTP/") {
			target = target[:i]
		}
		e.method, e.target = method, target
	}
	if m := firstOf(jl.Method, jl.RequestMethod); m != "" {
		e.method = strings.ToUpper(m)
	}
	if t := firstOf(jl.URL, jl.URI, jl.RequestURI, jl.Path); t != "" {
		e.target = t
	}
	if q := firstOf(jl.Query, jl.Args, jl.QueryString); q != "" && e.target != "" && !strings.Contains(e.target, "?") {
		e.target += "?" + strings.TrimPrefix(q, "?")
	}
	if e.method == "" {
		e.method = http.MethodGet
	}
	if e.target == "" {
		if depth > 0 {
			return ""
		}
		return "no url, uri, request_uri, path or request key"
	}
	for _, raw := range []json.RawMessage{jl.Headers, jl.Header} {
		if reason := readHeaders(raw, e); reason != "" {
			return reason
		}
	}
	switch {
	case jl.Body != nil && jl.BodyBase64 != nil:
		return "both body and body_base64; keep one"
	case jl.Body != nil:
		e.body = []byte(*jl.Body)
	case jl.BodyBase64 != nil:
		body, err := decodeBase64(*jl.BodyBase64)
		if err != nil {
			return "body_base64 is not base64"
		}
		e.body = body
	}
	for _, raw := range []json.RawMessage{jl.Time, jl.Timestamp, jl.AtTimestamp, jl.TS, jl.TimeISO8601, jl.TimeLocal} {
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		at, err := parseTime(raw)
		if err != nil {
			return err.Error()
		}
		e.at = at
		break
	}
	return ""
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// readHeaders reads {"Name": "value"} or {"Name": ["value", ...]}.
func readHeaders(raw json.RawMessage, e *entry) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return "headers: want an object of name to value"
	}
	if e.header == nil {
		e.header = make(http.Header, len(fields))
	}
	for name, value := range fields {
		var one string
		if err := json.Unmarshal(value, &one); err == nil {
			e.header[name] = append(e.header[name], one)
			continue
		}
		var many []string
		if err := json.Unmarshal(value, &many); err != nil {
			return fmt.Sprintf("header %q: want a string or a list of strings", trim(name))
		}
		e.header[name] = append(e.header[name], many...)
	}
	return ""
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// parseTime reads a recorded time: a string in RFC 3339 or the access
// log's layout, or Unix time as a number or numeric string.
func parseTime(raw json.RawMessage) (time.Time, error) {
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return time.Time{}, err
		}
		for _, layout := range []string{time.RFC3339Nano, accessLogTime, "[" + accessLogTime + "]", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05"} {
			if at, err := time.Parse(layout, text); err == nil {
				return at, nil
			}
		}
	}
	n, err := strconv.ParseFloat(text, 64)
	if err != nil || n <= 0 || math.IsInf(n, 0) {
		return time.Time{}, fmt.Errorf("time %q: want RFC 3339, 02/Jan/2006:15:04:05 -0700 or Unix seconds", trim(text))
	}
	// Seconds until the year 5138; then milliseconds, microseconds and
	// nanoseconds, each a thousand times larger.
	for n >= 1e11 {
		n /= 1000
	}
	sec, frac := math.Modf(n)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))), nil
}
