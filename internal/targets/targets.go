// Package targets reads the requests of the load (vegeta's HTTP and JSON
// target formats, read as vegeta v12.13.0 reads them) and builds each
// request at send time: templates filled, global headers added, the
// request signed.
package targets

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Spec is one request of the mix as written.
type Spec struct {
	Name   string
	Method string
	URL    *Template
	Header []Header
	Body   *Template // nil: no body
	Weight int       // 0 counts as 1
	// Timeout, when set, bounds this target's requests.
	Timeout time.Duration
	// Group is the group a # @group annotation put the target in, which
	// thresholds limit with {group:NAME}; "" for none.
	Group string
	// Template says placeholders were asked for (# @template): the URL,
	// headers and body hold {{...}} filled per request. Without it they
	// are sent byte for byte, {{ included, as vegeta sends them.
	Template bool
	Where    string // "line 3" or "targets.http line 3", for messages
}

// Header is one header line; its value may hold placeholders.
type Header struct {
	Name  string
	Value *Template
}

// ParseText reads a targets text, the targets input or a targets file:
// vegeta's JSON format when its first non-blank line starts with {, vegeta's
// HTTP format otherwise. file names the source in messages ("" for the
// targets input).
func ParseText(text, file string) ([]Spec, error) {
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			if strings.HasPrefix(line, "{") {
				return ParseJSONLines(text, file)
			}
			break
		}
	}
	return ParseHTTP(text, file)
}

// ParseFile reads a targets file (see ParseText).
func ParseFile(path string) ([]Spec, error) {
	raw, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseText(string(raw), path)
}

// ParseHTTP reads targets in vegeta's HTTP format:
//
//	# @name search
//	# @weight 60
//	# @timeout 2s
//	POST https://staging.example.com/v1/search
//	Content-Type: application/json
//	@body.json
//
// A target starts with METHOD URL, METHOD being upper-case letters (or
// with a bare http(s) URL, for GET); the lines after it, up to a blank
// line, the next target or its @file body, are Name: value headers. Lines
// starting with # are comments, except the @name, @weight, @timeout,
// @template and @group annotations, which apply to the next target (vegeta
// ignores them).
func ParseHTTP(text, file string) ([]Spec, error) {
	r := httpReader{file: file, current: -1}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), MaxFile)
	for n := 1; sc.Scan(); n++ {
		if err := r.line(n, strings.TrimSpace(sc.Text())); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", r.where(0), err)
	}
	return r.specs, nil
}

// httpReader reads vegeta's HTTP format a line at a time.
type httpReader struct {
	file    string
	specs   []Spec
	current int  // index of the target whose headers may follow; -1 between targets
	bodyAt  int  // the line of the current target's body, which ends it; 0 for none
	pending Spec // annotations for the next target
}

func (r *httpReader) where(n int) string {
	switch {
	case n == 0:
		return r.file
	case r.file == "":
		return fmt.Sprintf("line %d", n)
	}
	return fmt.Sprintf("%s line %d", r.file, n)
}

const wantTarget = `want METHOD URL, such as "GET https://staging.example.com/health"`

func (r *httpReader) line(n int, line string) error {
	switch {
	case line == "":
		r.current, r.bodyAt = -1, 0
	case strings.HasPrefix(line, "#"):
		if err := annotate(&r.pending, strings.TrimSpace(line[1:])); err != nil {
			return fmt.Errorf("%s: %q: %w", r.where(n), line, err)
		}
	case startsTarget(line):
		spec, err := parseRequestLine(line, r.pending.Template)
		if err != nil {
			return fmt.Errorf("%s: %w", r.where(n), err)
		}
		spec.Name, spec.Weight, spec.Timeout, spec.Group = r.pending.Name, r.pending.Weight, r.pending.Timeout, r.pending.Group
		spec.Template, spec.Where = r.pending.Template, r.where(n)
		r.pending = Spec{}
		r.specs = append(r.specs, spec)
		r.current, r.bodyAt = len(r.specs)-1, 0
	case strings.HasPrefix(line, "{"):
		return fmt.Errorf("%s: %q is a JSON target among targets in vegeta's HTTP format; a targets text is JSON lines from its first line, or HTTP format throughout", r.where(n), line)
	case r.current < 0:
		return fmt.Errorf("%s: %q: %s", r.where(n), line, wantTarget)
	case r.bodyAt > 0:
		// vegeta reads this line as the next target, and fails.
		return fmt.Errorf("%s: %q follows the @file body of the target on line %d, which ends it; %s, after a blank line or not", r.where(n), line, r.bodyAt, wantTarget)
	case strings.HasPrefix(line, "@"):
		spec := &r.specs[r.current]
		body, err := ReadFile(line[1:])
		if err != nil {
			return fmt.Errorf("%s: body %q: %w", r.where(n), line[1:], err)
		}
		if spec.Body, err = content(string(body), InBody, spec.Template); err != nil {
			return fmt.Errorf("%s: body %q: %w", r.where(n), line[1:], err)
		}
		r.bodyAt = n
	default:
		spec := &r.specs[r.current]
		h, err := parseTargetHeader(line, spec.Template)
		if err != nil {
			return fmt.Errorf("%s: %w", r.where(n), err)
		}
		spec.Header = append(spec.Header, h)
	}
	return nil
}

