package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sethvargo/go-githubactions"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/demo"
	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

//go:embed action.yml
var actionYML []byte

// Exit codes. For GitHub any non-zero code fails the step; a CLI user can
// tell a breach from a broken setup.
const (
	exitPass   = 0
	exitBreach = 1
	exitSetup  = 2
)

// errBreach means the run completed and the check failed; the report has
// already said why.
var errBreach = errors.New("check failed")

// exitCode maps run's error to the process exit code, printing what the
// user must read about it.
func exitCode(err error, getenv func(string) string, stdout, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitPass
	case errors.Is(err, errBreach):
		return exitBreach
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
	cfg, err := config.Parse(src)
	if err != nil {
		return err
	}

	if cfg.Deploy != nil {
		return &config.Error{Input: "workflow", Err: errors.New("deploy dispatch is not available in this build; leave workflow and event-type empty for a PR check")}
	}

	gh := githubactions.New(githubactions.WithWriter(stdout), githubactions.WithGetenv(getenv))
	inActions := getenv("GITHUB_ACTIONS") == "true"
	if inActions {
		for _, secret := range cfg.Secrets() {
			gh.AddMask(secret)
		}
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stdout, format+"\n", args...) }

	generator, err := load.New(cfg.Targets, load.Options{Rate: cfg.Rate, RampUp: cfg.RampUp, Timeout: cfg.Timeout})
	if err != nil {
		return err
	}
	names := make([]string, len(cfg.Targets))
	for i, t := range cfg.Targets {
		names[i] = t.Name
	}

	logf("load: %d/%s on %d target(s) for %s (ramp-up %s, timeout %s)", cfg.Rate.Freq, cfg.Rate.Per, len(cfg.Targets), cfg.Duration, cfg.RampUp, cfg.Timeout)
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	recorder := stats.NewRecorder(time.Now(), names)
	healthc := make(chan load.Health, 1)
	go func() { healthc <- generator.Run(loadCtx, recorder.Record) }()

	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
	}
	stoppedAt := time.Now()
	stopLoad()
	health := <-healthc
	summary := recorder.Close(stoppedAt)

	rep := &report.Report{
		Title:   "PR check",
		Summary: summary,
		Checks:  verdict.Evaluate(cfg.Thresholds, summary),
		Health:  health,
	}
	if ctx.Err() != nil {
		rep.Title += " (cancelled)"
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
	if ctx.Err() != nil {
		return fmt.Errorf("cancelled after %s of load: %w", summary.Elapsed.Round(time.Second), context.Cause(ctx))
	}
	if !rep.Passed() {
		return errBreach
	}
	return nil
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
