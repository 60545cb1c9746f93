// Package replay sends recorded traffic: it streams an access log (nginx or
// Apache, combined or common format), JSON lines or a HAR file, in bounded
// memory whatever the file's size, maps each entry to a request on the
// staging base URL, and starts the file again when the run outlasts it.
// Requests with side effects are skipped unless their method is allowed,
// credentials and cookies are dropped unless asked for, and lines that do
// not parse are counted and sampled rather than stopping the run.
package replay

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/redact"
	"github.com/zerodowntime/deploy-load-check/internal/targets"
)

// Format is a replay file's format.
type Format string

// Formats a replay file may have.
const (
	// Detect picks the format from the file's first bytes: JSON whose
	// first key is "log" is HAR, other JSON is JSON lines, anything else
	// an access log.
	Detect Format = ""
	// AccessLog is nginx's or Apache's combined log format, or the common
	// format (without referer and user agent). Fields after the user
	// agent are ignored.
	AccessLog Format = "access-log"
	// JSONLines is one JSON object a line; see the keys in jsonlines.go.
	JSONLines Format = "jsonl"
	// HAR is an HTTP Archive 1.2 file, as browsers export it.
	HAR Format = "har"
)

// Formats lists the formats by name, for messages.
var Formats = []Format{AccessLog, JSONLines, HAR}

// ParseFormat reads a format name; empty means Detect. "combined",
// "common", "nginx", "apache" and "json" are accepted too.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto", "detect":
		return Detect, nil
	case "access-log", "combined", "common", "nginx", "apache", "clf":
		return AccessLog, nil
	case "jsonl", "json", "json-lines", "ndjson":
		return JSONLines, nil
	case "har":
		return HAR, nil
	}
	return "", fmt.Errorf("%q is not a replay format; want access-log, jsonl or har (or empty to detect it)", s)
}

// Defaults.
var (
	// DefaultMethods are the methods replayed unless others are listed:
	// those without side effects.
	DefaultMethods = []string{http.MethodGet, http.MethodHead}
	// DefaultHeaders are the recorded headers sent again: those that
	// change what an API answers, and nothing that identifies a user.
	// Accept-Encoding is left out on purpose: the client asks for gzip
	// itself and then hands over the decoded body, which answers must be
	// compared on. Referer is left out because referers carry tokens in
	// their query strings.
	DefaultHeaders = []string{"Accept", "Accept-Language", "Content-Type", "Content-Language", "User-Agent", "X-Requested-With"}
)

// Limits that keep memory flat.
const (
	// MaxLine bounds one line of an access log or JSON lines file; a
	// longer line is skipped and counted as bad.
	MaxLine = 1 << 20
	// MaxBadSamples is how many bad lines are kept, with their reason.
	MaxBadSamples = 5
	// maxQuoted bounds a bad line as quoted in samples and messages.
	maxQuoted = 120
)

// Request is one recorded request, mapped onto the base URL.
type Request struct {
	Method string
	URL    string      // the base URL's scheme and host, the recorded path and query
	Header http.Header // only the kept headers; nil when none
	Body   []byte
	// Offset is how long after the file's first timed entry this one was
	// recorded, for replaying at the recorded pace; Timed is false when
	// the entry has no time, and then the rate paces it. Offset is
	// negative for an entry logged out of order before the first.
	Offset time.Duration
	Timed  bool
	// Cycle counts the times the file was read to its end before this
	// request: 0 on the first pass.
	Cycle int
	// Line is the request's line in the file, or its entry number
	// (from 1) in a HAR file.
	Line int
}

// BadLine is a line (or HAR entry) that could not be read as a request.
type BadLine struct {
	Line   int
	Text   string // trimmed, credential-looking values masked
	Reason string
}

// Stats say what the reader has read so far. Requests and Cycles count
// every pass over the file; Skipped, OtherHost, Bad and BadSamples count
// the first pass only, since each later pass reads the same lines again.
type Stats struct {
	Format   Format
	Requests uint64            // handed out
	Cycles   int               // times the file was read to its end and started again
	Skipped  map[string]uint64 // entries whose method is not allowed, by method
	// OtherHost counts entries with an absolute URL on a host not
	// listed with WithHosts.
	OtherHost uint64
	Bad       uint64
	// BadSamples are the first MaxBadSamples bad lines.
	BadSamples []BadLine
}

// Option shapes a Reader.
type Option func(*Reader)

// WithFormat sets the file's format instead of detecting it.
func WithFormat(f Format) Option { return func(r *Reader) { r.format = f } }

