package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/messagecheck"

	"github.com/google/go-cmp/cmp"

	"github.com/zerodowntime/deploy-load-check/internal/targets"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// The fuzz targets below run their seeds in every `go test`; explore with
//
//	go test -run '^$' -fuzz '^FuzzParseRate$' -fuzztime 45s ./internal/config/

func FuzzParseRate(f *testing.F) {
	for _, seed := range []string{
		"50/1s", "50/s", "3000/1m", "1/500ms", " 7 / 2s ", "+5/1s", "1/.5s",
		"1000000/1s", "1/2562047h", "9223372036854775807/2562047h",
		"", "50", "50/1", "50/0", "50/0s", "0/1s", "-5/1s", "50/-1s", "50/+1s",
		"1.5/1s", "fast", "50/fast", "/1s", "50/", "1000001/1s", "1/1ns", "1/µs",
		"99999999999999999999/1s", "50/1s/2", "50//1s", "50/1e3s", "50/Inf",
		"\xff/1s", "50/1s\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		rate, err := ParseRate(raw)
		if err != nil {
			messagecheck.Check(t, "ParseRate", raw, err)
			if strings.TrimSpace(raw) == "" {
				if !strings.HasPrefix(err.Error(), "is empty") {
					t.Errorf("ParseRate(%q) error %q does not say it is empty", raw, err)
				}
				return
			}
			if !strings.Contains(err.Error(), strconv.Quote(raw)) {
				t.Errorf("ParseRate(%q) error %q does not quote the value", raw, err)
			}
			return
		}
		if rate.Freq <= 0 || rate.Per <= 0 {
			t.Fatalf("ParseRate(%q) = %v, want a positive rate", raw, rate)
		}
		if perSecond := float64(rate.Freq) / rate.Per.Seconds(); perSecond > 1e6 {
			t.Errorf("ParseRate(%q) = %v, %g/s; want at most a million a second", raw, rate, perSecond)
		}
		// The rate as the log prints it reads back as the same rate.
		printed := fmt.Sprintf("%d/%s", rate.Freq, rate.Per)
		if again, err := ParseRate(printed); err != nil || again != rate {
			t.Errorf("ParseRate(%q) = %v; ParseRate(%q) = %v, %v", raw, rate, printed, again, err)
		}
	})
}

