package config

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/zerodowntime/deploy-load-check/internal/targets/replay"
)

// thresholdFrom reports whether cfg holds a threshold that input set.
func thresholdFrom(cfg *Config, input string) bool {
	for _, th := range cfg.Thresholds {
		if th.Source == input {
			return true
		}
	}
	return false
}

// The runner sets a variable for every declared input, with action.yml's
// default filled in; a variable that is there but empty was set empty by
// the workflow (max-downtime: ""), and must not turn into the default.
func TestAnInputSetEmptyIsEmptyAndAnAbsentOneTakesItsDefault(t *testing.T) {
	t.Parallel()
	targets := map[string]string{EnvName("targets"): "http://127.0.0.1:8080/"}
	read := func(t *testing.T, env map[string]string, args ...string) *Config {
		t.Helper()
		src, _, err := NewSource(readSpec(t), args, MapEnv(env), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}

	t.Run("an absent variable takes the default", func(t *testing.T) {
		t.Parallel()
		cfg := read(t, targets)
		if !thresholdFrom(cfg, "max-downtime") || cfg.ReportFile != "deploy-load-check-report.json" {
			t.Errorf("thresholds %v, report-file %q; want max-downtime's downtime<=0s and the default report", cfg.Thresholds, cfg.ReportFile)
		}
	})
	t.Run("a variable set empty is empty", func(t *testing.T) {
		t.Parallel()
		cfg := read(t, with(with(targets, EnvName("max-downtime"), ""), EnvName("report-file"), ""))
		if thresholdFrom(cfg, "max-downtime") || cfg.ReportFile != "" {
			t.Errorf("thresholds %v, report-file %q; want no downtime limit and no report", cfg.Thresholds, cfg.ReportFile)
		}
	})
	t.Run("a variable of blanks is empty", func(t *testing.T) {
		t.Parallel()
		cfg := read(t, with(targets, EnvName("max-downtime"), "  \n"))
		if thresholdFrom(cfg, "max-downtime") {
			t.Errorf("thresholds %v, want no downtime limit", cfg.Thresholds)
		}
	})
	t.Run("a flag set empty is empty over the variable", func(t *testing.T) {
		t.Parallel()
		cfg := read(t, with(targets, EnvName("report-file"), "r.json"), "--max-downtime", "", "--report-file=")
		if thresholdFrom(cfg, "max-downtime") || cfg.ReportFile != "" {
			t.Errorf("thresholds %v, report-file %q; want no downtime limit and no report", cfg.Thresholds, cfg.ReportFile)
		}
	})
}

// emptyMeans checks, for each input whose description in action.yml says
// what an empty value means, that it means that.
var emptyMeans = map[string]struct {
	with  map[string]string // the other inputs it needs to mean anything
	means func(*Config) bool
}{
	"replay-format":     {replaying, func(c *Config) bool { return c.Replay != nil && c.Replay.Format == replay.Detect }},
	"replay-hosts":      {replaying, func(c *Config) bool { return c.Replay != nil && c.Replay.Hosts == nil }},
	"replay-speed":      {replaying, func(c *Config) bool { return c.Replay != nil && c.Replay.Speed == 0 }},
	"compare-headers":   {comparing, func(c *Config) bool { return c.Compare != nil && len(c.Compare.Headers) == 0 }},
	"max-mismatch-rate": {comparing, func(c *Config) bool { return c.Compare != nil && !c.Compare.Judged }},
	"health-url":        {nil, func(c *Config) bool { return c.HealthURL == "" }},
	"max-p95":           {nil, func(c *Config) bool { return !thresholdFrom(c, "max-p95") }},
	"max-p99":           {nil, func(c *Config) bool { return !thresholdFrom(c, "max-p99") }},
	"max-error-rate":    {nil, func(c *Config) bool { return !thresholdFrom(c, "max-error-rate") }},
	"max-downtime":      {nil, func(c *Config) bool { return !thresholdFrom(c, "max-downtime") }},
	"max-regression":    {deploying, func(c *Config) bool { return c.Deploy != nil && c.Regression == nil }},
	"shard":             {nil, func(c *Config) bool { return c.Shard == nil }},
	"report-file":       {nil, func(c *Config) bool { return c.ReportFile == "" }},
	"results-file":      {nil, func(c *Config) bool { return c.ResultsFile == "" }},
	"workflow":          {nil, func(c *Config) bool { return c.Deploy == nil }},
	"workflow-ref":      {deploying, func(c *Config) bool { return c.Deploy != nil && c.Deploy.Ref == "" }},
	"deploy-job":        {deploying, func(c *Config) bool { return c.Deploy != nil && c.Deploy.Job == "" }},
}

var (
	replaying = map[string]string{"targets": "", "replay-file": "$LOG", "replay-base-url": "http://127.0.0.1:8080"}
	comparing = with(replaying, "compare-url", "http://127.0.0.2:8080")
	deploying = map[string]string{"workflow": "deploy-staging.yml", "workflow-ref": "main", "deploy-job": "deploy", "max-regression": "20%"}
)

func TestEveryInputThatSaysWhatEmptyMeansMeansIt(t *testing.T) {
	t.Parallel()
	log := writeFile(t, accessLog)
	for _, in := range readSpec(t).Inputs {
		says := strings.Contains(in.Description, "Empty ")
		check, checked := emptyMeans[in.Name]
		switch {
		case says && !checked:
			t.Errorf("input %q says what empty means, but emptyMeans does not check it", in.Name)
			continue
		case !says && checked:
			t.Errorf("emptyMeans checks input %q, whose description does not say what empty means", in.Name)
			continue
		case !says:
			continue
		}
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			inputs := map[string]string{"targets": "http://127.0.0.1:8080/"}
			for k, v := range check.with {
				inputs[k] = strings.ReplaceAll(v, "$LOG", log)
			}
			inputs[in.Name] = ""
			cfg, err := Parse(source(t, inputs))
			if err != nil {
				t.Fatalf("%s set empty: %v", in.Name, err)
			}
			if !check.means(cfg) {
				t.Errorf("%s set empty does not mean what its description says: %q", in.Name, in.Description)
			}
		})
	}
}