// WithMethods sets the methods replayed (DefaultMethods when not given);
// entries with other methods are skipped and counted.
func WithMethods(methods ...string) Option {
	return func(r *Reader) {
		r.methods = make(map[string]bool, len(methods))
		for _, m := range methods {
			r.methods[strings.ToUpper(strings.TrimSpace(m))] = true
		}
	}
}

// WithHeaders adds recorded headers to send again, beside DefaultHeaders.
// A header named like a credential (Authorization, Cookie, X-Api-Key; see
// redact.Secret) is kept when named here: naming it is asking for it.
// Credential query parameters are still dropped (see WithCredentials).
func WithHeaders(names ...string) Option {
	return func(r *Reader) {
		for _, n := range names {
			r.keep[http.CanonicalHeaderKey(strings.TrimSpace(n))] = true
		}
	}
}

// WithCredentials keeps the recorded credentials and cookies, which are
// dropped otherwise (a production token has no business on staging):
// headers named like credentials (Authorization, Proxy-Authorization,
// Cookie, X-Api-Key, X-Auth-*, ...; see redact.Secret) and query
// parameters named so (api_key, access_token, X-Amz-Signature, ...).
func WithCredentials() Option { return func(r *Reader) { r.credentials = true } }

// WithHosts replays only the absolute URLs recorded on these hosts
// (a HAR from a browser also holds its CDN's and analytics' requests);
// entries with a bare path are always replayed.
func WithHosts(hosts ...string) Option {
	return func(r *Reader) {
		r.hosts = make(map[string]bool, len(hosts))
		for _, h := range hosts {
			r.hosts[strings.ToLower(strings.TrimSpace(h))] = true
		}
	}
}

// Once stops at the end of the file (Next returns io.EOF) instead of
// starting it again.
func Once() Option { return func(r *Reader) { r.once = true } }

// Reader hands out the file's requests in order, from any number of
// goroutines at once, reading the file as they are asked for.
type Reader struct {
	name        string
	file        io.ReadSeeker
	closer      io.Closer
	base        *url.URL
	format      Format
	methods     map[string]bool
	keep        map[string]bool
	credentials bool
	hosts       map[string]bool
	once        bool
	gzipped     bool
	source      *watched // the file's bytes, after gzip

	mu      sync.Mutex
	dec     decoder
	pending *Request // the first request, read by Open to vouch for the file
	done    bool     // Once, and the end was reached
	parsed  uint64   // entries read as requests, allowed or not
	perPass uint64   // requests handed out on this pass
	first   time.Time
	stats   Stats
}

// hopByHop are headers the client sets itself; replaying them would
// break the request.
var hopByHop = []string{"Host", "Content-Length", "Connection", "Transfer-Encoding", "Keep-Alive", "Upgrade", "Te", "Trailer", "Proxy-Connection"}

// replayable says why a recorded header cannot be sent again, if it
// cannot.
func replayable(name string) error {
	switch {
	case slices.Contains(hopByHop, name):
		return fmt.Errorf("header %q cannot be replayed: the client sets it", name)
	case name == "Accept-Encoding":
		return fmt.Errorf("header %q cannot be replayed: the client asks for gzip itself and hands over decoded bodies, which answers are compared on", name)
	}
	return nil
}

// ParseHeaders reads a list of recorded header names to send again,
// separated by commas, spaces or new lines, for WithHeaders.
func ParseHeaders(list string) ([]string, error) {
	var names []string
	for _, item := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
		if !targets.ValidHeaderName(item) {
			return nil, fmt.Errorf("%q is not a header name; want names such as Authorization, X-Tenant", item)
		}
		name := http.CanonicalHeaderKey(item)
		if err := replayable(name); err != nil {
			return nil, err
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// Open reads the replay file at path, whose requests go to base (its
// scheme and host, and its path as a prefix). It reads as far as the first
// request it can send, so a file in which nothing parses, or in which no
// request has an allowed method, fails here, before any load is sent.
// Close it when done.
func Open(path string, base *url.URL, opts ...Option) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file; a replay file is read again from its start when the run outlasts it", path)
	}
	r, err := New(f, path, base, opts...)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// New is Open for a file already open; name names it in messages.
func New(file io.ReadSeeker, name string, base *url.URL, opts ...Option) (*Reader, error) {
	if base == nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("replay base URL %q: want an http:// or https:// URL with a host", base.String())
	}
	r := &Reader{name: name, file: file, base: base, keep: map[string]bool{}}
	WithMethods(DefaultMethods...)(r)
	WithHeaders(DefaultHeaders...)(r)
	for _, o := range opts {
		o(r)
	}
	if !slices.Contains(append(Formats, Detect), r.format) {
		return nil, fmt.Errorf("%q is not a replay format; want access-log, jsonl or har", r.format)
	}
	for name := range r.keep {
		if err := replayable(name); err != nil {
			return nil, err
		}
	}
	if len(r.methods) == 0 {
		return nil, errors.New("no methods to replay; want a list such as GET,HEAD")
	}
	if err := r.rewind(); err != nil {
		return nil, err
	}
	r.stats.Format = r.format
	first := &Request{}
	if err := r.read(first); err != nil {
		if errors.Is(err, io.EOF) {
			err = r.empty()
		}
		return nil, err
	}
	r.pending = first
	return r, nil
}

