package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/check"
	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/report"
)

//go:embed action.yml
var actionYML []byte

// Exit codes. For GitHub any non-zero code fails the step; a CLI user can
// tell a breach from a broken setup.
const (
	exitPass         = 0
	exitBreach       = 1
	exitSetup        = 2
	exitCancelled    = 3
	exitInconclusive = 4
)

// command is the Actions and CLI adapter around check.Run: it reads the
// inputs (flags, INPUT_* variables, action.yml's defaults), masks secrets,
// runs the check, publishes what it found and picks the exit code. Every
// outside dependency is a field, so the whole command runs in tests with
// buffers and a map for the environment.
type command struct {
	// lookupEnv answers a variable and whether it is set, as os.LookupEnv
	// does: an input's variable set empty is an input set empty.
	lookupEnv      func(string) (string, bool)
	stdout, stderr io.Writer
	// tune, when set, adjusts the process to the load (open files,
	// GOMAXPROCS); tests running many commands in one process leave it nil.
	tune func(cfg *config.Config, logf func(string, ...any))
	// clock, when set, replaces the wall clock of the timeline.
	clock check.Clock
	// tempDir is where the demo makes the directory for its report; empty
	// means the system's (TMPDIR).
	tempDir string
	// parsed, when set, is called with the inputs once they are read,
	// before anything is sent: the demo tells what it will do.
	parsed func(*config.Config)
}

// main runs the command and returns the process exit code.
func (c *command) main(ctx context.Context, args []string) int {
	code, err := c.run(ctx, args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return code
	}
	if c.getenv("GITHUB_ACTIONS") == "true" {
		c.actions().Errorf("%s", err)
	}
	fmt.Fprintf(c.stderr, "deploy-load-check: %s\n", err)
	return code
}

// getenv answers a variable, empty when it is not set.
func (c *command) getenv(key string) string {
	v, _ := c.lookupEnv(key)
	return v
}

func (c *command) actions() *githubactions.Action {
	return githubactions.New(githubactions.WithWriter(c.stdout), githubactions.WithGetenv(c.getenv))
}

func (c *command) logf(format string, args ...any) {
	fmt.Fprintf(c.stdout, format+"\n", args...)
}

// run runs the check, or the demo. It returns the exit code, and the
// error to print when there is one.
func (c *command) run(ctx context.Context, args []string) (int, error) {
	if len(args) > 0 && args[0] == "demo" {
		return c.demo(ctx, args[1:])
	}
	code, _, err := c.check(ctx, args)
	return code, err
}

// check reads the inputs, runs the check (or merges the shards' reports)
// and publishes its report. It returns the exit code, the report when
// there is one, and the error to print when there is one.
func (c *command) check(ctx context.Context, args []string) (int, *report.Report, error) {
	cfg, err := c.parse(args)
	if err != nil {
		return exitSetup, nil, err
	}
	if c.parsed != nil {
		c.parsed(cfg)
	}
	if c.tune != nil && cfg.Merge == "" {
		c.tune(cfg, c.logf)
	}
	rep, runErr := c.runCheck(ctx, cfg)
	if rep == nil {
		if ctx.Err() != nil {
			// Cancelled before any load: no figures, but a workflow
			// reading the verdict must still find one.
			if err := publishCancelled(c.getenv, c.stdout); err != nil {
				return exitCancelled, nil, fmt.Errorf("%w; %w", runErr, err)
			}
			return exitCancelled, nil, runErr
		}
		return exitSetup, nil, runErr
	}
	if err := c.publish(cfg, rep); err != nil {
		return exitSetup, rep, err
	}
	return exitCodeOf(rep, runErr)
}

// runCheck runs the check, or the merge of its shards' reports.
func (c *command) runCheck(ctx context.Context, cfg *config.Config) (*report.Report, error) {
	if cfg.Merge != "" {
		return check.Merge(cfg, check.Deps{Log: c.stdout})
	}
	deps, closeDeps, err := c.deps(cfg)
	if err != nil {
		return nil, err
	}
	rep, runErr := check.Run(ctx, cfg, deps)
	if err := closeDeps(); err != nil && runErr == nil {
		runErr = &config.Error{Input: "results-file", Err: fmt.Errorf("%q: %w", cfg.ResultsFile, err)}
	}
	return rep, runErr
}

