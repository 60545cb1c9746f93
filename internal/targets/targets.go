// Package targets reads the requests of the load (one-line targets,
// vegeta's HTTP and JSON target formats) and builds each request at send
// time: templates filled, global headers added, the request signed.
package targets

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Spec is one request of the mix as written.
type Spec struct {
	Name    string
	Method  string
	URL     *Template
	Header  []Header
	Body    *Template // nil: no body
	Weight  int       // 0 counts as 1
	Timeout time.Duration
	Where   string // "line 3" or "targets.http line 3", for messages
}

// Header is one header line; its value may hold placeholders.
type Header struct {
	Name  string
	Value *Template
}

// Methods a target may use.
var Methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodTrace,
}

// ParseHTTP reads targets in vegeta's HTTP format, which the targets input
// uses too:
//
//	# @name search
//	# @weight 60
//	# @timeout 2s
//	POST https://staging.example.com/v1/search?q={{pick cats,dogs}}
//	Content-Type: application/json
//	@body.json
//
// A target starts with METHOD URL (or a bare http(s) URL, for GET); the
// lines after it, up to a blank line or the next target, are headers and an
// optional @file body. Lines starting with # are comments, except the
// @name, @weight and @timeout annotations, which apply to the next target
// (vegeta ignores them). file names the source in messages ("" for the
// targets input).
func ParseHTTP(text, file string) ([]Spec, error) {
	var (
		specs   []Spec
		current *Spec
		pending Spec // annotations for the next target
	)
	where := func(n int) string {
		if file == "" {
			return fmt.Sprintf("line %d", n)
		}
		return fmt.Sprintf("%s line %d", file, n)
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			current = nil
		case strings.HasPrefix(line, "#"):
			if err := annotate(&pending, strings.TrimSpace(line[1:])); err != nil {
				return nil, fmt.Errorf("%s: %q: %w", where(n), line, err)
			}
		case startsTarget(line):
			spec, err := parseRequestLine(line)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where(n), err)
			}
			spec.Name, spec.Weight, spec.Timeout, spec.Where = pending.Name, pending.Weight, pending.Timeout, where(n)
			pending = Spec{}
			specs = append(specs, spec)
			current = &specs[len(specs)-1]
		case current == nil:
			return nil, fmt.Errorf("%s: %q: want METHOD URL, such as \"GET https://staging.example.com/health\"", where(n), line)
		case strings.HasPrefix(line, "@"):
			body, err := ReadFile(line[1:])
			if err != nil {
				return nil, fmt.Errorf("%s: body %q: %w", where(n), line[1:], err)
			}
			if current.Body, err = Parse(string(body), InBody); err != nil {
				return nil, fmt.Errorf("%s: body %q: %w", where(n), line[1:], err)
			}
		default:
			h, err := ParseHeader(line)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where(n), err)
			}
			current.Header = append(current.Header, h)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return specs, nil
}