// FuzzReadTargets feeds the targets input, or a targets-file, to
// readTargets: the function Parse reads them with.
func FuzzReadTargets(f *testing.F) {
	for _, seed := range []string{
		"GET  http://api:8080/health\nGET  http://api:8080/v1/items?limit=20\nPOST http://api:8080/v1/search",
		"https://staging.acme.dev/health", "HEAD http://[::1]:8080/", "\n# comment\n\thttp://127.0.0.1/a\n\n",
		"http://a/x\nhttp://b/x", "DELETE http://127.0.0.1:65535/x#frag", "http://user:pass@h/", "OPTIONS http://h/*",
		"PATCH http://h/?q=a%20b", "POST http://h/search\nContent-Type: application/json\nX-Trace: 1",
		"# @name search\n# @weight 3\n# @timeout 2s\nGET http://h/s", "GET http://h/{{uuid}}", "# @template\nGET http://h/{{uuid}}",
		"PURGE http://h/x\nPROPFIND http://h/y\nSUBSCRIBE http://h/z", "GET http://:6060/\nGET http://:6060/\nHEAD http://:6606/",
		"GET http://h/x\nX-A: 1\nGET http://h/y", "# @group browse\nGET http://h/", "POST http://h/\nX-Json: {{a}}",
		`{"method":"GET","url":"http://h/"}`, "{\"method\": \"GET\", \"url\": \"http://goku\"}\n\n  {\"method\":\"HEAD\",\"url\":\"http://goku/2\"}\n",
		`{"method":"POST","url":"http://h/","header":{"x":["foo"]},"body":"QVRUQUNLIQ==","name":"n","weight":2,"template":true}`,
		"", "# nothing\n\n", "FETCH http://h/", "get http://h/", "GET", "GET http://h/ extra", "DO_WORK http://:6000",
		"ftp://127.0.0.1/x", "127.0.0.1:8080/health", "http:///path", "http://[::1/", "http://h:99999/",
		"http://h:0/", "http://h:port/", "//h/path", "http:h", "mailto:a@b", "http://", "https://:443/",
		"http://h/\nhttp://h/", "GET http://h/\r\nGET http://h/", "http://h/\x7f", "http://%41/", "\xff",
		"http://h/%zz", "GET\thttp://h/", "#http://h/", "X-A: b\nGET http://h/", "GET http://h/\nnot a header",
		"# @weight 0\nGET http://h/", "# @timeout -1s\nGET http://h/", "# @name\nGET http://h/",
		"# @name a\nGET http://h/1\n\n# @name a\nGET http://h/2", "# @template\nGET http://h/{{", "# @template\nGET http://h/{{nope}}",
		`{}`, `{"method":""}`, `{"method":"GET"}`, `{"method":"GET","url":"http://h/"} xyz`, `{"method":"GET","url":"http://h/"}{"a":1}`,
		`{"method":"GET","url":"http://h/","colour":1}`, `{"method":"GET","url":"http://h/","body":"NOT BASE64"}`, "{A\r0", "A\r http://0", `{"method":"0","url":"http://0"}`, "#@name 0\nhttp://h\nhttp://h",
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, raw string, asFile bool) {
		for _, line := range strings.Split(raw, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "@") {
				// An @file body reads the disk; package targets tests it.
				t.Skip("reads a body file")
			}
		}
		inline, path := raw, ""
		if asFile {
			inline, path = "", filepath.Join(t.TempDir(), "targets")
			if err := os.WriteFile(path, []byte(raw), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		specs, err := readTargets(inline, path)
		if err != nil {
			messagecheck.Check(t, "readTargets", raw, err)
			if want := map[bool]string{false: "targets", true: "targets-file"}[asFile]; err.Input != want && err.Input != "targets" {
				t.Errorf("readTargets(%q) error names input %q, want %q", raw, err.Input, want)
			}
			if !hasRequestLine(raw) {
				if !strings.HasPrefix(err.Err.Error(), "no targets") && !(raw == "" && strings.HasPrefix(err.Err.Error(), "is empty")) && !messagecheck.QuotesPartOf(err.Error(), raw) {
					t.Errorf("readTargets(%q) error %q, want no targets or a quote of the bad part", raw, err)
				}
				return
			}
			if !messagecheck.QuotesPartOf(err.Error(), raw) {
				t.Errorf("readTargets(%q) error %q quotes no part of the value", raw, err)
			}
			return
		}
		if len(specs) == 0 {
			t.Fatalf("readTargets(%q) = no targets and no error", raw)
		}
		mix := targets.Mix{Specs: specs}
		names := make(map[string]bool)
		var lines []string
		plain := map[string]int{} // METHOD URL to weight, for targets that read back from it
		for _, target := range mix.Targets() {
			u, err := url.Parse(target.URL)
			if err != nil {
				t.Fatalf("readTargets(%q): URL %q does not parse: %v", raw, target.URL, err)
			}
			if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
				t.Errorf("readTargets(%q): URL %q, want http or https with a host or a port", raw, target.URL)
			}
			if _, err := http.NewRequest(target.Method, target.URL, nil); err != nil {
				t.Errorf("readTargets(%q): %s %s is not a request: %v", raw, target.Method, target.URL, err)
			}
			if target.Name == "" || names[target.Name] {
				t.Errorf("readTargets(%q): name %q is empty or taken", raw, target.Name)
			}
			names[target.Name] = true
			if target.Weight < 0 || target.Weight > targets.MaxWeight || target.Timeout < 0 {
				t.Errorf("readTargets(%q): %s has weight %d, timeout %s", raw, target.Name, target.Weight, target.Timeout)
			}
			// JSON targets may carry methods vegeta's HTTP format cannot
			// (lower case, digits): those do not read back as lines.
			upper := !strings.ContainsFunc(target.Method, func(r rune) bool { return r < 'A' || r > 'Z' })
			if upper && target.Render == nil && len(target.Header) == 0 && len(target.Body) == 0 && target.Timeout == 0 && !strings.ContainsAny(target.URL, " \t") {
				for range max(1, target.Weight) {
					lines = append(lines, target.Method+" "+target.URL)
				}
				plain[target.Method+" "+target.URL] += max(1, target.Weight)
			}
		}
		if len(lines) == 0 {
			return
		}
		// What readTargets made of the input, written as vegeta's plain
		// lines (a repeat for each unit of weight), reads back as the same
		// requests in the same shares (targets alike but for a name given
		// with # @name are one target then).
		again, err := readTargets(strings.Join(lines, "\n"), "")
		if err != nil {
			t.Fatalf("readTargets(%q) = %q; reading them back: %v", raw, lines, err)
		}
		readBack := map[string]int{}
		for _, s := range again {
			readBack[s.Method+" "+s.URL.String()] += max(1, s.Weight)
		}
		if diff := cmp.Diff(plain, readBack); diff != "" {
			t.Errorf("readTargets(%q) read back differently (-first +again):\n%s", raw, diff)
		}
	})
}