// Close closes the file Open opened.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Format returns the file's format, detected or given.
func (r *Reader) Format() Format { return r.format }

// Next fills req with the next request. At the end of the file it starts
// again from the top, unless Once was given: then it returns io.EOF. It is
// safe to call from many goroutines; each request is handed out once.
func (r *Reader) Next(req *Request) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending != nil {
		*req = *r.pending
		r.pending = nil
		return nil
	}
	if r.done {
		return io.EOF
	}
	return r.read(req)
}

// Targeter hands out the requests as vegeta targets. At the end of a file
// read Once it returns vegeta.ErrNoTargets.
func (r *Reader) Targeter() vegeta.Targeter {
	return func(t *vegeta.Target) error {
		var req Request
		if err := r.Next(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return vegeta.ErrNoTargets
			}
			return err
		}
		t.Method, t.URL, t.Header, t.Body = req.Method, req.URL, req.Header, req.Body
		return nil
	}
}

// Stats returns what has been read so far.
func (r *Reader) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Skipped = make(map[string]uint64, len(r.stats.Skipped))
	for m, n := range r.stats.Skipped {
		s.Skipped[m] = n
	}
	s.BadSamples = slices.Clone(r.stats.BadSamples)
	return s
}

// read reads entries until one makes a request; r.mu is held.
func (r *Reader) read(req *Request) error {
	var e entry
	for {
		e.reset()
		err := r.dec.next(&e)
		if r.source != nil && r.source.err != nil {
			// The decoders may take a broken read for a broken line, or
			// for the end: the file is what failed.
			return r.readError(r.source.err)
		}
		var bad *badEntry
		switch {
		case err == nil:
			if r.request(&e, req) {
				r.perPass++
				r.stats.Requests++
				return nil
			}
		case errors.As(err, &bad):
			r.badLine(bad)
		case errors.Is(err, io.EOF):
			if r.once || r.perPass == 0 {
				// A pass without a request means the file was emptied
				// or changed since Open: starting again would spin.
				r.done = true
				return io.EOF
			}
			if err := r.rewind(); err != nil {
				return err
			}
			r.stats.Cycles++
			r.perPass = 0
		default:
			return r.readError(err)
		}
	}
}

// readError says what broke the reading of the file; a gzip stream that
// breaks off is a truncated file, not a bad line.
func (r *Reader) readError(err error) error {
	if r.gzipped {
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%s: the gzip data ends early, so the file is truncated (%w); copy it again whole, or give the plain file", r.name, err)
		case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.As(err, new(flate.CorruptInputError)):
			return fmt.Errorf("%s: the gzip data is corrupt (%w); copy it again whole, or give the plain file", r.name, err)
		}
	}
	return fmt.Errorf("%s: %w", r.name, err)
}

