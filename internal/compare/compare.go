// Package compare tells whether two answers to the same request differ,
// and where: the status, chosen headers, and the body, JSON field by field
// ($.items[0].id), other bodies byte for byte. Like Twitter's Diffy it
// learns noise: fields that differ between two answers of the baseline to
// the same request (a timestamp, a request id) are ignored for that
// endpoint from then on. A Tally counts what was compared and what
// differed, per endpoint pattern and field, for the summary.
package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/zerodowntime/deploy-load-check/internal/redact"
)

// Defaults and bounds.
const (
	// DefaultMaxBody is how much of a body is compared. Answers longer
	// than this are compared on their first DefaultMaxBody bytes.
	DefaultMaxBody = 1 << 20
	// MaxDifferences is how many differences a Result lists; More counts
	// the rest.
	MaxDifferences = 20
	// MaxNoisePerPattern bounds the noise fields learnt per endpoint
	// pattern, and MaxNoisePatterns the patterns noise is learnt for.
	MaxNoisePerPattern = 50
	MaxNoisePatterns   = 1000
	// maxValue bounds a value as a Difference shows it.
	maxValue = 200
)

// DefaultHeaders are the headers compared unless ignored: the ones that
// change what a client does with the answer. Date, request ids and the
// like differ on every answer and are left out.
var DefaultHeaders = []string{"Content-Type", "Location"}

// Answer is one answer to a request.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
	// Truncated is true when Body holds only the first bytes of a longer
	// body.
	Truncated bool
}

// Read reads an answer, keeping at most maxBody bytes of its body
// (DefaultMaxBody when maxBody is 0). It drains and closes the body.
func Read(resp *http.Response, maxBody int64) (Answer, error) {
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	answer := Answer{Status: resp.StatusCode, Header: resp.Header.Clone(), Body: body}
	if err != nil {
		return answer, err
	}
	if int64(len(body)) > maxBody {
		answer.Body, answer.Truncated = body[:maxBody], true
		// Drain a bounded rest so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4*maxBody))
	}
	return answer, nil
}

// Kind says how a field differs.
type Kind string

// Kinds of difference.
const (
	Changed Kind = "changed"
	Added   Kind = "added"   // in the candidate's answer only
	Removed Kind = "removed" // in the baseline's answer only
)

// Difference is one place where two answers differ.
type Difference struct {
	// Field is "status", "header Content-Type", "body" (a body that is
	// not JSON, or JSON on one side only) or a JSON path: $.items[0].id.
	Field string `json:"field"`
	Kind  Kind   `json:"kind"`
	// Baseline and Candidate show the values, trimmed, with credentials
	// masked; JSON values as JSON. Empty on the side that lacks the
	// field.
	Baseline  string `json:"baseline,omitempty"`
	Candidate string `json:"candidate,omitempty"`
}

// Ignored names a rule that hid a difference.
type Ignored struct {
	Rule   string // a JSON path such as $.meta.request_id, "header Date", "status" or "body"
	Learnt bool   // learnt as noise, rather than listed
	// From says what listed the rule (see Ignore.From); "" when learnt.
	From string
}

// Result is what a comparison found.
type Result struct {
	Differences []Difference // at most MaxDifferences
	More        int          // differences beyond those listed
	Ignored     []Ignored    // rules that hid a difference, each once

	baseline, candidate *Answer
	masker              *redact.Masker
	headers             []string
}

// Differ reports whether the answers differ in anything not ignored.
func (r Result) Differ() bool { return len(r.Differences) > 0 }

// Masked returns the result with the values m knows masked in its
// differences and its sample: m holds the secrets of the requests that
// were answered (a recorded cookie an answer may echo) beside the
// comparer's own. m replaces the comparer's masker for the sample.
func (r Result) Masked(m *redact.Masker) Result {
	if m == nil {
		return r
	}
	r.Differences = slices.Clone(r.Differences)
	for i := range r.Differences {
		d := &r.Differences[i]
		d.Baseline, d.Candidate = m.String(d.Baseline), m.String(d.Candidate)
	}
	r.masker = m
	return r
}

// Ignore is a list of rules that hide differences: JSON paths, and
// headers among those compared. The zero value hides nothing.
type Ignore struct {
	rules []ignoreRule
}

type ignoreRule struct {
	path   path   // nil for a header rule
	header string // canonical
	from   string
}