func FuzzParseThresholds(f *testing.F) {
	for _, seed := range []string{
		"p(99)<800ms\ndowntime<=0s", "p(95)<400ms\n\n# tail\nerror_rate<0.5%", " avg < 200ms ",
		"med<100ms\nmax<5s\np(99.9)<1s", "error_rate<=0.005\r\n", "",
		"p(101)<1s", "p(95)<<3", "p(95)<400ms\np(101)<1s", "fast", "p(95)<", "error_rate<150%",
		"p(95)<1", "latency<1s", "p(0)<1s", "downtime<=-1s", "p(95)<>1s", "<1s", "\xff<1s",
		"http_req_duration: ['p(95)<500', 'p(99)<1500']", "http_req_failed: rate<0.01", "http_reqs: count>100",
		"http_reqs: rate>=50", "\"http_req_duration\": [\"p(95)<200\"],", "http_req_duration: []", "min>0\ncount==3\navg!=1",
		"p(foo)<1", "http_req_duration{phase:deploy}: p(99)<1s", "p(99){phase:deploy}[10s]<1s", "rate<0.01",
		"check_failure_rate: ['rate<0.01', { threshold: 'rate<=0.05', abortOnFail: true }]", "http_req_waiting: avg<1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		thresholds, err := ParseThresholds(raw, verdict.Names{})
		if err != nil {
			messagecheck.Check(t, "ParseThresholds", raw, err)
			// The message starts with the line it is about, quoted.
			n, line, ok := badLine(err.Error(), raw)
			if !ok {
				t.Errorf("ParseThresholds(%q) error %q does not say which line, quoted", raw, err)
			} else if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
				t.Errorf("ParseThresholds(%q) error %q is about line %d, which is blank or a comment", raw, err, n)
			}
			return
		}
		// A line gives one threshold, or one for each item of k6's list.
		want, lists := 0, false
		for _, line := range strings.Split(raw, "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				want++
				lists = lists || strings.Contains(line, "[")
			}
		}
		if len(thresholds) != want && !lists {
			t.Errorf("ParseThresholds(%q) = %d thresholds, want one for each of the %d lines", raw, len(thresholds), want)
		}
		for _, th := range thresholds {
			if th.Source != "thresholds" {
				t.Errorf("ParseThresholds(%q): %s has source %q", raw, th, th.Source)
			}
			// Each threshold writes itself in the syntax it came in (the
			// precision of the limit is fuzzed in package verdict).
			again, err := ParseThresholds(th.String(), verdict.Names{})
			if err != nil || len(again) != 1 {
				t.Fatalf("ParseThresholds(%q): %s does not read back: %v", raw, th, err)
			}
			if got := again[0]; got.Metric != th.Metric || got.Op != th.Op || got.Percentile != th.Percentile {
				t.Errorf("ParseThresholds(%q): %s reads back as %s", raw, th, got)
			}
		}
	})
}