// request maps an entry to a request, or counts why it is not sent.
func (r *Reader) request(e *entry, req *Request) bool {
	if !validMethod(e.method) {
		r.badLine(&badEntry{line: e.line, text: string(e.raw), reason: fmt.Sprintf("method %q is not an HTTP method", e.method)})
		return false
	}
	requestURI, host, err := target(e.target)
	if err != nil {
		r.badLine(&badEntry{line: e.line, text: string(e.raw), reason: err.Error()})
		return false
	}
	if !r.credentials {
		requestURI = dropSecretParams(requestURI)
	}
	full := r.base.Scheme + "://" + r.base.Host + strings.TrimSuffix(r.base.EscapedPath(), "/") + requestURI
	if _, err := url.ParseRequestURI(full); err != nil {
		r.badLine(&badEntry{line: e.line, text: string(e.raw), reason: fmt.Sprintf("%q is not a URL path", trim(requestURI))})
		return false
	}
	r.parsed++
	if host != "" && r.hosts != nil && !r.hosts[strings.ToLower(host)] {
		if r.stats.Cycles == 0 {
			r.stats.OtherHost++
		}
		return false
	}
	if !r.methods[e.method] {
		if r.stats.Cycles > 0 {
			return false // counted on the first pass
		}
		if r.stats.Skipped == nil {
			r.stats.Skipped = map[string]uint64{}
		}
		r.stats.Skipped[e.method]++
		return false
	}
	*req = Request{Method: e.method, URL: full, Header: r.header(e.header), Body: e.body, Cycle: r.stats.Cycles, Line: e.line}
	if !e.at.IsZero() {
		if r.first.IsZero() {
			r.first = e.at
		}
		req.Offset, req.Timed = e.at.Sub(r.first), true
	}
	return true
}

// header keeps the headers worth sending again: those named, and the
// credentials when they are all kept.
func (r *Reader) header(recorded http.Header) http.Header {
	var kept http.Header
	for name, values := range recorded {
		canonical := http.CanonicalHeaderKey(name)
		if !r.keep[canonical] && !(r.credentials && redact.Secret(name)) || len(values) == 0 {
			continue
		}
		if kept == nil {
			kept = make(http.Header, 4)
		}
		kept[canonical] = append(kept[canonical], values...)
	}
	return kept
}