// startsTarget reports whether a line begins a target: upper-case letters
// and a space, as vegeta tells a target line (^[A-Z]+\s), or a bare
// http(s) URL.
func startsTarget(line string) bool {
	if strings.HasPrefix(line, "http://") || strings.HasPrefix(line, "https://") {
		return true
	}
	i := 0
	for i < len(line) && line[i] >= 'A' && line[i] <= 'Z' {
		i++
	}
	return i > 0 && i < len(line) && strings.IndexByte(" \t\n\v\f\r", line[i]) >= 0
}

func parseRequestLine(line string, templated bool) (Spec, error) {
	method, rawURL := "GET", line
	if !strings.HasPrefix(line, "http://") && !strings.HasPrefix(line, "https://") {
		var ok bool
		method, rawURL, ok = strings.Cut(line, " ")
		if !ok || strings.ContainsFunc(method, func(r rune) bool { return r < 'A' || r > 'Z' }) {
			return Spec{}, fmt.Errorf("%q: %s, with a space between them", line, wantTarget)
		}
		rawURL = strings.TrimSpace(rawURL)
	}
	spaced := strings.ContainsAny(rawURL, " \t")
	if templated {
		spaced = outsidePlaceholders(rawURL, strings.ContainsAny, " \t")
	}
	switch {
	case spaced && !templated && strings.Contains(rawURL, "{{"):
		return Spec{}, fmt.Errorf("%q: %s, with no space in the URL; to fill its {{...}} placeholders, put # @template on the line before", line, wantTarget)
	case spaced:
		return Spec{}, fmt.Errorf("%q: %s, with no space in the URL (write a space as %%20)", line, wantTarget)
	}
	u, err := parseURL(rawURL, templated)
	if err != nil {
		return Spec{}, err
	}
	return Spec{Method: method, URL: u}, nil
}

// content is text sent byte for byte, or a template when placeholders
// were asked for.
func content(text string, ctx Context, templated bool) (*Template, error) {
	if !templated {
		return Literal(text), nil
	}
	return Parse(text, ctx)
}

// outsidePlaceholders applies test to the text outside {{...}}.
func outsidePlaceholders(s string, test func(string, string) bool, arg string) bool {
	var outside strings.Builder
	for {
		open := strings.Index(s, "{{")
		if open < 0 {
			outside.WriteString(s)
			break
		}
		outside.WriteString(s[:open])
		end := strings.Index(s[open:], "}}")
		if end < 0 {
			break
		}
		s = s[open+end+2:]
	}
	return test(outside.String(), arg)
}

// annotate reads a "@key value" comment into spec; other comments are
// left alone, as vegeta leaves them.
func annotate(spec *Spec, comment string) error {
	key, value, _ := strings.Cut(comment, " ")
	value = strings.TrimSpace(value)
	switch key {
	case "@name":
		if value == "" {
			return errors.New("@name needs a name")
		}
		spec.Name = value
	case "@weight":
		w, err := parseWeight(value)
		if err != nil {
			return err
		}
		spec.Weight = w
	case "@timeout":
		d, err := parseTimeout(value)
		if err != nil {
			return err
		}
		spec.Timeout = d
	case "@template":
		if value != "" {
			return fmt.Errorf("@template takes no value, not %q; it turns on the placeholders of the next target", value)
		}
		spec.Template = true
	case "@group":
		g, err := parseGroup(value)
		if err != nil {
			return err
		}
		spec.Group = g
	}
	return nil
}

// MaxWeight bounds a target's weight, its repeats included.
const MaxWeight = 1_000_000

func parseWeight(s string) (int, error) {
	w, err := strconv.Atoi(s)
	if err != nil || w < 1 || w > MaxWeight {
		return 0, fmt.Errorf("weight %q: want a whole number from 1 to %d", s, MaxWeight)
	}
	return w, nil
}

func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("timeout %q: want a positive duration such as 2s", s)
	}
	return d, nil
}