func FuzzParseWorkflowInputs(f *testing.F) {
	for _, seed := range []string{
		"environment=staging\nversion = 1.2.3", `{"version": "abc123", "dry_run": false, "replicas": 3}`,
		"# comment\n\nkey=", "a=b=c", "url=https://x/?a=b", `{"a": null}`, "{}", `{"version": 12}`,
		"k=v\r\nk2=v2",
		`{"a":`, `{"a":{"b":1}}`, `{"a":[1]}`, `{"a":1} x`, "[1]", "null", "novalue", "=v", " = v", "a=1\na=2",
		"{", `{"\u0041": {}}`, "\xff=1", `{"a":"\xff"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		inputs, err := ParseWorkflowInputs(raw)
		isJSON := strings.HasPrefix(raw, "{")
		if err != nil {
			messagecheck.Check(t, "ParseWorkflowInputs", raw, err)
			if isJSON {
				// Either the object is broken and quoted whole, or one of its
				// keys has a nested value and is named.
				var obj map[string]any
				if json.Unmarshal([]byte(raw), &obj) != nil {
					if !strings.Contains(err.Error(), strconv.Quote(raw)) {
						t.Errorf("ParseWorkflowInputs(%q) error %q does not quote the value", raw, err)
					}
				} else if !quotesAKey(err.Error(), obj) {
					t.Errorf("ParseWorkflowInputs(%q) error %q names no key", raw, err)
				}
				return
			}
			if _, line, ok := badLine(err.Error(), raw); !ok || strings.TrimSpace(line) == "" {
				t.Errorf("ParseWorkflowInputs(%q) error %q does not quote the line it is about", raw, err)
			}
			return
		}
		if raw == "" {
			if inputs != nil {
				t.Errorf("ParseWorkflowInputs(\"\") = %v, want nil", inputs)
			}
			return
		}
		for k, v := range inputs {
			if k == "" {
				t.Errorf("ParseWorkflowInputs(%q) has an input without a name (value %q)", raw, v)
			}
			if isJSON {
				continue
			}
			if k != strings.TrimSpace(k) || v != strings.TrimSpace(v) || strings.Contains(k, "=") {
				t.Errorf("ParseWorkflowInputs(%q): %q=%q is not a trimmed key=value", raw, k, v)
			}
		}
		if !isJSON {
			return
		}
		// Numbers are sent as the user wrote them: a workflow reads 1000000,
		// not 1e+06.
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			t.Fatalf("ParseWorkflowInputs(%q) accepted what encoding/json rejects: %v", raw, err)
		}
		for k, v := range obj {
			if n, ok := v.(json.Number); ok && !strings.ContainsAny(n.String(), ".eE") && inputs[k] != n.String() {
				t.Errorf("ParseWorkflowInputs(%q): input %q = %q, want the number as written, %s", raw, k, inputs[k], n)
			}
		}
	})
}

// durationInputs are the inputs parsed as durations, and whether zero is
// allowed.
var durationInputs = []struct {
	name       string
	allowZero  bool
	deployOnly bool
	field      func(*Config) time.Duration
}{
	{"ramp-up", true, false, func(c *Config) time.Duration { return c.RampUp }},
	{"duration", false, false, func(c *Config) time.Duration { return c.Duration }},
	{"timeout", false, false, func(c *Config) time.Duration { return c.Timeout }},
	{"head", true, true, func(c *Config) time.Duration { return c.Deploy.Head }},
	{"tail", true, true, func(c *Config) time.Duration { return c.Deploy.Tail }},
	{"poll-interval", false, true, func(c *Config) time.Duration { return c.Deploy.PollInterval }},
	{"deploy-timeout", false, true, func(c *Config) time.Duration { return c.Deploy.Timeout }},
}

// FuzzParseDuration puts one value into one duration input and parses all
// inputs, with a deploy or without.
func FuzzParseDuration(f *testing.F) {
	raw, err := os.ReadFile("../../action.yml")
	if err != nil {
		f.Fatal(err)
	}
	spec, err := ParseSpec(raw)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"30s", "2m", "1h2m3s", "0s", "0", "500ms", " 10s ", "+1s", ".5s", "1ns", "2562047h47m16.854775807s",
		"", "   ", "60", "-1m", "-0s", "fast", "1e3s", "Inf", "NaN", "9999999999h", "1 s", "\xff", "0x10",
	} {
		for i := range durationInputs {
			f.Add(uint8(i), seed, i%2 == 0)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, value string, deploy bool) {
		in := durationInputs[int(which)%len(durationInputs)]
		env := map[string]string{
			"GITHUB_REPOSITORY":   "acme/api",
			"GITHUB_TOKEN":        "t0ken",
			EnvName("targets"):    "http://127.0.0.1:8080/",
			EnvName("rate"):       "10/1s",
			EnvName("duration"):   "1h",
			EnvName("head"):       "1h",
			EnvName(in.name):      value,
			EnvName("thresholds"): "",
		}
		if deploy {
			env[EnvName("workflow")] = "deploy-staging.yml"
		}
		src, _, err := NewSource(spec, nil, MapEnv(env), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Parse(src)
		// A blank value is the workflow's own: the runner fills in the
		// defaults, so a blank value was set blank, and is not a duration.
		given := strings.TrimSpace(value)
		if given == "" {
			var cerr *Error
			if !errors.As(err, &cerr) || cerr.Input != in.name || !strings.Contains(cerr.Err.Error(), "is empty") {
				t.Fatalf("%s=%q: error %v, want one that says the input is empty", in.name, value, err)
			}
			return
		}
		if err != nil {
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("%s=%q: error %v is not a *config.Error", in.name, value, err)
			}
			// A limit between two inputs may be reported on either, as long
			// as the message names this one too.
			if cerr.Input != in.name && !strings.Contains(cerr.Err.Error(), in.name) {
				t.Errorf("%s=%q: error names input %q: %v", in.name, value, cerr.Input, err)
			}
			if !strings.Contains(err.Error(), strconv.Quote(given)) {
				t.Errorf("%s=%q: error %q does not quote %q", in.name, value, err, given)
			}
			messagecheck.Check(t, "Parse", value, cerr.Err)
			return
		}
		if cfg.Deploy == nil && in.deployOnly {
			return // parsed and checked, but kept nowhere without a deploy
		}
		got := in.field(cfg)
		want, perr := time.ParseDuration(given)
		if perr != nil || got != want {
			t.Errorf("%s=%q parsed as %s; time.ParseDuration(%q) = %s, %v", in.name, value, got, given, want, perr)
		}
		if got < 0 || got == 0 && !in.allowZero {
			t.Errorf("%s=%q parsed as %s, want a positive duration", in.name, value, got)
		}
	})
}

// hasRequestLine reports whether raw has a line that is neither blank nor a
// comment.
func hasRequestLine(raw string) bool {
	for _, line := range strings.Split(raw, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			return true
		}
	}
	return false
}

// badLine reads the "line N: "LINE"" a message about one line of raw starts
// with, and checks that LINE is line N, trimmed.
func badLine(msg, raw string) (n int, line string, ok bool) {
	rest, found := strings.CutPrefix(msg, "line ")
	if !found {
		return 0, "", false
	}
	num, rest, found := strings.Cut(rest, ": ")
	if !found {
		return 0, "", false
	}
	n, err := strconv.Atoi(num)
	lines := strings.Split(raw, "\n")
	if err != nil || n < 1 || n > len(lines) {
		return 0, "", false
	}
	line = strings.TrimSpace(lines[n-1])
	return n, line, strings.HasPrefix(rest, strconv.Quote(line))
}

// quotesAKey reports whether msg quotes one of obj's keys.
func quotesAKey(msg string, obj map[string]any) bool {
	for k := range obj {
		if strings.Contains(msg, strconv.Quote(k)) {
			return true
		}
	}
	return false
}
