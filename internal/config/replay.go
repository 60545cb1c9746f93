package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/zerodowntime/deploy-load-check/internal/compare"
	"github.com/zerodowntime/deploy-load-check/internal/targets/replay"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// Replay is the recorded traffic sent instead of the targets.
type Replay struct {
	// File is the path as given, relative to the workspace. It is only
	// looked at here; the check reads it.
	File   string
	Format replay.Format // replay.Detect when not given
	// BaseURL is where the recorded paths go: its scheme, host and path
	// prefix.
	BaseURL *url.URL
	Methods []string
	// Headers are the recorded headers sent again beside
	// replay.DefaultHeaders (replay-headers); a credential or cookie
	// header among them is sent as recorded.
	Headers []string
	// Hosts, when set, are the hosts whose absolute URLs are replayed.
	Hosts []string
	// Speed is how much faster than recorded the requests are sent, by
	// their recorded times; 0 sends them in order at Rate.
	Speed float64
}

// Compare says which answers to compare and how.
type Compare struct {
	// BaselineURL is the baseline (compare-url) a sample of the replayed
	// requests also goes to; nil when answers are compared only across
	// the cut-over (replay-file with version-header or version-field).
	BaselineURL *url.URL
	// Headers are the headers compared (compare-headers).
	Headers []string
	// Ignore holds compare-ignore's rules; the version header and field
	// are ignored beside them (see Config.VersionHeader).
	Ignore compare.Ignore
	Sample float64 // share of replayed requests compared, above 0 and at most 1
	// CutOver compares the answers of the old and the new version of the
	// API under load to the same request.
	CutOver bool
	// MaxMismatchRate judges the baseline's comparisons when Judged.
	MaxMismatchRate float64
	Judged          bool
}

// replayInputs are the inputs that mean nothing without replay-file.
var replayInputs = []string{"replay-format", "replay-base-url", "replay-hosts", "replay-headers", "replay-speed"}

// replay reads the replay inputs. A replay file replaces the targets, so
// it is read before them (see mix).
func (p *parser) replay(c *Config) {
	src := p.src
	file := src.Get("replay-file")
	format, err := replay.ParseFormat(src.Get("replay-format"))
	if err != nil {
		p.fail("replay-format", err)
	}
	methods, err := parseMethods(src.Get("replay-methods"))
	if err != nil {
		p.fail("replay-methods", err)
	}
	hosts, err := parseHosts(src.Get("replay-hosts"))
	if err != nil {
		p.fail("replay-hosts", err)
	}
	headers, err := replay.ParseHeaders(src.Get("replay-headers"))
	if err != nil {
		p.fail("replay-headers", err)
	}
	speed, err := replay.ParseSpeed(src.Get("replay-speed"))
	if err != nil {
		p.fail("replay-speed", err)
	}
	rawBase := src.Get("replay-base-url")
	var base *url.URL
	if rawBase != "" {
		if base, err = parseBaseURL(rawBase); err != nil {
			p.fail("replay-base-url", err)
		}
	}
	if file == "" {
		for _, input := range replayInputs {
			if v := src.Get(input); v != "" {
				p.fail(input, fmt.Errorf("is %q but replay-file is not set, so nothing is replayed", v))
			}
		}
		if !slices.Equal(methods, replay.DefaultMethods) && len(methods) > 0 {
			p.fail("replay-methods", fmt.Errorf("is %q but replay-file is not set, so nothing is replayed", src.Get("replay-methods")))
		}
		return
	}
	if strings.ContainsAny(file, "\x00\n") {
		p.fail("replay-file", fmt.Errorf("%q is not a file path", file))
		return
	}
	// The file may be large: it is only looked at here, and read by the
	// check, once, before the load.
	if info, err := os.Stat(file); err != nil {
		p.fail("replay-file", fmt.Errorf("%q: %w", file, unwrapPathError(err)))
	} else if !info.Mode().IsRegular() {
		p.fail("replay-file", fmt.Errorf("%q is not a regular file; it is read again from its start when the run outlasts it", file))
	}
	for _, input := range []string{"targets", "targets-file"} {
		if src.Get(input) != "" {
			p.fail("replay-file", fmt.Errorf("is %q but %s is set too; the recorded traffic replaces the targets, so set one", file, input))
		}
	}
	if rawBase == "" {
		p.fail("replay-base-url", errors.New("is empty but replay-file is set; want the staging URL the recorded paths are sent to, such as https://staging.example.com"))
	}
	c.Replay = &Replay{File: file, Format: format, BaseURL: base, Methods: methods, Headers: headers, Hosts: hosts, Speed: speed}
}

