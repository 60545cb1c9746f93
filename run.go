package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"time"

	"github.com/sethvargo/go-githubactions"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/targets"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

//go:embed action.yml
var actionYML []byte

// Exit codes. For GitHub any non-zero code fails the step; a CLI user can
// tell a breach from a broken setup.
const (
	exitPass      = 0
	exitBreach    = 1
	exitSetup     = 2
	exitCancelled = 3
)

// errBreach means the run completed and the check failed; the report has
// already said why.
var errBreach = errors.New("check failed")

// errCancelled means the run was cut short by a signal, after the partial
// report was written.
var errCancelled = errors.New("cancelled")

// exitCode maps run's error to the process exit code, printing what the
// user must read about it.
func exitCode(err error, getenv func(string) string, stdout, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitPass
	case errors.Is(err, errBreach):
		return exitBreach
	case errors.Is(err, errCancelled):
		fmt.Fprintf(stderr, "deploy-load-check: %s\n", err)
		return exitCancelled
	}
	if getenv("GITHUB_ACTIONS") == "true" {
		githubactions.New(githubactions.WithWriter(stdout), githubactions.WithGetenv(getenv)).Errorf("%s", err)
	}
	fmt.Fprintf(stderr, "deploy-load-check: %s\n", err)
	return exitSetup
}