// exitCodeOf picks the exit code of a run that wrote its report.
func exitCodeOf(rep *report.Report, runErr error) (int, *report.Report, error) {
	var shardErr *check.ShardError
	switch {
	case rep.Cancelled:
		return exitCancelled, rep, fmt.Errorf("cancelled after %s of load; the partial report was written", rep.Summary.Elapsed.Round(time.Second))
	case errors.As(runErr, &shardErr):
		// A shard that followed no deploy, or lost it, fails its job as
		// the check it is part of fails; its verdict annotation says why.
		return exitBreach, rep, nil
	case runErr != nil:
		return exitSetup, rep, runErr
	case rep.Verdict() == report.Sharded:
		return exitPass, rep, nil
	case rep.Verdict() == report.Inconclusive:
		return exitInconclusive, rep, nil
	case !rep.Passed():
		return exitBreach, rep, nil
	}
	return exitPass, rep, nil
}

// parse reads every input. Secrets are masked the moment they are read,
// before anything could print them.
func (c *command) parse(args []string) (*config.Config, error) {
	spec, err := config.ParseSpec(actionYML)
	if err != nil {
		return nil, err
	}
	src, rest, err := config.NewSource(spec, args, c.lookupEnv, c.stderr)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, &config.Error{Input: "arguments", Err: fmt.Errorf("unexpected %q; inputs are given as flags such as --rate 50/1s, and the only command is demo", rest[0])}
	}
	if c.getenv("GITHUB_ACTIONS") == "true" {
		src.OnSecret(c.actions().AddMask)
	}
	return config.Parse(src)
}

// deps builds what the check needs from outside: the GitHub client for a
// deploy, the results file. The returned func closes what was opened.
func (c *command) deps(cfg *config.Config) (check.Deps, func() error, error) {
	deps := check.Deps{Log: c.stdout, Clock: c.clock}
	closeAll := func() error { return nil }
	if cfg.Deploy != nil {
		client, err := deploy.New(cfg.Deploy.Token, c.getenv("GITHUB_API_URL"), deploy.WithLogger(c.deployLog))
		if err != nil {
			return deps, nil, err
		}
		deps.GitHub = client
	}
	if cfg.ResultsFile != "" {
		f, err := os.Create(cfg.ResultsFile)
		if err != nil {
			return deps, nil, &config.Error{Input: "results-file", Err: err}
		}
		deps.Results, closeAll = f, f.Close
	}
	return deps, closeAll, nil
}

// deployLog prints the deploy client's progress; its warnings become
// warning annotations in Actions.
func (c *command) deployLog(msg string) {
	if warning, ok := strings.CutPrefix(msg, "warning: "); ok && c.getenv("GITHUB_ACTIONS") == "true" {
		c.actions().Warningf("deploy: %s", warning)
		return
	}
	c.logf("deploy: %s", msg)
}

// publish writes the report file, the job summary, the step outputs and
// the verdict's annotation.
func (c *command) publish(cfg *config.Config, rep *report.Report) error {
	if cfg.ReportFile != "" {
		if err := writeReport(cfg.ReportFile, rep); err != nil {
			return &config.Error{Input: "report-file", Err: err}
		}
		rep.ReportPath = cfg.ReportFile
		c.logf("report: %s", cfg.ReportFile)
	}
	gh := c.actions()
	if err := publish(rep, c.getenv, c.stdout); err != nil {
		return err
	}
	if c.getenv("GITHUB_ACTIONS") != "true" {
		c.logf("%s", rep.Headline())
		return nil
	}
	for _, a := range rep.Annotations() {
		titled := gh.WithFieldsMap(map[string]string{"title": a.Title})
		switch a.Level {
		case "error":
			titled.Errorf("%s", a.Message)
		case "warning":
			titled.Warningf("%s", a.Message)
		default:
			titled.Noticef("%s", a.Message)
		}
	}
	return nil
}

// tuneProcess fits the process to the load: file descriptors for every
// request in flight, and as many Ps as the rate needs.
func tuneProcess(cfg *config.Config, logf func(string, ...any)) {
	raiseFileLimit(cfg.MaxWorkers, logf)
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(procsFor(cfg.Rate))
	}
}

// procsFor is how many Ps the load needs: one per 5,000 requests a second,
// at most one per CPU. Every hand-off between the load's goroutines (pacer,
// worker, connection writer and reader, results) can wake an idle P's
// thread that spins and sleeps again; one P held 8,000 requests a second
// on loopback with a third less CPU per request than two (BENCHMARKS.md).
func procsFor(rate vegeta.Rate) int {
	perSecond := float64(rate.Freq) / rate.Per.Seconds()
	return max(1, min(runtime.NumCPU(), 1+int(perSecond/5000)))
}