// compare reads the compare inputs: after replay and the version inputs,
// which say whether anything is replayed to compare.
func (p *parser) compare(c *Config) {
	src := p.src
	rawURL := src.Get("compare-url")
	rawHeaders := src.Get("compare-headers")
	headers, headersErr := compare.ParseHeaders(rawHeaders)
	if headersErr != nil {
		p.fail("compare-headers", headersErr)
	}
	// Which headers may be ignored depends on those compared: a list
	// that failed says nothing of compare-ignore.
	ignore, err := compare.ParseIgnore(src.Get("compare-ignore"), headers)
	if err != nil && headersErr == nil {
		p.fail("compare-ignore", err)
	}
	sample := p.fraction("compare-sample")
	rawMax := src.Get("max-mismatch-rate")
	var maxRate float64
	if rawMax != "" {
		if maxRate, err = verdict.ParseFraction(rawMax); err != nil {
			p.fail("max-mismatch-rate", err)
		}
	}
	cutOver := c.Replay != nil && (c.VersionHeader != "" || c.VersionField != "")
	var baseline *url.URL
	if rawURL != "" {
		if baseline, err = parseBaseURL(rawURL); err != nil {
			p.fail("compare-url", err)
		}
		switch {
		case c.Replay == nil:
			p.fail("compare-url", fmt.Errorf("is %q but replay-file is not set; the answers compared are those to replayed requests", rawURL))
		case baseline != nil && c.Replay.BaseURL != nil && sameBase(baseline, c.Replay.BaseURL):
			p.fail("compare-url", fmt.Errorf("%q is replay-base-url too; the baseline must be another deployment, such as production or the old version", rawURL))
		}
	}
	if rawMax != "" && rawURL == "" {
		p.fail("max-mismatch-rate", fmt.Errorf("is %q but compare-url is not set, so there is nothing to compare with", rawMax))
	}
	if rawURL == "" && !cutOver {
		if v := src.Get("compare-ignore"); v != "" {
			p.fail("compare-ignore", fmt.Errorf("is %q but no answers are compared; set compare-url, or replay-file with version-header or version-field", v))
		}
		if headers != nil && !slices.Equal(headers, compare.DefaultHeaders) {
			p.fail("compare-headers", fmt.Errorf("is %q but no answers are compared; set compare-url, or replay-file with version-header or version-field", rawHeaders))
		}
		return
	}
	if sample == 0 {
		p.fail("compare-sample", fmt.Errorf("%q compares nothing; want a share above 0%%, such as 10%%", src.Get("compare-sample")))
	}
	c.Compare = &Compare{BaselineURL: baseline, Headers: headers, Ignore: ignore.From("compare-ignore"), Sample: sample, CutOver: cutOver, MaxMismatchRate: maxRate, Judged: rawMax != ""}
}

// parseBaseURL reads a base URL: http or https, a host, no query or
// fragment; its path, if any, prefixes every path sent.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%q is not a base URL; want the scheme and host, such as https://staging.example.com", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q has a query or fragment; want the scheme and host, and a path prefix at most", raw)
	}
	return u, nil
}

func sameBase(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) &&
		strings.TrimSuffix(a.EscapedPath(), "/") == strings.TrimSuffix(b.EscapedPath(), "/")
}

// parseMethods reads a list of methods separated by commas or spaces.
func parseMethods(raw string) ([]string, error) {
	var methods []string
	for _, m := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		upper := strings.ToUpper(m)
		if !validMethodToken(upper) {
			return nil, fmt.Errorf("%q is not a list of methods; %q is not a method, want names such as GET,HEAD", raw, m)
		}
		if !slices.Contains(methods, upper) {
			methods = append(methods, upper)
		}
	}
	switch {
	case strings.TrimSpace(raw) == "":
		return nil, errEmpty("methods such as GET,HEAD")
	case len(methods) == 0:
		return nil, fmt.Errorf("%q lists no method; want methods such as GET,HEAD", raw)
	}
	return methods, nil
}

// parseHosts reads a list of host names separated by commas or spaces.
func parseHosts(raw string) ([]string, error) {
	var hosts []string
	for _, h := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		if strings.Contains(h, "://") || strings.ContainsAny(h, "/?#@") {
			return nil, fmt.Errorf("%q is not a list of hosts; %q is not a host name, want names such as api.example.com", raw, h)
		}
		hosts = append(hosts, strings.ToLower(h))
	}
	return hosts, nil
}

func validMethodToken(m string) bool {
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

// unwrapPathError drops the path from an *os.PathError, which the message
// quotes already.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, os.ErrNotExist) {
			return errors.New("no such file; the path is relative to the workspace")
		}
		return pe.Err
	}
	return err
}

// replayThresholdError says why a threshold cannot name an endpoint of a
// replay: its endpoints are known once the check has read the file.
func replayThresholdError(c *Config, err error) error {
	if c.Replay == nil {
		return err
	}
	return fmt.Errorf("%w; with replay-file the endpoints are known only once the file is read, so a threshold cannot name one yet", err)
}