// ParseIgnore reads a list of JSON paths ($.meta.request_id,
// $.items[*].updated_at) and header names, separated by commas or new
// lines. A path also covers what lies under it. A header must be one of
// compared, the headers the comparer compares (DefaultHeaders unless
// chosen): ignoring another would hide nothing, and an entry that names
// neither, such as "meta.request_id" or "status", is a mistake to report.
func ParseIgnore(list string, compared []string) (Ignore, error) {
	var ig Ignore
	for _, item := range splitList(list) {
		if strings.HasPrefix(item, "$") {
			p, err := parsePath(item)
			if err != nil {
				return Ignore{}, err
			}
			ig.rules = append(ig.rules, ignoreRule{path: p})
			continue
		}
		name := http.CanonicalHeaderKey(item)
		if validHeaderName(item) && slices.Contains(canonical(compared), name) {
			ig.rules = append(ig.rules, ignoreRule{header: name})
			continue
		}
		return Ignore{}, notIgnorable(item, compared)
	}
	return ig, nil
}

// notIgnorable says why an entry of an ignore list is neither a JSON path
// nor a compared header, and what would be.
func notIgnorable(item string, compared []string) error {
	headers := "no header is compared"
	if len(compared) > 0 {
		headers = "a header among those compared (" + strings.Join(canonical(compared), ", ") + ")"
	}
	want := fmt.Sprintf("want a JSON path from the root such as \"$.meta.request_id\", or %s", headers)
	lower := strings.ToLower(item)
	switch {
	case lower == "status" || lower == "body":
		return fmt.Errorf("%q is neither a JSON path nor a compared header; the %s as a whole cannot be ignored, only fields of a JSON body; %s", item, lower, want)
	case !validHeaderName(item) || strings.ContainsAny(item, ".[]"):
		if _, err := parsePath("$." + item); err == nil {
			want = fmt.Sprintf("want a JSON path from the root: %q, or %s", "$."+item, headers)
		}
		return fmt.Errorf("%q is neither a JSON path nor a compared header; %s", item, want)
	}
	return fmt.Errorf("%q is a header that is not compared, so ignoring it would hide nothing; %s", item, want)
}

// IgnoreHeader hides differences in the header called name.
func IgnoreHeader(name string) Ignore {
	return Ignore{rules: []ignoreRule{{header: http.CanonicalHeaderKey(name)}}}
}

// IgnoreField hides differences in a field of a JSON body named by keys
// joined by dots, such as build.version ($.build.version), and in what
// lies under it.
func IgnoreField(dotted string) Ignore {
	p := path{}
	for _, key := range strings.Split(dotted, ".") {
		p = append(p, step{kind: keyStep, key: key})
	}
	return Ignore{rules: []ignoreRule{{path: p}}}
}

// From returns the rules labelled with what listed them, such as the
// input that named them, for the summary's account of what was ignored.
func (ig Ignore) From(source string) Ignore {
	out := Ignore{rules: slices.Clone(ig.rules)}
	for i := range out.rules {
		out.rules[i].from = source
	}
	return out
}