// parseGroup reads a group name, which thresholds name in a
// {group:NAME} scope: no brackets, commas, colons or quotes.
func parseGroup(s string) (string, error) {
	if s == "" || strings.ContainsAny(s, "{}[],:'\"`") || strings.ContainsFunc(s, isControl) {
		return "", fmt.Errorf("group %q: want a name without {}[],:'\" such as browse", s)
	}
	return s, nil
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// ParseHeaders reads the headers input: one "Name: value" a line, sent
// byte for byte, {{ included, as vegeta's -header flag sends it, unless a
// "# @template" line comes before it, as before a target, to fill its
// placeholders. Blank lines and other comments are skipped.
func ParseHeaders(text string) ([]Header, error) {
	var out []Header
	templated, at := false, 0
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#"):
			key, value, _ := strings.Cut(strings.TrimSpace(line[1:]), " ")
			if key != "@template" {
				continue
			}
			if value = strings.TrimSpace(value); value != "" {
				return nil, fmt.Errorf("line %d: @template takes no value, not %q; it turns on the placeholders of the next header", n+1, value)
			}
			templated, at = true, n+1
			continue
		}
		h, err := ParseHeader(line, templated)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		out = append(out, h)
		templated = false
	}
	if templated {
		return nil, fmt.Errorf("line %d: # @template turns on the placeholders of the next header, and none follows", at)
	}
	return out, nil
}

// ParseHeader reads "Name: value" for the headers input; templated, the
// value's {{...}} placeholders are filled per request, and otherwise it
// is sent as written.
func ParseHeader(line string, templated bool) (Header, error) {
	name, value, ok := strings.Cut(line, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || !ValidHeaderName(name) {
		return Header{}, fmt.Errorf("%q is not a header; want Name: value", line)
	}
	t, err := content(value, InHeader, templated)
	if err != nil {
		return Header{}, err
	}
	return Header{Name: name, Value: t}, nil
}

// parseTargetHeader reads a header line of the HTTP format as vegeta does:
// name and value both non-empty once trimmed, the name's case kept.
func parseTargetHeader(line string, templated bool) (Header, error) {
	name, value, ok := strings.Cut(line, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || value == "" {
		return Header{}, fmt.Errorf("%q is not a header; want Name: value, both non-empty", line)
	}
	return header(name, value, templated)
}

// header checks what Go's HTTP client would refuse on every request: a
// name that is not a token, a value with a control character.
func header(name, value string, templated bool) (Header, error) {
	if !ValidHeaderName(name) {
		return Header{}, fmt.Errorf("header name %q is not a token (letters, digits and !#$%%&'*+-.^_`|~); no request could carry it", name)
	}
	if i := strings.IndexFunc(value, func(r rune) bool { return r != '\t' && isControl(r) }); i >= 0 {
		// The value may be a credential: the message names the byte
		// rather than quote it.
		return Header{}, fmt.Errorf("header %q: its value holds a control character, 0x%02x, at byte %d; no request could carry it", name, value[i], i)
	}
	t, err := content(value, InHeader, templated)
	if err != nil {
		return Header{}, fmt.Errorf("header %q: %w", name, err)
	}
	return Header{Name: name, Value: t}, nil
}

// ValidHeaderName reports whether s is an HTTP header name (an RFC 9110
// token).
func ValidHeaderName(s string) bool {
	for _, r := range s {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", r) {
			return false
		}
	}
	return s != ""
}

// validMethod reports whether s is a method Go's HTTP client sends: a
// token.
func validMethod(s string) bool { return ValidHeaderName(s) }

// parseURL reads a target URL, which may hold placeholders when templated.
// It must be an http or https URL with a host or a port (http://:8080/ is
// this machine); a fragment, never sent, is dropped.
func parseURL(raw string, templated bool) (*Template, error) {
	t, err := content(raw, InURL, templated)
	if err != nil {
		return nil, err
	}
	// A sample rendering stands for every one: placeholders fill values
	// that are escaped, so only the written parts can break the URL.
	sample := t.Render(&Vars{Now: time.Unix(0, 0)})
	u, err := url.Parse(sample)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL: %v", raw, errors.Unwrap(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		if !strings.Contains(raw, "://") {
			return nil, fmt.Errorf("%q has no scheme; want an http:// or https:// URL", raw)
		}
		return nil, fmt.Errorf("%q is not an http or https URL", raw)
	case u.Hostname() == "" && u.Port() == "":
		// http://:8080/ is this machine, as Go and vegeta dial it.
		return nil, fmt.Errorf("%q has no host", raw)
	case u.User != nil:
		// Target names, logs, the summary and reports show URLs.
		return nil, fmt.Errorf("the URL of host %q carries credentials (user:password@), which would show in names, logs and reports; send them in a header or an auth input instead", u.Host)
	}
	if port := u.Port(); port != "" {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > math.MaxUint16 {
			return nil, fmt.Errorf("%q has a bad port %q", raw, port)
		}
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		return content(raw[:i], InURL, templated)
	}
	return t, nil
}

// MaxFile bounds a targets, body or values file.
const MaxFile = 16 << 20

// ReadFile reads a regular file of at most MaxFile bytes: a device or a
// pipe would block or never end.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if info.Size() > MaxFile {
		return nil, fmt.Errorf("%s is %d bytes; the limit is %d", path, info.Size(), MaxFile)
	}
	return io.ReadAll(io.LimitReader(f, MaxFile+1))
}