// run is the whole timeline: parse inputs, start the load, (dispatch the
// deploy and follow its run), stop, judge, report.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	spec, err := config.ParseSpec(actionYML)
	if err != nil {
		return err
	}
	if len(args) > 0 && args[0] == "demo" {
		server, err := demo.Start()
		if err != nil {
			return err
		}
		defer server.Close()
		getenv = demoInputs(server, getenv)
		args = args[1:]
	}
	src, rest, err := config.NewSource(spec, args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return &config.Error{Input: "arguments", Err: fmt.Errorf("unexpected %q; inputs are given as flags such as --rate 50/1s, and the only command is demo", rest[0])}
	}
	gh := githubactions.New(githubactions.WithWriter(stdout), githubactions.WithGetenv(getenv))
	inActions := getenv("GITHUB_ACTIONS") == "true"
	if inActions {
		src.OnSecret(gh.AddMask)
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }
	cfg, err := config.Parse(src)
	if err != nil {
		return err
	}

	var deployer *deploy.Client
	if cfg.Deploy != nil {
		deployer, err = deploy.New(cfg.Deploy.Token, getenv("GITHUB_API_URL"), deploy.WithLogger(func(msg string) { logf("deploy: %s", msg) }))
		if err != nil {
			return err
		}
		// A wrong token, repository or ref must cost seconds, not a head
		// window of load.
		if err := deployer.Check(ctx, deployRequest(cfg.Deploy)); err != nil {
			return err
		}
	}

	raiseFileLimit(cfg.MaxWorkers, logf)
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(procsFor(cfg.Rate))
	}

	if cfg.OAuth != nil {
		// The token is fetched now and renewed until the run ends; a
		// refusal is a setup error, found before any load.
		oauth, err := targets.NewOAuth(ctx, *cfg.OAuth, logf)
		if err != nil {
			return &config.Error{Input: "oauth-token-url", Err: fmt.Errorf("%q: %w; check oauth-client-id, oauth-client-secret and oauth-scopes", cfg.OAuth.TokenURL, err)}
		}
		cfg.Mix.Auth = append(cfg.Mix.Auth, oauth)
	}

	targets := cfg.Mix.Targets()
	if cfg.PreflightTimeout > 0 {
		checked := targets
		if cfg.HealthURL != "" {
			checked = []load.Target{{Name: cfg.HealthURL, Method: http.MethodGet, URL: cfg.HealthURL}}
		}
		logf("pre-flight: one request to %d target(s), trying for up to %s", len(checked), cfg.PreflightTimeout)
		if err := load.Preflight(ctx, checked, cfg.Timeout, cfg.PreflightTimeout); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("before any load: %w", errCancelled)
			}
			return &config.Error{Input: "targets", Err: fmt.Errorf("pre-flight failed, so no load was sent and no deploy dispatched: %w; check the URLs and that the API is up (preflight-timeout: 0s skips this)", err)}
		}
	}
	generator, err := load.New(targets, load.Options{Rate: cfg.Rate, RampUp: cfg.RampUp, Timeout: cfg.Timeout, FreshShare: cfg.FreshShare, MaxWorkers: cfg.MaxWorkers, KeepBody: keepBody(cfg)})
	if err != nil {
		return err
	}
	results, err := openResults(cfg.ResultsFile)
	if err != nil {
		return err
	}
	defer results.Close()
	names := cfg.Names()

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	loadStart := time.Now()
	recorder := stats.NewRecorder(loadStart, names, stats.Options{VersionHeader: cfg.VersionHeader, VersionField: cfg.VersionField, DegradedErrorRate: cfg.DegradedErrorRate})
	rep := &report.Report{Title: "PR check", FailOnShortfall: cfg.FailOnShortfall}
	var deployErr error
	if cfg.Deploy == nil {
		logf("load: %d/%s on %d target(s) for %s (ramp-up %s, timeout %s)", cfg.Rate.Freq, cfg.Rate.Per, len(names), cfg.Duration, cfg.RampUp, cfg.Timeout)
	} else {
		rep.Title = "deploy " + deploySubject(cfg.Deploy)
		logf("load: %d/%s on %d target(s) (ramp-up %s, timeout %s); %s of head, then the deploy, then %s of tail",
			cfg.Rate.Freq, cfg.Rate.Per, len(names), cfg.RampUp, cfg.Timeout, cfg.Deploy.Head, cfg.Deploy.Tail)
		recorder.StartPhase("head")
	}
	healthc := make(chan load.Health, 1)
	go func() {
		healthc <- generator.Run(loadCtx, func(res *vegeta.Result, hit load.Hit) {
			recorder.Record(res, stats.Hit(hit))
			results.add(res)
		})
	}()

	if cfg.Deploy == nil {
		sleep(ctx, cfg.Duration)
	} else {
		rep.Deploy, deployErr = deployTimeline(ctx, cfg.Deploy, deployer, recorder, loadStart, logf)
	}
	stoppedAt := time.Now()
	if ctx.Err() != nil {
		// A cancelled job's container is stopped soon after the signal:
		// the report must not wait for requests in flight.
		generator.Abort()
	}
	stopLoad()
	rep.Health = <-healthc
	rep.Summary = recorder.Close(stoppedAt)
	rep.Checks = verdict.Evaluate(cfg.Thresholds, rep.Summary, func(name string) verdict.Observed {
		if t := rep.Summary.Target(name); t != nil {
			return t
		}
		return nil
	})
	summary := rep.Summary
	rep.Cancelled = ctx.Err() != nil
	if rep.Cancelled {
		rep.Title += " (cancelled)"
		settleDeploy(ctx, rep.Deploy, cfg.Deploy, deployer, logf)
	}
	if err := results.Close(); err != nil {
		return fmt.Errorf("input \"results-file\": write %q: %w", cfg.ResultsFile, err)
	}
	if cfg.ReportFile != "" {
		if err := writeReport(cfg.ReportFile, rep); err != nil {
			return fmt.Errorf("input \"report-file\": %w", err)
		}
		rep.ReportPath = cfg.ReportFile
		logf("report: %s", cfg.ReportFile)
	}
	if err := publish(rep, gh, getenv, stdout); err != nil {
		return err
	}
	if inActions {
		if rep.Passed() {
			gh.Noticef("%s", rep.Headline())
		} else {
			gh.Errorf("%s", rep.Headline())
		}
	} else {
		logf("%s", rep.Headline())
	}
	if rep.Cancelled {
		return fmt.Errorf("after %s of load; the partial report was written: %w", summary.Elapsed.Round(time.Second), errCancelled)
	}
	if errors.Is(deployErr, deploy.ErrConfig) {
		return deployErr
	}
	if !rep.Passed() {
		return errBreach
	}
	return nil
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

// keepBody is how much of each answer the recorder needs: enough to read a
// version field, or nothing.
func keepBody(cfg *config.Config) int64 {
	if cfg.VersionField != "" {
		return 64 << 10
	}
	return 0
}

// sleep waits for d or until ctx is done, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
