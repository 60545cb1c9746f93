package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/standin"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// demo runs the check against a staging environment of its own on
// loopback. "demo" runs the deploy timeline: a stand-in GitHub's deploy
// workflow restarts the API with a short blip, which the action's default
// limits catch. "demo pr-check" holds load on the API alone. Flags still
// override the demo's inputs.
//
// The demo reads nothing from the environment: inputs and GITHUB_* set by
// a workflow never reach it, so it can dispatch to no real GitHub, and it
// writes its report into a directory of its own, never into the working
// tree. It exits 0 when the check came out as the demo meant it to, the
// blip caught included.
func (c *command) demo(ctx context.Context, args []string) (int, error) {
	prCheck := len(args) > 0 && args[0] == "pr-check"
	if prCheck {
		args = args[1:]
	}
	dir, err := os.MkdirTemp(c.tempDir, "deploy-load-check-demo-")
	if err != nil {
		return exitSetup, fmt.Errorf("demo: %w", err)
	}
	out := &lockedWriter{w: c.stdout}
	staging, err := demo.StartStaging(out)
	if err != nil {
		return exitSetup, err
	}
	defer staging.Close()

	env := demoEnv(staging, dir, prCheck, out)
	// From here on the command, its error printing included, sees the
	// demo's environment alone.
	c.lookupEnv = config.MapEnv(env)
	c.stdout = out
	// What the check will do is told once the flags have had their say.
	c.parsed = func(cfg *config.Config) { demoPlan(out, staging.API, cfg) }
	code, rep, err := c.check(ctx, args)
	if err != nil || rep == nil || prCheck {
		return code, err
	}
	designed, what := demoOutcome(rep)
	if !designed {
		return max(code, exitBreach), fmt.Errorf("demo: not as designed: %s", what)
	}
	fmt.Fprintf(out, "demo: as designed, %s\n", what)
	return exitPass, nil
}

// demoEnv is the demo's whole environment: its inputs, and the stand-in
// GitHub's address for a deploy. It tells out what the demo starts.
func demoEnv(staging *demo.Staging, dir string, prCheck bool, out io.Writer) map[string]string {
	api := staging.API
	inputs := map[string]string{
		"targets":     api.Targets(),
		"rate":        "100/1s",
		"ramp-up":     "1s",
		"timeout":     "2s",
		"max-p99":     "250ms",
		"thresholds":  "p(95)<100ms",
		"report-file": filepath.Join(dir, "deploy-load-check-report.json"),
	}
	env := map[string]string{}
	if prCheck {
		inputs["duration"] = "5s"
		inputs["thresholds"] += "\ndowntime<=500ms"
	} else {
		for k, v := range map[string]string{
			"head":              "3s",
			"tail":              "3s",
			"poll-interval":     "1s",
			"deploy-timeout":    "1m",
			"workflow":          demo.Workflow,
			"workflow-inputs":   "version=v2",
			"correlation-input": standin.DefaultCorrelationInput,
			"repository":        standin.DefaultOwner + "/" + standin.DefaultRepo,
			"github-token":      demo.Token,
			"version-header":    "X-Version",
		} {
			inputs[k] = v
		}
		env["GITHUB_API_URL"] = staging.GitHub.URL
		fmt.Fprintf(out, "demo: the staging API at %s answers as %s\n", api.URL, api.Version())
		fmt.Fprintf(out, "demo: a stand-in GitHub at %s holds %s/%s; its workflow %s deploys v2 by restarting the API, nothing listening for %d ms, in step %q\n",
			staging.GitHub.URL, standin.DefaultOwner, standin.DefaultRepo, demo.Workflow, demo.Blip.Milliseconds(), demo.DeployStep)
	}
	for name, value := range inputs {
		env[config.EnvName(name)] = value
	}
	return env
}

// demoPlan tells out what the check will do with the inputs as read,
// the demo's own and the flags given over them.
func demoPlan(out io.Writer, api *demo.API, cfg *config.Config) {
	if d := cfg.Deploy; d != nil {
		fmt.Fprintf(out, "demo: the check holds load at %s for %s, dispatches the deploy, follows its run, then holds load %s more\n", rateText(cfg.Rate), d.Head, d.Tail)
		return
	}
	fmt.Fprintf(out, "demo: a PR check: %s of load at %s on the staging API at %s, version %s, with no deploy\n", cfg.Duration, rateText(cfg.Rate), api.URL, api.Version())
}

// rateText writes a rate as the check's log does: 100/s, 3000/1m0s.
func rateText(r vegeta.Rate) string {
	if r.Per == time.Second {
		return fmt.Sprintf("%d/s", r.Freq)
	}
	return fmt.Sprintf("%d/%s", r.Freq, r.Per)
}

// demoOutcome says whether the deploy demo came out as designed, and
// what happened: the deploy run succeeded, the blip showed as downtime
// during the deploy that recovered, and the check either failed for that
// alone (the default limits) or passed (limits that allow it, given as
// flags).
func demoOutcome(rep *report.Report) (bool, string) {
	d := rep.Deploy
	if d == nil || d.Conclusion != "success" || d.Problem != "" {
		return false, "the deploy run was not followed to a success: " + strings.Join(rep.Reasons(), "; ")
	}
	seen := false
	for _, t := range rep.Summary.Targets {
		for _, w := range t.Down.List {
			if w.Open || w.Start < d.Dispatched || (d.Completed > 0 && w.Start > d.Completed) {
				return false, fmt.Sprintf("%s went down outside the deploy, %s after the load started", t.Name, w.Start.Round(time.Millisecond))
			}
			seen = true
		}
	}
	if !seen {
		return false, "the deploy restarted the API, but no request failed: the load missed the blip"
	}
	blip := fmt.Sprintf("the deploy's restart dropped %d requests", rep.Summary.Overall.Failures)
	switch rep.Verdict() {
	case report.Pass:
		return true, "the check passed: " + blip + ", within the limits given"
	case report.Fail:
		var broken []string
		for _, c := range rep.Checks {
			if c.Pass {
				continue
			}
			if c.Metric != verdict.Downtime && c.Metric != verdict.ErrorRate {
				return false, fmt.Sprintf("the check failed on %s (%s), which the blip should not break", c, c.Source)
			}
			broken = append(broken, fmt.Sprintf("%s (%s)", c, c.Source))
		}
		if rep.FailOnShortfall && !rep.Health.Reliable() {
			return false, "the load generator could not keep its schedule: " + rep.Health.Problem()
		}
		if len(broken) == 0 {
			return false, "the check failed: " + strings.Join(rep.Reasons(), "; ")
		}
		return true, fmt.Sprintf("the check failed: %s, breaking %s. "+
			"In a workflow this fails the job (exit 1); the demo exits 0, as catching the blip is what it shows. "+
			"`demo pr-check` shows a check that passes.", blip, strings.Join(broken, " and "))
	}
	return false, "the check's verdict is " + rep.Verdict()
}

// lockedWriter serializes writes from the check and the demo's deploy.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
