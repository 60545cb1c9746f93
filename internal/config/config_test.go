package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// writeFile writes text to a file of its own and returns its path.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "targets")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readSpec(t *testing.T) *Spec {
	t.Helper()
	raw, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseSpec(raw)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// source builds a Source as the runner would present inputs: INPUT_*
// variables over the declared defaults.
func source(t *testing.T, inputs map[string]string) *Source {
	t.Helper()
	env := map[string]string{"GITHUB_REPOSITORY": "acme/api", "GITHUB_TOKEN": "t0ken"}
	for k, v := range inputs {
		env[EnvName(k)] = v
	}
	src, _, err := NewSource(readSpec(t), nil, MapEnv(env), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestEveryDeclaredInputIsReadAndNoOther(t *testing.T) {
	t.Parallel()
	spec := readSpec(t)
	src := source(t, map[string]string{"targets": "http://127.0.0.1:8080/"})
	if _, err := Parse(src); err != nil {
		t.Fatal(err)
	}
	for _, in := range spec.Inputs {
		if !src.Asked(in.Name) {
			t.Errorf("action.yml declares input %q but Parse never reads it", in.Name)
		}
	}
	for name := range src.asked {
		if _, ok := spec.Input(name); !ok {
			t.Errorf("Parse reads input %q that action.yml does not declare", name)
		}
	}
}

func TestActionYMLMatchesTheSchema(t *testing.T) {
	t.Parallel()
	validateAgainstSchema(t, "../../action.yml", "github-action.json")
}

func TestEveryOutputIsDescribed(t *testing.T) {
	t.Parallel()
	for _, out := range readSpec(t).Outputs {
		if out.Description == "" {
			t.Errorf("output %q has no description", out.Name)
		}
	}
	for _, in := range readSpec(t).Inputs {
		if in.Description == "" {
			t.Errorf("input %q has no description", in.Name)
		}
	}
}

func TestDefaultsGiveAPRCheck(t *testing.T) {
	t.Parallel()
	cfg, err := Parse(source(t, map[string]string{"targets": "GET http://127.0.0.1:8080/health\nPOST http://127.0.0.1:8080/orders"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Deploy != nil {
		t.Errorf("Deploy = %+v, want nil without a workflow", cfg.Deploy)
	}
	if cfg.Rate != (vegeta.Rate{Freq: 10, Per: time.Second}) || cfg.Duration != time.Minute || cfg.Timeout != 10*time.Second {
		t.Errorf("rate %v, duration %s, timeout %s; want 10/1s, 1m, 10s", cfg.Rate, cfg.Duration, cfg.Timeout)
	}
	if len(cfg.Thresholds) != 2 || cfg.Thresholds[0].String() != "error_rate<=1%" || cfg.Thresholds[1].String() != "downtime<=0s" {
		t.Errorf("thresholds = %v, want the defaults error_rate<=1%% and downtime<=0s", cfg.Thresholds)
	}
	if diff := cmp.Diff([]string{"GET /health", "POST /orders"}, cfg.Names()); diff != "" {
		t.Errorf("target names (-want +got):\n%s", diff)
	}
}

func TestDeployInputs(t *testing.T) {
	t.Parallel()
	cfg, err := Parse(source(t, map[string]string{
		"targets":         "http://127.0.0.1:8080/",
		"workflow":        "deploy-staging.yml",
		"workflow-inputs": "environment=staging\nversion = 1.2.3",
		"head":            "30s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Deploy
	if d == nil {
		t.Fatal("Deploy = nil with a workflow set")
	}
	want := map[string]string{"environment": "staging", "version": "1.2.3"}
	if diff := cmp.Diff(want, d.Inputs); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	if d.Owner != "acme" || d.Repo != "api" || d.Token != "t0ken" || d.Head != 30*time.Second || d.Tail != 2*time.Minute || !d.FailOnDeployFailure {
		t.Errorf("deploy = %+v", d)
	}
}

func TestBadInputNamesTheInputAndQuotesTheValue(t *testing.T) {
	t.Parallel()
	good := "http://127.0.0.1:8080/"
	tests := []struct {
		name   string
		inputs map[string]string
		input  string // the input the error must name
		quote  string // the text the error must quote
	}{
		{"vegeta's as-fast-as-possible rate", map[string]string{"rate": "0"}, "rate", `"0" is not a constant rate`},
		{"vegeta's infinite rate", map[string]string{"rate": "infinity"}, "rate", `"infinity" is not a constant rate`},
		{"a rate in words", map[string]string{"rate": "fast"}, "rate", `"fast"`},
		{"a zero rate", map[string]string{"rate": "0/1s"}, "rate", `"0/1s"`},
		{"a negative rate", map[string]string{"rate": "-5/1s"}, "rate", `"-5/1s"`},
		{"a rate per unitless duration", map[string]string{"rate": "50/1"}, "rate", `"50/1"`},
		{"a zero duration", map[string]string{"duration": "0s"}, "duration", `"0s"`},
		{"a negative duration", map[string]string{"duration": "-1m"}, "duration", `"-1m"`},
		{"a duration without unit", map[string]string{"duration": "60"}, "duration", `"60"`},
		{"a negative timeout", map[string]string{"timeout": "-1s"}, "timeout", `"-1s"`},
		{"a ramp longer than the run", map[string]string{"ramp-up": "2m"}, "ramp-up", `"2m"`},
		{"a lower-case method", map[string]string{"targets": "fetch " + good}, "targets", `"fetch ` + good + `": want METHOD URL`},
		{"an ftp URL", map[string]string{"targets": "ftp://127.0.0.1/x"}, "targets", `"ftp://127.0.0.1/x"`},
		{"a URL without scheme", map[string]string{"targets": "127.0.0.1:8080/health"}, "targets", `"127.0.0.1:8080/health"`},
		{"a URL without host", map[string]string{"targets": "http:///path"}, "targets", `"http:///path"`},
		{"a malformed URL", map[string]string{"targets": "http://[::1/"}, "targets", `"http://[::1/"`},
		{"a bad port", map[string]string{"targets": "http://127.0.0.1:99999/"}, "targets", `"99999"`},
		{"no targets", map[string]string{"targets": "# nothing\n\n"}, "targets", "no targets"},
		{"a name given twice", map[string]string{"targets": "# @name a\n" + good + "\n# @name a\nPOST " + good}, "targets", `the name "a" is taken`},
		{"a bad JSON target file", map[string]string{"targets-file": writeFile(t, `{"method":"GET","url":"http://127.0.0.1:1/"} xyz`)}, "targets-file", `after top-level value`},
		{"a JSON target with trailing data inline", map[string]string{"targets": `{"method":"GET","url":"http://127.0.0.1:1/"}{}`}, "targets", `after top-level value`},
		{"a k6 metric not measured", map[string]string{"thresholds": "http_req_waiting: p(95)<100"}, "thresholds", `k6 metric "http_req_waiting" is not measured`},
		{"a percentile that is not a number", map[string]string{"thresholds": "p(foo)<1"}, "thresholds", `"foo" is not a percentile`},
		{"a phase scope", map[string]string{"thresholds": "http_req_duration{phase:deploy}: p(99)<1s"}, "thresholds", `a run without a deploy has no phases`},
		{"an error rate over 100%", map[string]string{"max-error-rate": "150%"}, "max-error-rate", `"150%"`},
		{"a negative latency", map[string]string{"max-p95": "-5ms"}, "max-p95", `"-5ms"`},
		{"a latency without unit", map[string]string{"max-p99": "500"}, "max-p99", `"500"`},
		{"a bad downtime", map[string]string{"max-downtime": "never"}, "max-downtime", `"never"`},
		{"a percentile over 100", map[string]string{"thresholds": "p(101)<1s"}, "thresholds", `"p(101)<1s"`},
		{"a doubled operator", map[string]string{"thresholds": "p(95)<<3"}, "thresholds", `"p(95)<<3"`},
		{"broken workflow inputs", map[string]string{"workflow": "d.yml", "workflow-inputs": `{"a":`}, "workflow-inputs", `"{\"a\":"`},
		{"broken client payload", map[string]string{"event-type": "deploy", "client-payload": `{"a"`}, "client-payload", `"{\"a\""`},
		{"a repository without a slash", map[string]string{"workflow": "d.yml", "repository": "acme"}, "repository", `"acme"`},
		{"workflow and event-type with inputs", map[string]string{"workflow": "d.yml", "event-type": "deploy", "workflow-inputs": "a=b"}, "workflow-inputs", "event-type"},
		{"a non-boolean", map[string]string{"fail-on-deploy-failure": "maybe"}, "fail-on-deploy-failure", `"maybe"`},
		{"a zero poll interval", map[string]string{"poll-interval": "0s"}, "poll-interval", `"0s"`},
		{"a workflow with a path", map[string]string{"workflow": ".github/workflows/d.yml"}, "workflow", `".github/workflows/d.yml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inputs := map[string]string{"targets": good}
			for k, v := range tt.inputs {
				inputs[k] = v
			}
			_, err := Parse(source(t, inputs))
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Parse error = %v, want a *config.Error", err)
			}
			if cerr.Input != tt.input {
				t.Errorf("error names input %q, want %q: %v", cerr.Input, tt.input, err)
			}
			if !strings.Contains(err.Error(), tt.quote) {
				t.Errorf("error %q does not contain %s", err, tt.quote)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want vegeta.Rate
	}{
		{"100", vegeta.Rate{Freq: 100, Per: time.Second}}, // as vegeta, k6, wrk2 and hey read it
		{" 7 ", vegeta.Rate{Freq: 7, Per: time.Second}},
		{"50/1s", vegeta.Rate{Freq: 50, Per: time.Second}},
		{"50/s", vegeta.Rate{Freq: 50, Per: time.Second}},
		{"3000/1m", vegeta.Rate{Freq: 3000, Per: time.Minute}},
		{"1/500ms", vegeta.Rate{Freq: 1, Per: 500 * time.Millisecond}},
		{" 7 / 2s ", vegeta.Rate{Freq: 7, Per: 2 * time.Second}},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestFlagsOverrideEnvironmentOverDefaults(t *testing.T) {
	t.Parallel()
	env := map[string]string{"INPUT_RATE": "20/1s", "INPUT_TARGETS": "http://127.0.0.1:1/a"}
	src, rest, err := NewSource(readSpec(t), []string{"--rate", "30/1s", "--targets", "http://127.0.0.1:1/b", "--targets", "http://127.0.0.1:1/c", "extra"}, MapEnv(env), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"extra"}, rest); diff != "" {
		t.Errorf("rest (-want +got):\n%s", diff)
	}
	if got := src.Get("rate"); got != "30/1s" {
		t.Errorf("rate = %q, want the flag's 30/1s", got)
	}
	if got := src.Get("targets"); got != "http://127.0.0.1:1/b\nhttp://127.0.0.1:1/c" {
		t.Errorf("targets = %q, want both flags as lines", got)
	}
	if got := src.Get("duration"); got != "1m" {
		t.Errorf("duration = %q, want the default 1m", got)
	}
}

func TestTargetsFromBothInputsAreOneMix(t *testing.T) {
	t.Parallel()
	file := writeFile(t, `{"method": "PURGE", "url": "http://127.0.0.1:1/cache"}
{"method": "GET", "url": "http://127.0.0.1:1/a"}
`)
	_, err := Parse(source(t, map[string]string{
		"targets":      `{"method": "GET", "url": "http://127.0.0.1:1/a"}` + "\n" + `{"method": "GET", "url": "http://127.0.0.1:1/a", "name": "named"}`,
		"targets-file": file,
		"rate":         "100",
		"thresholds":   "http_req_duration: ['p(95)<500', 'p(99)<1500']\nnamed: http_req_failed: rate<0.01",
	}))
	if err == nil || !strings.Contains(err.Error(), `input "thresholds": line 2`) {
		t.Fatalf("a line with both a target and a k6 metric: error = %v, want one about thresholds line 2", err)
	}
	cfg, err := Parse(source(t, map[string]string{
		"targets":      `{"method": "GET", "url": "http://127.0.0.1:1/a"}` + "\n" + `{"method": "GET", "url": "http://127.0.0.1:1/a", "name": "named"}`,
		"targets-file": file,
		"rate":         "100",
		"thresholds":   "http_req_duration: ['p(95)<500', 'p(99)<1500']\nhttp_req_failed{target:named}: rate<0.01",
	}))
	if err != nil {
		t.Fatal(err)
	}
	type named struct {
		Name   string
		Weight int
	}
	var got []named
	for _, s := range cfg.Mix.Specs {
		got = append(got, named{s.Name, s.Weight})
	}
	// The same GET in both inputs is one target of weight 2.
	want := []named{{"GET /a", 2}, {"named", 0}, {"PURGE /cache", 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
	if cfg.Rate != (vegeta.Rate{Freq: 100, Per: time.Second}) {
		t.Errorf("rate = %v, want 100/1s", cfg.Rate)
	}
	var thresholds []string
	for _, th := range cfg.Thresholds {
		thresholds = append(thresholds, th.String()+" ("+th.Source+")")
	}
	wantThresholds := []string{"error_rate<=1% (max-error-rate)", "downtime<=0s (max-downtime)", "p(95)<500ms (thresholds)", "p(99)<1.5s (thresholds)", "named: error_rate<1% (thresholds)"}
	if diff := cmp.Diff(wantThresholds, thresholds); diff != "" {
		t.Errorf("thresholds (-want +got):\n%s", diff)
	}
}
