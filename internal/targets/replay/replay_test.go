package replay

import (
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/messagecheck"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var staging = mustURL("https://staging.example.com")

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// render lists what a reader hands out, then its stats, as a person would
// check them.
func render(t *testing.T, r *Reader) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "format: %s\n\n", r.Format())
	for {
		var req Request
		err := r.Next(&req)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		at := "untimed"
		if req.Timed {
			at = "+" + req.Offset.String()
		}
		fmt.Fprintf(&b, "%s %d (%s) %s %s\n", r.unit(), req.Line, at, req.Method, req.URL)
		names := make([]string, 0, len(req.Header))
		for name := range req.Header {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			fmt.Fprintf(&b, "    %s: %s\n", name, strings.Join(req.Header[name], ", "))
		}
		if req.Body != nil {
			fmt.Fprintf(&b, "    body: %q\n", req.Body)
		}
	}
	s := r.Stats()
	fmt.Fprintf(&b, "\nrequests: %d\ncycles: %d\n", s.Requests, s.Cycles)
	for _, m := range sortedKeys(s.Skipped) {
		fmt.Fprintf(&b, "skipped %s: %d\n", m, s.Skipped[m])
	}
	fmt.Fprintf(&b, "other host: %d\nbad: %d\n", s.OtherHost, s.Bad)
	for _, bad := range s.BadSamples {
		fmt.Fprintf(&b, "    %s %d: %s: %q\n", r.unit(), bad.Line, bad.Reason, bad.Text)
	}
	return b.String()
}

func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); run go test ./internal/targets/replay -update to accept:\n%s", golden, diff)
	}
}

func TestRecordingsReplayAsGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		opts []Option
	}{
		{"an nginx combined log sends its GETs and HEADs and skips the rest", "access.log", nil},
		{"JSON lines of several shapes", "requests.jsonl", nil},
		{"JSON lines with POST and PUT allowed and credentials kept", "requests.jsonl", []Option{WithMethods("GET", "POST", "PUT"), WithCredentials()}},
		{"a browser's HAR on the API host only", "browser.har", []Option{WithHosts("api.example.com")}},
		{"a browser's HAR with every method and host", "browser.har", []Option{WithMethods("GET", "HEAD", "POST", "OPTIONS"), WithHeaders("Origin")}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := Open(filepath.Join("testdata", tt.file), mustURL("https://staging.example.com/api/"), append(tt.opts, Once())...)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			checkGolden(t, filepath.Join("testdata", fmt.Sprintf("%s.%d.golden", tt.file, i)), render(t, r))
		})
	}
}

func TestFormatIsDetectedFromTheFirstBytes(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]Format{"access.log": AccessLog, "requests.jsonl": JSONLines, "browser.har": HAR} {
		r, err := Open(filepath.Join("testdata", file), staging)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Format(); got != want {
			t.Errorf("Open(%s).Format() = %q, want %q", file, got, want)
		}
		r.Close()
	}
}