// An input whose empty value means nothing must say so, naming itself,
// rather than take a default the workflow did not ask for.
func TestAnInputThatNeedsAValueSaysItIsEmpty(t *testing.T) {
	t.Parallel()
	for _, input := range []string{
		"targets", "users", "hmac-header", "hmac-timestamp-header", "jwt-ttl", "rate", "max-rate", "max-workers",
		"preflight-timeout", "ramp-up", "duration", "timeout", "regression-floor", "fresh-connection-rate",
		"degraded-error-rate", "fail-on-load-shortfall", "head", "tail", "poll-interval", "deploy-timeout",
		"fail-on-deploy-failure", "cancel-deploy-on-abort", "replay-methods", "compare-sample",
	} {
		t.Run(input, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(source(t, map[string]string{"targets": "http://127.0.0.1:8080/", input: ""}))
			var cerr *Error
			if !errors.As(err, &cerr) || cerr.Input != input || !strings.HasPrefix(cerr.Err.Error(), "is empty") {
				t.Errorf("%s set empty: error %v, want input %q: is empty; want ...", input, err, input)
			}
		})
	}
	t.Run("jwt-claims with a JWT", func(t *testing.T) {
		t.Parallel()
		_, err := Parse(source(t, map[string]string{"targets": "http://127.0.0.1:8080/", "jwt-secret": "s3cret-for-jwt", "jwt-claims": ""}))
		if err == nil || !strings.HasPrefix(err.Error(), `input "jwt-claims": is empty; want `) {
			t.Errorf("jwt-claims set empty with jwt-secret: error %v, want it named and called empty", err)
		}
	})
	t.Run("shard-key with a shard", func(t *testing.T) {
		t.Parallel()
		_, err := Parse(source(t, map[string]string{"targets": "http://127.0.0.1:8080/", "shard": "1/2", "shard-key": ""}))
		if err == nil || !strings.HasPrefix(err.Error(), `input "shard-key": is empty`) {
			t.Errorf("shard-key set empty with a shard: error %v, want it named and called empty", err)
		}
	})
}
