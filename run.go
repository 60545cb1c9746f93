package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
	"github.com/zerodowntime/deploy-load-check/internal/deploy"
	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/request"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
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

	if cfg.OAuth != nil {
		// The token is fetched now and renewed until the run ends; a
		// refusal is a setup error, found before any load.
		oauth, err := request.NewOAuth(ctx, *cfg.OAuth, logf)
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
	generator, err := load.New(targets, load.Options{Rate: cfg.Rate, RampUp: cfg.RampUp, Timeout: cfg.Timeout, FreshShare: cfg.FreshShare, MaxWorkers: cfg.MaxWorkers})
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
	recorder := stats.NewRecorder(loadStart, names, stats.Options{VersionHeader: cfg.VersionHeader, DegradedErrorRate: cfg.DegradedErrorRate})
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

// deployTimeline runs the deploy under load: the head window, the dispatch,
// the run followed to completion, the tail window. It returns what the
// report shows of the deploy, and the error that kept it from completing,
// if any.
func deployTimeline(ctx context.Context, d *config.Deploy, client *deploy.Client, recorder *stats.Recorder, loadStart time.Time, logf func(string, ...any)) (*report.Deploy, error) {
	out := &report.Deploy{Workflow: deploySubject(d), Judged: d.FailOnDeployFailure}
	if !sleep(ctx, d.Head) {
		out.Problem = "cancelled before the deploy was dispatched"
		return out, ctx.Err()
	}

	dispatchedAt := recorder.StartPhase("deploy")
	out.Dispatched = dispatchedAt.Sub(loadStart)
	deployCtx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	run, err := client.Dispatch(deployCtx, deployRequest(d))
	if err != nil {
		out.Problem = "the deploy was not started or its run not found: " + err.Error()
		return out, err
	}
	out.RunID, out.URL, out.Status = run.ID, run.HTMLURL, run.Status
	logf("deploy: following run %s every %s", run.HTMLURL, d.PollInterval)
	run, err = client.Follow(deployCtx, d.Owner, d.Repo, run.ID, d.PollInterval, nil)
	out.Duration = time.Since(dispatchedAt)
	if run.ID != 0 {
		out.Status, out.Conclusion = run.Status, run.Conclusion
		if run.HTMLURL != "" {
			out.URL = run.HTMLURL
		}
	}
	if err != nil {
		switch {
		case ctx.Err() != nil:
			out.Problem = fmt.Sprintf("cancelled while the deploy run was %s; it may still be running: %s", out.Status, out.URL)
		case deployCtx.Err() != nil:
			out.Problem = fmt.Sprintf("the deploy run did not complete within deploy-timeout %s (last status %s): %s", d.Timeout, out.Status, out.URL)
		default:
			out.Problem = "lost track of the deploy run: " + err.Error()
		}
		return out, err
	}
	logf("deploy: run completed (%s) after %s; holding the load for %s of tail", run.Conclusion, out.Duration.Round(time.Second), d.Tail)

	out.Completed = recorder.StartPhase("tail").Sub(loadStart)
	out.Steps = deploySteps(ctx, client, d, run.ID, loadStart, logf)
	if !sleep(ctx, d.Tail) {
		return out, ctx.Err()
	}
	return out, nil
}

// deploySteps reads the run's jobs and places their steps on the load's
// timeline, so a disruption can name the step that was running. Without
// them the check still stands, so a failure here is only logged.
func deploySteps(ctx context.Context, client *deploy.Client, d *config.Deploy, runID int64, loadStart time.Time, logf func(string, ...any)) []report.Step {
	jobs, err := client.Jobs(ctx, d.Owner, d.Repo, runID)
	if err != nil {
		logf("deploy: could not read the run's jobs, so disruptions will not name deploy steps: %v", err)
		return nil
	}
	var steps []report.Step
	for _, job := range jobs {
		for _, st := range job.Steps {
			if st.StartedAt.IsZero() {
				continue
			}
			step := report.Step{Job: job.Name, Name: st.Name, Start: st.StartedAt.Sub(loadStart), Conclusion: st.Conclusion}
			if !st.CompletedAt.IsZero() {
				step.End = st.CompletedAt.Sub(loadStart)
			}
			steps = append(steps, step)
		}
	}
	slices.SortStableFunc(steps, func(a, b report.Step) int { return cmp.Compare(a.Start, b.Start) })
	return steps
}

// settleDeploy says, for a cancelled check, what became of the deploy run,
// and cancels it when asked to. It has a few seconds: the runner stops a
// cancelled job's container soon after its signal.
func settleDeploy(ctx context.Context, out *report.Deploy, d *config.Deploy, client *deploy.Client, logf func(string, ...any)) {
	if out == nil || out.RunID == 0 || out.Completed > 0 {
		return
	}
	settle, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if d.CancelOnAbort {
		err := client.Cancel(settle, d.Owner, d.Repo, out.RunID)
		switch {
		case err == nil:
			out.Problem = "the check was cancelled, and so was the deploy run (cancel-deploy-on-abort): " + out.URL
		case errors.Is(err, deploy.ErrAlreadyCompleted):
			out.Problem = "the check was cancelled; the deploy run had already finished: " + out.URL
		default:
			out.Problem = fmt.Sprintf("the check was cancelled; cancelling the deploy run failed (%v), so it may still be running: %s", err, out.URL)
		}
		logf("deploy: %s", out.Problem)
		return
	}
	run, err := client.Run(settle, d.Owner, d.Repo, out.RunID)
	switch {
	case err != nil:
		out.Problem = "the check was cancelled; the deploy run may still be running: " + out.URL
	case run.Completed():
		out.Status, out.Conclusion = run.Status, run.Conclusion
		out.Problem = fmt.Sprintf("the check was cancelled; the deploy run has finished (%s): %s", run.Conclusion, out.URL)
	default:
		out.Status = run.Status
		out.Problem = fmt.Sprintf("the check was cancelled; the deploy run is still %s: %s", run.Status, out.URL)
	}
	logf("deploy: %s", out.Problem)
}

func deployRequest(d *config.Deploy) deploy.Request {
	return deploy.Request{
		Owner:            d.Owner,
		Repo:             d.Repo,
		Workflow:         d.Workflow,
		Ref:              d.Ref,
		Inputs:           d.Inputs,
		EventType:        d.EventType,
		ClientPayload:    d.ClientPayload,
		CorrelationInput: d.CorrelationInput,
	}
}

// deploySubject names what is dispatched, for the log and the summary.
func deploySubject(d *config.Deploy) string {
	if d.EventType != "" {
		return fmt.Sprintf("repository_dispatch %q to %s/%s", d.EventType, d.Owner, d.Repo)
	}
	return fmt.Sprintf("%s in %s/%s", d.Workflow, d.Owner, d.Repo)
}

// writeReport writes the JSON report to path.
func writeReport(path string, rep *report.Report) error {
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// resultsFile keeps every result in vegeta's own encoding, so that vegeta
// report and vegeta plot read it. A nil *resultsFile keeps nothing.
type resultsFile struct {
	file *os.File
	buf  *bufio.Writer
	enc  vegeta.Encoder
	err  error
}

func openResults(path string) (*resultsFile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("input \"results-file\": %w", err)
	}
	buf := bufio.NewWriter(f)
	return &resultsFile{file: f, buf: buf, enc: vegeta.NewEncoder(buf)}, nil
}

func (r *resultsFile) add(res *vegeta.Result) {
	if r == nil || r.err != nil {
		return
	}
	// Response headers may carry cookies or tokens; vegeta's reports do
	// not need them.
	kept := *res
	kept.Headers = nil
	r.err = r.enc.Encode(&kept)
}

// Close flushes the file and reports the first error; it may be called
// twice.
func (r *resultsFile) Close() error {
	if r == nil || r.file == nil {
		return nil
	}
	if err := r.buf.Flush(); r.err == nil {
		r.err = err
	}
	if err := r.file.Close(); r.err == nil {
		r.err = err
	}
	r.file = nil
	return r.err
}

// publish writes the job summary and the step outputs. Outside Actions the
// summary goes to stdout.
func publish(rep *report.Report, gh *githubactions.Action, getenv func(string) string, stdout io.Writer) error {
	var markdown strings.Builder
	if err := report.WriteMarkdown(&markdown, rep); err != nil {
		return err
	}
	if path := getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := appendFile(path, markdown.String()); err != nil {
			return fmt.Errorf("write job summary: %w", err)
		}
	} else {
		fmt.Fprintf(stdout, "\n%s", markdown.String())
	}
	if getenv("GITHUB_OUTPUT") != "" {
		// go-githubactions panics when it cannot write the file; the check
		// above and appendFile's error below cover the usual causes.
		if err := appendFile(getenv("GITHUB_OUTPUT"), ""); err != nil {
			return fmt.Errorf("write step outputs: %w", err)
		}
		for _, o := range rep.Outputs() {
			gh.SetOutput(o.Name, o.Value)
		}
	}
	return nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// demoInputs gives the demo its inputs: the embedded API as targets and a
// short run. Flags still override them.
func demoInputs(server *demo.Server, getenv func(string) string) func(string) string {
	inputs := map[string]string{
		"targets":        server.Targets(),
		"rate":           "100/1s",
		"ramp-up":        "1s",
		"duration":       "5s",
		"timeout":        "2s",
		"max-error-rate": "1%",
		"max-p99":        "250ms",
		"thresholds":     "p(95)<100ms\ndowntime<=500ms",
		// The demo never dispatches a deploy, whatever the environment says.
		"workflow":   "",
		"event-type": "",
	}
	return func(key string) string {
		if name, ok := strings.CutPrefix(key, "INPUT_"); ok {
			for input, v := range inputs {
				if config.EnvName(input) == "INPUT_"+name {
					return v
				}
			}
		}
		return getenv(key)
	}
}