// ParseHeaders reads a list of header names separated by commas or new
// lines: the headers to compare.
func ParseHeaders(list string) ([]string, error) {
	var names []string
	for _, item := range splitList(list) {
		if !validHeaderName(item) || strings.HasPrefix(item, "$") {
			return nil, fmt.Errorf("%q is not a header name; want names such as Content-Type, Location (JSON bodies are compared field by field already)", item)
		}
		if name := http.CanonicalHeaderKey(item); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

func canonical(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n = http.CanonicalHeaderKey(strings.TrimSpace(n)); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// splitList splits on commas and new lines outside ["..."].
func splitList(list string) []string {
	var items []string
	start, quoted := 0, false
	for i := 0; i < len(list); i++ {
		switch c := list[i]; {
		case c == '"' && (i == 0 || list[i-1] != '\\'):
			quoted = !quoted
		case (c == ',' || c == '\n') && !quoted:
			items = append(items, list[start:i])
			start = i + 1
		}
	}
	items = append(items, list[start:])
	out := items[:0]
	for _, item := range items {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func validHeaderName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// Option shapes a Comparer.
type Option func(*Comparer)

// WithIgnore hides the differences in these paths and headers. It may be
// given more than once; the rules add up.
func WithIgnore(ig Ignore) Option {
	return func(c *Comparer) {
		for _, r := range ig.rules {
			if r.path != nil {
				c.ignorePaths = append(c.ignorePaths, r)
			} else {
				c.ignoreHeaders = append(c.ignoreHeaders, r.header)
			}
		}
	}
}

// WithHeaders compares these headers instead of DefaultHeaders; none
// compares only the status and the body.
func WithHeaders(names ...string) Option {
	return func(c *Comparer) {
		c.headers, c.headersChosen = canonical(names), true
	}
}

// WithMaxBody compares at most n bytes of each body.
func WithMaxBody(n int) Option { return func(c *Comparer) { c.maxBody = n } }

// WithOrigins says the baseline answers from baseline's scheme and host
// and the candidate from candidate's (both URLs): a link to the
// candidate's own origin, in a Location header or a JSON string, counts
// as the same as the baseline's link to its own.
func WithOrigins(baseline, candidate string) Option {
	return func(c *Comparer) {
		b, errB := url.Parse(baseline)
		k, errK := url.Parse(candidate)
		if errB == nil && errK == nil && b.Host != "" && k.Host != "" {
			c.baseOrigin, c.candOrigin = b.Scheme+"://"+b.Host, k.Scheme+"://"+k.Host
		}
	}
}

// WithMasker masks these secret values in differences and samples, beside
// credential-named headers and JSON keys, which are always masked.
func WithMasker(m *redact.Masker) Option { return func(c *Comparer) { c.masker = m } }

// Comparer compares answers and learns noise per endpoint pattern. It is
// safe for concurrent use.
type Comparer struct {
	headers       []string
	headersChosen bool
	ignorePaths   []ignoreRule // paths
	ignoreHeaders []string
	maxBody       int
	baseOrigin    string
	candOrigin    string
	masker        *redact.Masker

	mu    sync.RWMutex
	noise map[string][]rule // per endpoint pattern
}

// rule is a learnt noise field.
type rule struct {
	text   string // as the summary shows it
	header string // canonical, for a header rule
	path   path   // for a JSON path rule
	whole  string // "status" or "body"
}

// New returns a comparer.
func New(opts ...Option) *Comparer {
	c := &Comparer{maxBody: DefaultMaxBody}
	for _, o := range opts {
		o(c)
	}
	if !c.headersChosen {
		c.headers = DefaultHeaders
	}
	var headers []string
	for _, h := range c.headers {
		if !slices.Contains(headers, h) && !slices.Contains(c.ignoreHeaders, h) {
			headers = append(headers, h)
		}
	}
	c.headers = headers
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBody
	}
	return c
}

// Learn records as noise for pattern every field in which two answers of
// the baseline to the same request differ, and returns the fields newly
// learnt. An index in a path stands for every element ($.items[*].at).
// Answers with different statuses teach nothing: the baseline failed once,
// which says nothing about its fields.
func (c *Comparer) Learn(pattern string, first, second Answer) []string {
	if first.Status != second.Status {
		return nil
	}
	var found []rule
	c.diff(&first, &second, func(d diffAt) bool {
		r := rule{whole: d.whole, header: d.header}
		switch {
		case d.header != "":
			r.text = "header " + d.header
		case d.whole != "":
			r.text = d.whole
		default:
			r.path = d.path.general()
			r.text = r.path.String()
		}
		if !slices.ContainsFunc(found, func(f rule) bool { return f.text == r.text }) {
			found = append(found, r)
		}
		return len(found) < MaxNoisePerPattern
	})
	if len(found) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	known, ok := c.noise[pattern]
	if !ok && len(c.noise) >= MaxNoisePatterns {
		return nil
	}
	var learnt []string
	for _, r := range found {
		if len(known) >= MaxNoisePerPattern {
			break
		}
		if !slices.ContainsFunc(known, func(k rule) bool { return k.text == r.text }) {
			// A copy: readers hold the old slice without the lock.
			known = append(known[:len(known):len(known)], r)
			learnt = append(learnt, r.text)
		}
	}
	if c.noise == nil {
		c.noise = make(map[string][]rule)
	}
	c.noise[pattern] = known
	return learnt
}

// Noise returns the noise learnt for pattern.
func (c *Comparer) Noise(pattern string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for _, r := range c.noise[pattern] {
		out = append(out, r.text)
	}
	return out
}

// Check learns noise from the baseline's two answers to a request, then
// compares the first with the candidate's: Diffy's primary, secondary and
// candidate.
func (c *Comparer) Check(pattern string, baseline, baselineAgain, candidate Answer) Result {
	c.Learn(pattern, baseline, baselineAgain)
	return c.Compare(pattern, baseline, candidate)
}

// Compare compares the baseline's answer with the candidate's, hiding the
// ignored headers and paths and the noise learnt for pattern.
func (c *Comparer) Compare(pattern string, baseline, candidate Answer) Result {
	c.mu.RLock()
	noise := c.noise[pattern]
	c.mu.RUnlock()
	res := Result{baseline: &baseline, candidate: &candidate, masker: c.masker, headers: c.headers}
	ignored := func(rule string, learnt bool, from string) {
		i := Ignored{Rule: rule, Learnt: learnt, From: from}
		if !slices.Contains(res.Ignored, i) {
			res.Ignored = append(res.Ignored, i)
		}
	}
	c.diff(&baseline, &candidate, func(d diffAt) bool {
		for _, r := range c.ignorePaths {
			if d.path != nil && r.path.covers(d.path) {
				ignored(r.path.String(), false, r.from)
				return true
			}
		}
		for _, r := range noise {
			if d.whole != "" && r.whole == d.whole || d.header != "" && r.header == d.header || d.path != nil && r.path != nil && r.path.covers(d.path) {
				ignored(r.text, true, "")
				return true
			}
		}
		if len(res.Differences) == MaxDifferences {
			res.More++
			return true
		}
		res.Differences = append(res.Differences, c.difference(d, &baseline, &candidate))
		return true
	})
	return res
}

// diffAt is a difference as found, before it is shown.
type diffAt struct {
	whole        string // "status" or "body"
	header       string
	path         path // nil unless in a JSON body
	kind         Kind
	base, cand   any // JSON values, for a path
	baseT, candT string
}

// diff calls found for each difference until it returns false.
func (c *Comparer) diff(base, cand *Answer, found func(diffAt) bool) {
	if base.Status != cand.Status {
		if !found(diffAt{whole: "status", kind: Changed, baseT: strconv.Itoa(base.Status), candT: strconv.Itoa(cand.Status)}) {
			return
		}
	}
	for _, name := range c.headers {
		b, k := base.Header.Values(name), cand.Header.Values(name)
		if c.sameHeader(name, b, k) {
			continue
		}
		d := diffAt{header: name, kind: Changed, baseT: strings.Join(b, ", "), candT: strings.Join(k, ", ")}
		switch {
		case len(b) == 0:
			d.kind = Added
		case len(k) == 0:
			d.kind = Removed
		}
		if !found(d) {
			return
		}
	}
	baseBody, candBody := c.clip(base.Body), c.clip(cand.Body)
	if bytes.Equal(baseBody, candBody) {
		return
	}
	if bv, ok := c.decode(base, baseBody); ok {
		if cv, ok := c.decode(cand, candBody); ok {
			w := walker{c: c, found: found}
			w.walk(path{}, bv, cv)
			return
		}
	}
	if c.sameText(string(baseBody), string(candBody)) {
		return
	}
	found(diffAt{whole: "body", kind: Changed, baseT: describeBody(baseBody), candT: describeBody(candBody)})
}

func (c *Comparer) clip(body []byte) []byte {
	if len(body) > c.maxBody {
		return body[:c.maxBody]
	}
	return body
}

// decode reads a JSON body: one labelled JSON, or one that looks like it.
// A truncated body is not decoded; its bytes are compared.
func (c *Comparer) decode(a *Answer, body []byte) (any, bool) {
	if a.Truncated || len(body) < len(a.Body) {
		return nil, false
	}
	trimmed := bytes.TrimSpace(body)
	if !jsonType(a.Header.Get("Content-Type")) && (len(trimmed) == 0 || trimmed[0] != '{' && trimmed[0] != '[') {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false // more than one value
	}
	return v, true
}

func jsonType(contentType string) bool {
	media, _, err := mime.ParseMediaType(contentType)
	return err == nil && (media == "application/json" || strings.HasSuffix(media, "+json"))
}

// sameHeader compares header values as a client reads them: media types
// by type and parameters, URLs with the two origins taken as one.
func (c *Comparer) sameHeader(name string, b, k []string) bool {
	if slices.Equal(b, k) {
		return true
	}
	if len(b) != 1 || len(k) != 1 {
		return false
	}
	switch name {
	case "Content-Type":
		bt, bp, errB := mime.ParseMediaType(b[0])
		kt, kp, errK := mime.ParseMediaType(k[0])
		if errB != nil || errK != nil || bt != kt || len(bp) != len(kp) {
			return false
		}
		for key, v := range bp {
			if !strings.EqualFold(kp[key], v) {
				return false
			}
		}
		return true
	}
	return c.sameText(b[0], k[0])
}

// sameText reports whether two strings are equal once the candidate's
// origin reads as the baseline's.
func (c *Comparer) sameText(b, k string) bool {
	if b == k {
		return true
	}
	return c.candOrigin != "" && strings.Contains(k, c.candOrigin) && strings.ReplaceAll(k, c.candOrigin, c.baseOrigin) == b
}

// walker compares two decoded JSON values.
type walker struct {
	c       *Comparer
	found   func(diffAt) bool
	stopped bool
}

func (w *walker) report(d diffAt) {
	if !w.stopped && !w.found(d) {
		w.stopped = true
	}
}

func (w *walker) walk(at path, b, k any) {
	if w.stopped {
		return
	}
	switch bv := b.(type) {
	case map[string]any:
		kv, ok := k.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(bv)+len(kv))
		for key := range bv {
			keys = append(keys, key)
		}
		for key := range kv {
			if _, both := bv[key]; !both {
				keys = append(keys, key)
			}
		}
		slices.Sort(keys)
		for _, key := range keys {
			next := append(at[:len(at):len(at)], step{kind: keyStep, key: key})
			bx, inB := bv[key]
			kx, inK := kv[key]
			switch {
			case !inK:
				w.report(diffAt{path: next, kind: Removed, base: bx})
			case !inB:
				w.report(diffAt{path: next, kind: Added, cand: kx})
			default:
				w.walk(next, bx, kx)
			}
		}
		return
	case []any:
		kv, ok := k.([]any)
		if !ok {
			break
		}
		for i := range max(len(bv), len(kv)) {
			next := append(at[:len(at):len(at)], step{kind: indexStep, index: i})
			switch {
			case i >= len(kv):
				w.report(diffAt{path: next, kind: Removed, base: bv[i]})
			case i >= len(bv):
				w.report(diffAt{path: next, kind: Added, cand: kv[i]})
			default:
				w.walk(next, bv[i], kv[i])
			}
		}
		return
	case json.Number:
		if kv, ok := k.(json.Number); ok && sameNumber(bv, kv) {
			return
		}
	case string:
		if kv, ok := k.(string); ok && w.c.sameText(bv, kv) {
			return
		}
	default: // bool, nil
		if b == k {
			return
		}
	}
	w.report(diffAt{path: slices.Clip(at), kind: Changed, base: b, cand: k})
}

// sameNumber compares JSON numbers by value: 1, 1.0 and 1e0 are one
// number, and integers beyond 2^53 keep every digit.
func sameNumber(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, okX := new(big.Rat).SetString(string(a))
	y, okY := new(big.Rat).SetString(string(b))
	return okX && okY && x.Cmp(y) == 0
}

// difference shows a difference with its values trimmed and masked.
func (c *Comparer) difference(d diffAt, base, cand *Answer) Difference {
	out := Difference{Kind: d.kind}
	switch {
	case d.whole != "":
		out.Field, out.Baseline, out.Candidate = d.whole, d.baseT, d.candT
	case d.header != "":
		out.Field = "header " + d.header
		if redact.Secret(d.header) {
			d.baseT, d.candT = maskIfSet(d.baseT), maskIfSet(d.candT)
		}
		out.Baseline, out.Candidate = d.baseT, d.candT
	default:
		out.Field = d.path.String()
		secret := false
		for _, s := range d.path {
			secret = secret || s.kind == keyStep && redact.Secret(s.key)
		}
		if d.kind != Added {
			out.Baseline = showValue(d.base, secret)
		}
		if d.kind != Removed {
			out.Candidate = showValue(d.cand, secret)
		}
	}
	out.Baseline, out.Candidate = c.masker.Inline(out.Baseline), c.masker.Inline(out.Candidate)
	return out
}

func maskIfSet(s string) string {
	if s == "" {
		return ""
	}
	return redact.Mask
}

// showValue writes a JSON value compactly, trimmed, with credential-named
// keys masked.
func showValue(v any, secret bool) string {
	if secret {
		return redact.Mask
	}
	b, err := marshal(maskJSON(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return trim(b, maxValue)
}

// marshal writes v as compact JSON, leaving <, > and & as they are.
func marshal(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// maskJSON returns v with the values of credential-named keys masked.
func maskJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if redact.Secret(k) {
				out[k] = redact.Mask
			} else {
				out[k] = maskJSON(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskJSON(e)
		}
		return out
	}
	return v
}

// describeBody shows a body that is not JSON: its text, trimmed, or its
// size when it is binary.
func describeBody(b []byte) string {
	switch {
	case len(b) == 0:
		return "(empty)"
	case utf8.Valid(b):
		return strconv.Quote(trim(string(b), maxValue))
	}
	return fmt.Sprintf("(%d bytes of binary)", len(b))
}

// trim cuts s to at most n bytes on a character boundary, marking the cut.
func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