func TestGzippedLogsReadAsThemselves(t *testing.T) {
	t.Parallel()
	plain, err := os.ReadFile(filepath.Join("testdata", "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "access.log.gz")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	z := gzip.NewWriter(f)
	if _, err := z.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	read := func(path string) []string {
		r, err := Open(path, staging)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var urls []string
		for range 20 { // two passes and a bit
			var req Request
			if err := r.Next(&req); err != nil {
				t.Fatal(err)
			}
			urls = append(urls, fmt.Sprint(req.Cycle, req.URL))
		}
		return urls
	}
	if diff := cmp.Diff(read(filepath.Join("testdata", "access.log")), read(path)); diff != "" {
		t.Errorf("gzipped log reads differently (-plain +gzip):\n%s", diff)
	}
}

func TestTheFileStartsAgainWhenTheRunOutlastsIt(t *testing.T) {
	t.Parallel()
	r, err := Open(filepath.Join("testdata", "access.log"), staging)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	const perPass = 9 // GETs and HEADs in access.log
	var lines, cycles []int
	for range perPass*2 + 3 {
		var req Request
		if err := r.Next(&req); err != nil {
			t.Fatal(err)
		}
		lines, cycles = append(lines, req.Line), append(cycles, req.Cycle)
	}
	pass := []int{1, 2, 4, 5, 7, 10, 11, 14, 15}
	wantLines := slices.Concat(pass, pass, pass[:3])
	if diff := cmp.Diff(wantLines, lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	wantCycles := slices.Concat(slices.Repeat([]int{0}, perPass), slices.Repeat([]int{1}, perPass), []int{2, 2, 2})
	if diff := cmp.Diff(wantCycles, cycles); diff != "" {
		t.Errorf("cycles (-want +got):\n%s", diff)
	}
	s := r.Stats()
	if s.Cycles != 2 || s.Requests != perPass*2+3 {
		t.Errorf("Stats: %d cycles, %d requests; want 2 and %d", s.Cycles, s.Requests, perPass*2+3)
	}
	// The POST is counted once, as the file holds it, however many passes
	// read it.
	if got, want := s.Skipped["POST"], uint64(1); got != want {
		t.Errorf("Stats.Skipped[POST] = %d over three passes, want %d: the first pass's", got, want)
	}
}

func TestBadLinesAndSkipsAreCountedOnTheFirstPassOnly(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "mixed.jsonl", strings.Join([]string{
		`{"method": "GET", "url": "https://api.example.com/a"}`,
		`{"method": "GET", "url": "https://cdn.example.net/logo.png"}`,
		`not json`,
		`{"method": "POST", "url": "https://api.example.com/orders"}`,
		`{"method": "DELETE", "path": "/orders/1"}`,
		`{"method": "GET", "path": "/b"}`,
	}, "\n"))
	r, err := Open(path, staging, WithHosts("api.example.com"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for range 2*4 + 1 { // four passes and the start of a fifth
		var req Request
		if err := r.Next(&req); err != nil {
			t.Fatal(err)
		}
	}
	s := r.Stats()
	if s.Cycles != 4 || s.Requests != 9 {
		t.Fatalf("Stats: %d cycles, %d requests; want 4 and 9", s.Cycles, s.Requests)
	}
	if diff := cmp.Diff(map[string]uint64{"POST": 1, "DELETE": 1}, s.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if s.OtherHost != 1 || s.Bad != 1 || len(s.BadSamples) != 1 || s.BadSamples[0].Line != 3 {
		t.Errorf("Stats: other host %d, bad %d, samples %+v; want one of each, as the file holds them", s.OtherHost, s.Bad, s.BadSamples)
	}
}

func TestABrokenOrForeignCompressionSaysSo(t *testing.T) {
	t.Parallel()
	plain, err := os.ReadFile(filepath.Join("testdata", "access.log"))
	if err != nil {
		t.Fatal(err)
	}
	gzipped := func(content []byte) []byte {
		var b strings.Builder
		z := gzip.NewWriter(&b)
		if _, err := z.Write(content); err != nil {
			t.Fatal(err)
		}
		if err := z.Close(); err != nil {
			t.Fatal(err)
		}
		return []byte(b.String())
	}
	// A log long enough that its first request is read before the cut.
	long := []byte(strings.Repeat(string(plain), 200))
	whole := gzipped(long)
	har, err := os.ReadFile(filepath.Join("testdata", "browser.har"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file string
		content    []byte
		opts       []Option
		want       string
	}{
		{"a gzipped log cut short", "trunc.log.gz", whole[:len(whole)*2/3], nil, "trunc.log.gz: the gzip data ends early, so the file is truncated"},
		{"a gzipped log cut in its first block", "short.log.gz", whole[:40], nil, "short.log.gz: the gzip data ends early, so the file is truncated"},
		{"gzipped JSON lines cut short", "trunc.jsonl.gz", func() []byte {
			z := gzipped([]byte(strings.Repeat(`{"method": "GET", "path": "/a"}`+"\n", 5000)))
			return z[:len(z)/2]
		}(), nil, "trunc.jsonl.gz: the gzip data ends early, so the file is truncated"},
		{"a gzipped HAR cut short", "trunc.har.gz", func() []byte { z := gzipped(har); return z[:len(z)/2] }(), nil, "trunc.har.gz: the gzip data ends early, so the file is truncated"},
		{"a gzipped log with a broken checksum", "sum.log.gz", func() []byte {
			z := gzipped(plain)
			z = append([]byte(nil), z...)
			z[len(z)-8] ^= 0xff
			return z
		}(), nil, "sum.log.gz: the gzip data is corrupt"},
		{"bzip2", "access.log.bz2", []byte("BZh91AY&SY\x00\x01"), nil, "access.log.bz2: the file is compressed with bzip2, and only gzip is read"},
		{"xz", "access.log.xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 4}, nil, "access.log.xz: the file is compressed with xz, and only gzip is read"},
		{"zstd", "access.log.zst", []byte{0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x10}, nil, "access.log.zst: the file is compressed with zstd, and only gzip is read"},
		{"zip", "logs.zip", []byte("PK\x03\x04\x14\x00"), nil, "logs.zip: the file is compressed with zip, and only gzip is read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), tt.file)
			if err := os.WriteFile(path, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			// Reading the whole file, as the check does before the load,
			// meets the damage wherever it is.
			_, err := ScanFile(path, staging, ScanOptions{}, tt.opts...)
			if err == nil {
				t.Fatalf("ScanFile(%s) succeeded", tt.file)
			}
			messagecheck.Check(t, "ScanFile", tt.file, err)
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "line 1") {
				t.Errorf("ScanFile(%s) error %q, want one saying %q", tt.file, err, tt.want)
			}
		})
	}
}

func TestRecordedHeadersNamedAreKept(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "auth.jsonl", `{"method": "GET", "path": "/me?access_token=t1&page=2", "headers": {"Authorization": "Bearer recorded", "Cookie": "sid=1", "X-Tenant": "acme", "X-Api-Key": "k1", "Accept": "application/json"}}`)
	read := func(opts ...Option) Request {
		r, err := Open(path, staging, append(opts, Once())...)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var req Request
		if err := r.Next(&req); err != nil {
			t.Fatal(err)
		}
		return req
	}
	tests := []struct {
		name   string
		opts   []Option
		header http.Header
		url    string
	}{
		{"by default credentials and cookies are dropped", nil, http.Header{"Accept": {"application/json"}}, "https://staging.example.com/me?page=2"},
		{"the headers named are kept, credentials or not", []Option{WithHeaders("authorization", "Cookie", "X-Tenant")},
			http.Header{"Accept": {"application/json"}, "Authorization": {"Bearer recorded"}, "Cookie": {"sid=1"}, "X-Tenant": {"acme"}}, "https://staging.example.com/me?page=2"},
		{"every credential with WithCredentials", []Option{WithCredentials()},
			http.Header{"Accept": {"application/json"}, "Authorization": {"Bearer recorded"}, "Cookie": {"sid=1"}, "X-Api-Key": {"k1"}}, "https://staging.example.com/me?access_token=t1&page=2"},
	}
	for _, tt := range tests {
		req := read(tt.opts...)
		if diff := cmp.Diff(tt.header, req.Header); diff != "" || req.URL != tt.url {
			t.Errorf("%s: URL %s, headers (-want +got):\n%s", tt.name, req.URL, diff)
		}
	}
}

func TestHeaderListsToReplayParse(t *testing.T) {
	t.Parallel()
	got, err := ParseHeaders("authorization, Cookie\nx-tenant X-Tenant")
	if diff := cmp.Diff([]string{"Authorization", "Cookie", "X-Tenant"}, got); err != nil || diff != "" {
		t.Errorf("ParseHeaders: %v (-want +got):\n%s", err, diff)
	}
	for in, says := range map[string]string{"X-Ten:ant": "is not a header name", "host": "the client sets it", "Accept-Encoding": "the client asks for gzip itself"} {
		_, err := ParseHeaders(in)
		if err == nil {
			t.Errorf("ParseHeaders(%q) succeeded", in)
			continue
		}
		messagecheck.Check(t, "ParseHeaders", in, err)
		if !strings.Contains(err.Error(), says) || !messagecheck.QuotesPartOf(strings.ToLower(err.Error()), strings.ToLower(in)) {
			t.Errorf("ParseHeaders(%q) error %q, want it quoted and %q", in, err, says)
		}
	}
}

func TestManyGoroutinesGetEachRequestOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "big.log")
	var b strings.Builder
	const total = 5000
	for i := range total {
		fmt.Fprintf(&b, `203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /v1/items/%d HTTP/1.1" 200 12 "-" "test"`+"\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path, staging, Once())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	seen := make([][]int, 8)
	var wg sync.WaitGroup
	for g := range seen {
		wg.Go(func() {
			for {
				var req Request
				if err := r.Next(&req); err != nil {
					return
				}
				seen[g] = append(seen[g], req.Line)
			}
		})
	}
	wg.Wait()
	all := slices.Concat(seen...)
	slices.Sort(all)
	if len(all) != total || all[0] != 1 || all[total-1] != total || len(slices.Compact(all)) != total {
		t.Errorf("handed out %d requests, want each of %d once", len(all), total)
	}
}

func TestBadLinesAreCountedAndSampledWithoutStopping(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "mixed.log", strings.Join([]string{
		`garbage one`,
		`203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /ok HTTP/1.1" 200 12`,
		`203.0.113.7 - - [yesterday] "GET /bad-time HTTP/1.1" 200 12`,
		`203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /a b c HTTP/1.1" 200 12`,
		`203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "get /lower HTTP/1.1" 200 12`,
		`203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /x%zz?token=abc HTTP/1.1" 200 12`,
		`203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /also-ok HTTP/1.1" 200 12`,
		`203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /unterminated 200 12`,
		"",
	}, "\n"))
	r, err := Open(path, staging, Once())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var urls []string
	for {
		var req Request
		if err := r.Next(&req); err != nil {
			break
		}
		urls = append(urls, req.URL)
	}
	if diff := cmp.Diff([]string{"https://staging.example.com/ok", "https://staging.example.com/also-ok"}, urls); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	s := r.Stats()
	if s.Bad != 6 {
		t.Errorf("Stats.Bad = %d, want 6", s.Bad)
	}
	var lines []int
	for _, b := range s.BadSamples {
		lines = append(lines, b.Line)
		if strings.Contains(b.Text+b.Reason, "abc") {
			t.Errorf("bad line sample %+v shows a token", b)
		}
	}
	if diff := cmp.Diff([]int{1, 3, 4, 5, 6}, lines); diff != "" {
		t.Errorf("sampled lines (-want +got), want the first %d:\n%s", MaxBadSamples, diff)
	}
}

func TestAnOverlongLineIsSkipped(t *testing.T) {
	t.Parallel()
	long := `203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /` + strings.Repeat("a", MaxLine) + ` HTTP/1.1" 200 12`
	path := writeFile(t, "long.log", long+"\n"+`203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /after HTTP/1.1" 200 12`+"\n"+long)
	r, err := Open(path, staging, Once())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var req Request
	if err := r.Next(&req); err != nil || req.URL != "https://staging.example.com/after" || req.Line != 2 {
		t.Fatalf("Next = %+v, %v; want line 2, /after", req, err)
	}
	if err := r.Next(&req); !errors.Is(err, io.EOF) {
		t.Fatalf("Next after the last line = %v, want io.EOF", err)
	}
	if s := r.Stats(); s.Bad != 2 || s.BadSamples[0].Reason != errLong.Error() {
		t.Errorf("Stats = %+v, want two overlong lines", s)
	}
}

func TestFilesThatGiveNoRequestFailAtOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content string
		opts                []Option
		want                []string // pieces of the message
	}{
		{"nothing parses", "junk.log", "hello world\nsecond line\n", nil,
			[]string{"junk.log", "nothing in it reads as an access log line", "line 1", `"hello world"`}},
		{"nothing parses as JSON", "junk.jsonl", "{\"method\": \"GET\"\n{}\n", nil,
			[]string{"junk.jsonl", "nothing in it reads as a JSON line", "line 1", `"{\"method\": \"GET\""`}},
		{"only POSTs", "posts.log", `203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "POST /v1/orders HTTP/1.1" 201 12` + "\n", nil,
			[]string{"posts.log", "none of its 1 requests uses a method replayed (GET, HEAD)", "it holds POST 1"}},
		{"empty", "empty.log", "\n\n", nil, []string{"empty.log holds no requests"}},
		{"not a HAR", "notes.har", `{"log": {"version": "1.2", "entries": 7}}`, nil,
			[]string{"notes.har", `"log.entries" is not a list`}},
		{"no host replayed", "hosts.jsonl", `{"url": "https://cdn.example.net/a.png"}`, []Option{WithHosts("api.example.com")},
			[]string{"hosts.jsonl", "none of its 1 requests is on the hosts replayed (api.example.com)"}},
		{"a HAR cut short", "cut.har", `{"log": {"entries": [{"request": {"method": "GET", "url": "/a"`, nil,
			[]string{"cut.har", "nothing in it reads as a HAR entry", "entry 1", "breaks off"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tt.file, tt.content)
			r, err := Open(path, staging, tt.opts...)
			if err == nil {
				r.Close()
				t.Fatalf("Open(%s) succeeded", tt.file)
			}
			messagecheck.Check(t, "Open", tt.file, err)
			for _, piece := range tt.want {
				if !strings.Contains(err.Error(), piece) {
					t.Errorf("Open(%s) error %q does not say %s", tt.file, err, piece)
				}
			}
		})
	}
}

func TestBadSettingsAreRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "access.log")
	for name, open := range map[string]func() error{
		"no scheme": func() error { _, err := Open(path, mustURL("staging.example.com")); return err },
		"a hop-by-hop header": func() error {
			_, err := Open(path, staging, WithHeaders("Content-Length"))
			return err
		},
		"no methods":     func() error { _, err := Open(path, staging, WithMethods()); return err },
		"a made-up form": func() error { _, err := Open(path, staging, WithFormat("xml")); return err },
		"a directory":    func() error { _, err := Open("testdata", staging); return err },
	} {
		err := open()
		if err == nil {
			t.Errorf("%s: Open succeeded", name)
			continue
		}
		messagecheck.Check(t, "Open", name, err)
	}
}