// target splits a recorded request target into the path and query sent
// (an absolute URL keeps only those) and the recorded host, if any.
func target(raw string) (requestURI, host string, err error) {
	if raw == "" {
		return "", "", errors.New("no path")
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	if strings.ContainsFunc(raw, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return "", "", fmt.Errorf("%q holds spaces or control characters", trim(raw))
	}
	if raw[0] == '/' {
		return raw, "", nil
	}
	scheme, _, _ := strings.Cut(raw, "://")
	if s := strings.ToLower(scheme); s != "http" && s != "https" {
		return "", "", fmt.Errorf("%q is neither a path nor an http(s) URL", trim(raw))
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", "", fmt.Errorf("%q is not a URL", trim(raw))
	}
	uri := u.EscapedPath()
	if uri == "" {
		uri = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		uri += "?" + u.RawQuery
	}
	return uri, u.Hostname(), nil
}

// dropSecretParams removes query parameters named like credentials
// (api_key, access_token, X-Amz-Signature, ...), keeping the others as
// written and in order.
func dropSecretParams(requestURI string) string {
	path, query, ok := strings.Cut(requestURI, "?")
	if !ok || query == "" {
		return requestURI
	}
	params := strings.Split(query, "&")
	kept := params[:0]
	for _, p := range params {
		name, _, _ := strings.Cut(p, "=")
		if unescaped, err := url.QueryUnescape(name); err == nil {
			name = unescaped
		}
		if !redact.Secret(name) {
			kept = append(kept, p)
		}
	}
	if len(kept) == len(params) {
		return requestURI
	}
	if len(kept) == 0 {
		return path
	}
	return path + "?" + strings.Join(kept, "&")
}

// validMethod reports whether m is a method token of capital letters.
func validMethod(m string) bool {
	if m == "" || len(m) > 20 {
		return false
	}
	for i := 0; i < len(m); i++ {
		if m[i] < 'A' || m[i] > 'Z' {
			return false
		}
	}
	return true
}

func (r *Reader) badLine(b *badEntry) {
	if r.stats.Cycles > 0 {
		return // counted and sampled on the first pass
	}
	r.stats.Bad++
	if len(r.stats.BadSamples) < MaxBadSamples {
		r.stats.BadSamples = append(r.stats.BadSamples, BadLine{Line: b.line, Text: quote(b.text), Reason: noSecrets.Inline(b.reason)})
	}
}

// empty explains why the file gave no request.
func (r *Reader) empty() error {
	what := map[Format]string{AccessLog: "an access log line (combined or common format)", JSONLines: "a JSON line with a method and a url or path", HAR: "a HAR entry"}[r.format]
	switch {
	case r.parsed == 0 && r.stats.Bad > 0:
		b := r.stats.BadSamples[0]
		if b.Line == 0 {
			return fmt.Errorf("%s: %s", r.name, b.Reason)
		}
		if b.Text == "" {
			return fmt.Errorf("%s: nothing in it reads as %s; %s %d: %s", r.name, what, r.unit(), b.Line, b.Reason)
		}
		return fmt.Errorf("%s: nothing in it reads as %s; %s %d: %q: %s", r.name, what, r.unit(), b.Line, b.Text, b.Reason)
	case r.parsed == 0:
		return fmt.Errorf("%s holds no requests", r.name)
	case r.stats.OtherHost == r.parsed:
		return fmt.Errorf("%s: none of its %d requests is on the hosts replayed (%s)", r.name, r.parsed, strings.Join(sortedKeys(r.hosts), ", "))
	}
	var skipped []string
	for _, m := range sortedKeys(r.stats.Skipped) {
		skipped = append(skipped, fmt.Sprintf("%s %d", m, r.stats.Skipped[m]))
	}
	return fmt.Errorf("%s: none of its %d requests uses a method replayed (%s); it holds %s; list the methods to send, if they are safe to repeat on staging",
		r.name, r.parsed, strings.Join(sortedKeys(r.methods), ", "), strings.Join(skipped, ", "))
}

func (r *Reader) unit() string {
	if r.format == HAR {
		return "entry"
	}
	return "line"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// quote trims a bad line for a message and masks what looks like a
// credential in it.
func quote(s string) string {
	return trim(noSecrets.Inline(s))
}

// noSecrets masks credential-named pairs; it knows no secret values.
var noSecrets *redact.Masker

func trim(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

// rewind starts the file from the top, detecting its format on the first
// call and unwrapping gzip.
func (r *Reader) rewind() error {
	if _, err := r.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("%s: %w", r.name, err)
	}
	raw := bufio.NewReaderSize(r.file, 64<<10)
	var in io.Reader = raw
	magic, _ := raw.Peek(8)
	if bytes.HasPrefix(magic, gzipMagic) {
		z, err := gzip.NewReader(raw)
		if err != nil {
			r.gzipped = true
			return r.readError(err)
		}
		in, r.gzipped = z, true
	}
	for _, c := range otherCompression {
		if bytes.HasPrefix(magic, c.magic) {
			return fmt.Errorf("%s: the file is compressed with %s, and only gzip is read; decompress it, or compress it with gzip", r.name, c.name)
		}
	}
	r.source = &watched{in: in}
	buffered := bufio.NewReaderSize(r.source, 64<<10)
	if r.format == Detect {
		r.format = detect(buffered)
	}
	switch r.format {
	case HAR:
		r.dec = newHARDecoder(buffered)
	case JSONLines:
		r.dec = &jsonLinesDecoder{lines: newLineReader(buffered)}
	default:
		r.dec = &accessLogDecoder{lines: newLineReader(buffered)}
	}
	return nil
}

// watched remembers the first error reading failed with, other than the
// end of the file.
type watched struct {
	in  io.Reader
	err error
}

func (w *watched) Read(p []byte) (int, error) {
	n, err := w.in.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && w.err == nil {
		w.err = err
	}
	return n, err
}

var gzipMagic = []byte{0x1f, 0x8b}

// otherCompression are the compressed formats told by their first bytes,
// to say so rather than read them as a log.
var otherCompression = []struct {
	name  string
	magic []byte
}{
	{"bzip2", []byte("BZh")},
	{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0}},
	{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd}},
	{"zip", []byte("PK\x03\x04")},
	{"7-zip", []byte{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}},
	{"lz4", []byte{0x04, 0x22, 0x4d, 0x18}},
}

// detect tells the format from the first bytes: HAR is a JSON object
// whose first key is "log".
func detect(in *bufio.Reader) Format {
	head, _ := in.Peek(4096)
	head = trimBOM(head)
	i := 0
	for i < len(head) && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n') {
		i++
	}
	if i == len(head) || head[i] != '{' {
		return AccessLog
	}
	if firstKey(head[i:]) == "log" {
		return HAR
	}
	return JSONLines
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

// entry is one recorded request as a decoder reads it.
type entry struct {
	line   int
	raw    []byte // the line as read, valid until the next read: for a bad-line message
	method string
	target string // a path or an absolute URL
	header http.Header
	body   []byte
	at     time.Time // zero: untimed
}

func (e *entry) reset() { *e = entry{} }

// badEntry is a line or entry that is not a request; reading goes on.
type badEntry struct {
	line   int
	text   string
	reason string
}

func (b *badEntry) Error() string { return fmt.Sprintf("line %d: %s", b.line, b.reason) }

// decoder reads a file's entries one at a time.
type decoder interface {
	// next fills e, or returns a *badEntry, io.EOF or a read error.
	next(e *entry) error
}