// startsTarget reports whether a line begins a target: METHOD URL, or a
// bare http(s) URL.
func startsTarget(line string) bool {
	if strings.HasPrefix(line, "http://") || strings.HasPrefix(line, "https://") {
		return true
	}
	word, _, ok := strings.Cut(line, " ")
	if !ok || word == "" {
		return false
	}
	for _, r := range word {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

func parseRequestLine(line string) (Spec, error) {
	method, rawURL := http.MethodGet, line
	if !strings.HasPrefix(line, "http://") && !strings.HasPrefix(line, "https://") {
		method, rawURL, _ = strings.Cut(line, " ")
		rawURL = strings.TrimSpace(rawURL)
	}
	if outsidePlaceholders(rawURL, strings.ContainsAny, " \t") {
		return Spec{}, fmt.Errorf("%q: want METHOD URL, such as \"GET https://staging.example.com/health\"", line)
	}
	if !slices.Contains(Methods, method) {
		return Spec{}, fmt.Errorf("%q: unknown method %q; want one of %s", line, method, strings.Join(Methods, ", "))
	}
	u, err := ParseURL(rawURL)
	if err != nil {
		return Spec{}, err
	}
	return Spec{Method: method, URL: u}, nil
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

// annotate reads a "@name value" comment into spec; other comments are
// left alone.
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
	}
	return nil
}

func parseWeight(s string) (int, error) {
	w, err := strconv.Atoi(s)
	if err != nil || w < 1 || w > 1_000_000 {
		return 0, fmt.Errorf("weight %q: want a whole number from 1 to 1000000", s)
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

// ParseHeader reads "Name: value".
func ParseHeader(line string) (Header, error) {
	name, value, ok := strings.Cut(line, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || !ValidHeaderName(name) {
		return Header{}, fmt.Errorf("%q is not a header; want Name: value", line)
	}
	t, err := Parse(value, InHeader)
	if err != nil {
		return Header{}, err
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

// ParseURL reads a target URL, which may hold placeholders. It must be an
// http or https URL with a host; a fragment, never sent, is dropped.
func ParseURL(raw string) (*Template, error) {
	t, err := Parse(raw, InURL)
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
	case u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", raw)
	case u.User != nil:
		// Credentials in a URL end up in names, logs and reports.
		return nil, fmt.Errorf("the URL of host %q carries credentials (user:password@); send them in a header or an auth input instead", u.Host)
	}
	if port := u.Port(); port != "" {
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > math.MaxUint16 {
			return nil, fmt.Errorf("%q has a bad port %q", raw, port)
		}
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		return Parse(raw[:i], InURL)
	}
	return t, nil
}

// jsonTarget is one line of vegeta's JSON target format, with this tool's
// name, weight and timeout beside vegeta's fields.
type jsonTarget struct {
	Method  string              `json:"method"`
	URL     string              `json:"url"`
	Header  map[string][]string `json:"header"`
	Body    []byte              `json:"body"`
	Name    string              `json:"name"`
	Weight  *int                `json:"weight"`
	Timeout string              `json:"timeout"`
}

// ParseJSONLines reads vegeta's JSON target format: one object a line with
// method, url, header (name to list of values) and body (base64), plus the
// optional name, weight and timeout this tool reads.
func ParseJSONLines(text, file string) ([]Spec, error) {
	var specs []Spec
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		where := fmt.Sprintf("%s line %d", file, n)
		var jt jsonTarget
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&jt); err != nil {
			return nil, fmt.Errorf("%s: not a JSON target: %v", where, err)
		}
		method := jt.Method
		if method == "" {
			method = http.MethodGet
		}
		if !slices.Contains(Methods, method) {
			return nil, fmt.Errorf("%s: unknown method %q; want one of %s", where, jt.Method, strings.Join(Methods, ", "))
		}
		u, err := ParseURL(jt.URL)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		spec := Spec{Name: jt.Name, Method: method, URL: u, Where: where}
		for _, name := range sortedKeys(jt.Header) {
			for _, v := range jt.Header[name] {
				h, err := ParseHeader(name + ": " + v)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
				spec.Header = append(spec.Header, h)
			}
		}
		if len(jt.Body) > 0 {
			if spec.Body, err = Parse(string(jt.Body), InBody); err != nil {
				return nil, fmt.Errorf("%s: body: %w", where, err)
			}
		}
		if jt.Weight != nil {
			if spec.Weight, err = parseWeight(strconv.Itoa(*jt.Weight)); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
		if jt.Timeout != "" {
			if spec.Timeout, err = parseTimeout(jt.Timeout); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
		specs = append(specs, spec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return specs, nil
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
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

// ParseFile reads a targets file: JSON lines when its first non-blank
// character is {, vegeta's HTTP format otherwise.
func ParseFile(path string) ([]Spec, error) {
	raw, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := string(raw)
	if strings.HasPrefix(strings.TrimSpace(text), "{") {
		return ParseJSONLines(text, path)
	}
	return ParseHTTP(text, path)
}

// Name gives each spec without a name "METHOD /path"; where two would
// share a name, both take the full URL. Names must be unique.
func Name(specs []Spec) error {
	short := func(s Spec) string {
		raw := s.URL.String()
		if u, err := url.Parse(raw); err == nil && !strings.Contains(raw, "{{") {
			return s.Method + " " + u.RequestURI()
		}
		// A templated URL: keep what follows the host as written.
		if i := strings.Index(raw, "://"); i >= 0 {
			if j := strings.IndexByte(raw[i+3:], '/'); j >= 0 {
				return s.Method + " " + raw[i+3+j:]
			}
		}
		return s.Method + " /"
	}
	count := map[string]int{}
	for _, s := range specs {
		if s.Name == "" {
			count[short(s)]++
		}
	}
	seen := map[string]string{}
	for i, s := range specs {
		if s.Name == "" {
			if name := short(s); count[name] == 1 {
				specs[i].Name = name
			} else {
				specs[i].Name = s.Method + " " + s.URL.String()
			}
		}
		if first, dup := seen[specs[i].Name]; dup {
			return fmt.Errorf("%s: %q: the name %q is taken by %s; give each target its own name (# @name ...)", s.Where, s.URL.String(), specs[i].Name, first)
		}
		seen[specs[i].Name] = s.Where
	}
	return nil
}