func TestFormatAndSpeedNamesParse(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Format{"": Detect, "combined": AccessLog, "nginx": AccessLog, "JSONL": JSONLines, "har": HAR} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !messagecheck.QuotesPartOf(err.Error(), "xml") {
		t.Errorf("ParseFormat(%q) = %v, want an error quoting it", "xml", err)
	}
	for in, want := range map[string]float64{"": 0, "1x": 1, "2x": 2, "0.5X": 0.5} {
		if got, err := ParseSpeed(in); err != nil || got != want {
			t.Errorf("ParseSpeed(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2", "fast", "0x", "-1x", "NaNx", "1e9x"} {
		_, err := ParseSpeed(in)
		if err == nil {
			t.Errorf("ParseSpeed(%q) succeeded", in)
			continue
		}
		messagecheck.Check(t, "ParseSpeed", in, err)
		if !messagecheck.QuotesPartOf(err.Error(), in) {
			t.Errorf("ParseSpeed(%q) error %q does not quote it", in, err)
		}
	}
}

// TestVegetaSendsTheRecordedPaths drives the real attacker with the
// reader's targeter against a local server.
func TestVegetaSendsTheRecordedPaths(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		got = append(got, req.Method+" "+req.URL.RequestURI()+" auth="+req.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer srv.Close()
	r, err := Open(filepath.Join("testdata", "access.log"), mustURL(srv.URL), Once())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	attacker := vegeta.NewAttacker(vegeta.Workers(1), vegeta.MaxWorkers(1))
	var codes []uint16
	for res := range attacker.Attack(r.Targeter(), vegeta.ConstantPacer{Freq: 1000, Per: time.Second}, 10*time.Second, "replay") {
		codes = append(codes, res.Code)
	}
	want := []string{
		"GET /v1/images/1842?size=thumb auth=",
		"GET /v1/images/1843?size=full auth=",
		"HEAD /health auth=",
		"GET /v1/search?q=red+bicycle&page=2 auth=",
		"GET /v1/users/7d6f1f2e-3b7a-4c1e-9f0a-2b8c5d4e6f70/albums auth=",
		"GET /v1/blobs/9b74c9897bac770ffc029102a200c5de auth=",
		"GET /v1/images/1844?size=thumb auth=",
		"GET /v1/search?q=%22quoted%22 auth=",
		"GET /status auth=",
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("server saw (-want +got):\n%s", diff)
	}
	// Then the targeter's end of file stops the attack; a hit already
	// on its way meets the same end.
	ok := len(codes) > len(want)
	for i, code := range codes {
		ok = ok && (code == 200) == (i < len(want))
	}
	if !ok {
		t.Errorf("results %v, want %d answers then the end of the file", codes, len(want))
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
