package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/zerodowntime/deploy-load-check/internal/messagecheck"
	"github.com/zerodowntime/deploy-load-check/internal/targets/replay"
)

const accessLog = `203.0.113.7 - - [23/Nov/2026:12:00:01 +0000] "GET /v1/images/1842 HTTP/1.1" 200 5120 "-" "curl/8.5"` + "\n"

func TestReplayInputs(t *testing.T) {
	t.Parallel()
	log := writeFile(t, accessLog)
	t.Run("a replay with a baseline", func(t *testing.T) {
		t.Parallel()
		cfg, err := Parse(source(t, map[string]string{
			"replay-file":       log,
			"replay-base-url":   "http://127.0.0.1:8080/api/",
			"replay-format":     "combined",
			"replay-methods":    "get, head,options",
			"replay-speed":      "2x",
			"replay-hosts":      "api.example.com, API.example.org",
			"replay-headers":    "authorization, X-Tenant",
			"compare-url":       "https://api.example.com",
			"compare-headers":   "Content-Type, cache-control",
			"compare-ignore":    "$.meta.request_id, Cache-Control",
			"compare-sample":    "25%",
			"max-mismatch-rate": "0%",
			"bearer-token":      "staging-t0ken",
		}))
		if err != nil {
			t.Fatal(err)
		}
		r := cfg.Replay
		if r == nil || r.File != log || r.Format != replay.AccessLog || r.BaseURL.String() != "http://127.0.0.1:8080/api/" || r.Speed != 2 {
			t.Fatalf("Replay = %+v", r)
		}
		if diff := cmp.Diff([]string{"api.example.com", "api.example.org"}, r.Hosts); diff != "" {
			t.Errorf("hosts (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"GET", "HEAD", "OPTIONS"}, r.Methods); diff != "" {
			t.Errorf("methods (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"Authorization", "X-Tenant"}, r.Headers); diff != "" {
			t.Errorf("recorded headers kept (-want +got):\n%s", diff)
		}
		if len(cfg.Mix.Specs) != 0 {
			t.Errorf("the targets hold %d specs with a replay", len(cfg.Mix.Specs))
		}
		c := cfg.Compare
		if c == nil || c.BaselineURL.String() != "https://api.example.com" || c.Sample != 0.25 || !c.Judged || c.MaxMismatchRate != 0 || c.CutOver {
			t.Fatalf("Compare = %+v", c)
		}
		if diff := cmp.Diff([]string{"Content-Type", "Cache-Control"}, c.Headers); diff != "" {
			t.Errorf("headers compared (-want +got):\n%s", diff)
		}
		if !strings.Contains(strings.Join(cfg.Secrets, " "), "staging-t0ken") {
			t.Errorf("Secrets = %q, want the bearer token among them", cfg.Secrets)
		}
	})
	t.Run("the defaults: GET and HEAD at rate, no comparison", func(t *testing.T) {
		t.Parallel()
		cfg, err := Parse(source(t, map[string]string{"replay-file": log, "replay-base-url": "http://127.0.0.1:8080"}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Replay.Format != replay.Detect || cfg.Replay.Speed != 0 || !cmp.Equal(cfg.Replay.Methods, []string{"GET", "HEAD"}) {
			t.Errorf("Replay = %+v", cfg.Replay)
		}
		if cfg.Compare != nil {
			t.Errorf("Compare = %+v without compare-url or a version input", cfg.Compare)
		}
		if cfg.Replay.Headers != nil {
			t.Errorf("recorded headers kept = %q by default, want only replay.DefaultHeaders", cfg.Replay.Headers)
		}
	})
	t.Run("the headers compared by default", func(t *testing.T) {
		t.Parallel()
		cfg, err := Parse(source(t, map[string]string{"replay-file": log, "replay-base-url": "http://127.0.0.1:8080", "compare-url": "https://api.example.com", "compare-ignore": "location"}))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"Content-Type", "Location"}, cfg.Compare.Headers); diff != "" {
			t.Errorf("headers compared (-want +got):\n%s", diff)
		}
	})
	t.Run("a version header compares answers across the cut-over", func(t *testing.T) {
		t.Parallel()
		cfg, err := Parse(source(t, map[string]string{"replay-file": log, "replay-base-url": "http://127.0.0.1:8080", "version-header": "X-Version", "compare-ignore": "$.served_at"}))
		if err != nil {
			t.Fatal(err)
		}
		if c := cfg.Compare; c == nil || !c.CutOver || c.BaselineURL != nil || c.Judged || c.Sample != 0.1 {
			t.Errorf("Compare = %+v, want the cut-over alone at the default sample", c)
		}
	})
}

func TestBadReplayInputsNameTheInput(t *testing.T) {
	t.Parallel()
	log := writeFile(t, accessLog)
	dir := t.TempDir()
	replaying := map[string]string{"targets": "", "replay-file": log, "replay-base-url": "http://127.0.0.1:8080"}
	tests := []struct {
		name   string
		inputs map[string]string
		input  string
		quote  string
	}{
		{"a replay with targets", map[string]string{"targets": "GET http://127.0.0.1:1/", "replay-file": log, "replay-base-url": "http://127.0.0.1:8080"}, "replay-file", "targets is set too"},
		{"a replay with a targets file", map[string]string{"targets": "", "targets-file": writeFile(t, "GET http://127.0.0.1:1/"), "replay-file": log, "replay-base-url": "http://127.0.0.1:8080"}, "replay-file", "targets-file is set too"},
		{"a replay without a base URL", map[string]string{"targets": "", "replay-file": log}, "replay-base-url", "replay-file is set"},
		{"a missing replay file", map[string]string{"targets": "", "replay-file": filepath.Join(dir, "gone.log"), "replay-base-url": "http://127.0.0.1:8080"}, "replay-file", "no such file"},
		{"a directory as replay file", map[string]string{"targets": "", "replay-file": dir, "replay-base-url": "http://127.0.0.1:8080"}, "replay-file", "not a regular file"},
		{"a base URL without a scheme", with(replaying, "replay-base-url", "staging.example.com"), "replay-base-url", `"staging.example.com" is not a base URL`},
		{"a base URL with a query", with(replaying, "replay-base-url", "http://127.0.0.1:8080/?a=1"), "replay-base-url", `"http://127.0.0.1:8080/?a=1" has a query`},
		{"an unknown format", with(replaying, "replay-format", "csv"), "replay-format", `"csv" is not a replay format`},
		{"a speed in words", with(replaying, "replay-speed", "fast"), "replay-speed", `"fast" is not a replay speed`},
		{"a speed without x", with(replaying, "replay-speed", "2"), "replay-speed", `"2" is not a replay speed`},
		{"a method with a digit", with(replaying, "replay-methods", "GET,P0ST"), "replay-methods", `"P0ST" is not a method`},
		{"no methods", with(replaying, "replay-methods", " , "), "replay-methods", `lists no method`},
		{"a ramp with the recorded pace", with(with(replaying, "replay-speed", "1x"), "ramp-up", "10s"), "ramp-up", `"10s" but replay-speed "1x"`},
		{"a base URL without a replay", map[string]string{"targets": "GET http://127.0.0.1:1/", "replay-base-url": "http://127.0.0.1:8080"}, "replay-base-url", "replay-file is not set"},
		{"a URL as a host", with(replaying, "replay-hosts", "https://api.example.com"), "replay-hosts", `"https://api.example.com" is not a host name`},
		{"hosts without a replay", map[string]string{"targets": "GET http://127.0.0.1:1/", "replay-hosts": "api.example.com"}, "replay-hosts", "replay-file is not set"},
		{"a speed without a replay", map[string]string{"targets": "GET http://127.0.0.1:1/", "replay-speed": "1x"}, "replay-speed", "replay-file is not set"},
		{"methods without a replay", map[string]string{"targets": "GET http://127.0.0.1:1/", "replay-methods": "GET,POST"}, "replay-methods", "replay-file is not set"},
		{"a baseline without a replay", map[string]string{"targets": "GET http://127.0.0.1:1/", "compare-url": "https://api.example.com"}, "compare-url", "replay-file is not set"},
		{"a baseline that is staging", with(replaying, "compare-url", "http://127.0.0.1:8080/"), "compare-url", "is replay-base-url too"},
		{"a baseline that is not a URL", with(replaying, "compare-url", "production"), "compare-url", `"production" is not a base URL`},
		{"a mismatch limit without a baseline", with(replaying, "max-mismatch-rate", "1%"), "max-mismatch-rate", "compare-url is not set"},
		{"a mismatch limit over 100%", with(with(replaying, "compare-url", "https://api.example.com"), "max-mismatch-rate", "150%"), "max-mismatch-rate", `"150%"`},
		{"a sample of nothing", with(with(replaying, "compare-url", "https://api.example.com"), "compare-sample", "0%"), "compare-sample", `"0%" compares nothing`},
		{"a sample over 100%", with(with(replaying, "compare-url", "https://api.example.com"), "compare-sample", "200%"), "compare-sample", `"200%"`},
		{"an ignore list with a bad path", with(with(replaying, "compare-url", "https://api.example.com"), "compare-ignore", "$.items["), "compare-ignore", `"$.items[" is not a JSON path`},
		{"an ignore list with nothing compared", with(replaying, "compare-ignore", "$.served_at"), "compare-ignore", "no answers are compared"},
		{"an ignore list with a path without its $", with(with(replaying, "compare-url", "https://api.example.com"), "compare-ignore", "meta.request_id"), "compare-ignore",
			`input "compare-ignore": "meta.request_id" is neither a JSON path nor a compared header; want a JSON path from the root: "$.meta.request_id", or a header among those compared (Content-Type, Location)`},
		{"an ignore list naming the status", with(with(replaying, "compare-url", "https://api.example.com"), "compare-ignore", "$.a, status"), "compare-ignore", `"status" is neither a JSON path nor a compared header`},
		{"an ignore list naming the body", with(with(replaying, "compare-url", "https://api.example.com"), "compare-ignore", "body"), "compare-ignore", `"body" is neither a JSON path nor a compared header`},
		{"an ignore list naming a header not compared", with(with(replaying, "compare-url", "https://api.example.com"), "compare-ignore", "Date"), "compare-ignore", `"Date" is a header that is not compared`},
		{"an ignore list naming a header compare-headers leaves out", with(with(with(replaying, "compare-url", "https://api.example.com"), "compare-headers", "Content-Type"), "compare-ignore", "Location"), "compare-ignore", `"Location" is a header that is not compared, so ignoring it would hide nothing; want a JSON path from the root such as "$.meta.request_id", or a header among those compared (Content-Type)`},
		{"a JSON path as a header to compare", with(with(replaying, "compare-url", "https://api.example.com"), "compare-headers", "Content-Type, $.meta"), "compare-headers", `"$.meta" is not a header name`},
		{"headers to compare with nothing compared", with(replaying, "compare-headers", "Date"), "compare-headers", "no answers are compared"},
		{"a hop-by-hop header to replay", with(replaying, "replay-headers", "Authorization, Host"), "replay-headers", `header "Host" cannot be replayed: the client sets it`},
		{"a header to replay that is not a name", with(replaying, "replay-headers", "X:Tenant"), "replay-headers", `"X:Tenant" is not a header name`},
		{"headers to replay without a replay", map[string]string{"targets": "GET http://127.0.0.1:1/", "replay-headers": "Authorization"}, "replay-headers", "replay-file is not set"},
		{"a threshold naming an endpoint of a replay", with(replaying, "thresholds", "GET /v1/images/{id}: p(99)<1s"), "thresholds", "known only once the file is read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(source(t, tt.inputs))
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Parse error = %v, want a *config.Error", err)
			}
			if cerr.Input != tt.input || !strings.Contains(err.Error(), tt.quote) {
				t.Errorf("error %q, want one naming input %q and saying %s", err, tt.input, tt.quote)
			}
			messagecheck.Check(t, "Parse", tt.name, err)
		})
	}
}

func with(inputs map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for key, value := range inputs {
		if key != k {
			out[key] = value
		}
	}
	return out
}

func TestAReplayFileIsOnlyLookedAt(t *testing.T) {
	t.Parallel()
	// A file the check could not read still parses: reading it is the
	// check's business, once, before the load.
	path := filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, []byte("not a log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(source(t, map[string]string{"targets": "", "replay-file": path, "replay-base-url": "http://127.0.0.1:8080"})); err != nil {
		t.Errorf("Parse = %v; the file's content is for the check to read", err)
	}
}
