package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/deploy/deploytest"
)

// The tests in this file start the built binary, for what only a process
// shows: signals, the runner's file commands and masking, exit codes, and
// action.yml's defaults filled in as the runner fills them. Everything
// else runs in-process (command_test.go, internal/check).

// asAction is set in the environment of a process these tests start: the
// test binary then runs the action's main instead of the tests, so the
// process is the action, with the race detector on, and no separate build
// is needed.
const asAction = "DEPLOY_LOAD_CHECK_TEST_AS_ACTION"

// binary is the executable of the processes these tests start: this test
// binary, run as the action.
var binary string

func TestMain(m *testing.M) {
	if os.Getenv(asAction) == "1" {
		main()
		return
	}
	// These tests spend their time waiting for load and deploys, not on
	// the CPU: run many more of them at once than there are cores.
	checktest.RaiseParallel(12)
	var err error
	if binary, err = os.Executable(); err != nil {
		panic("finding the test binary: " + err.Error())
	}
	os.Exit(m.Run())
}

func TestTheProcessRunsAsTheRunnerStartsIt(t *testing.T) {
	t.Parallel()
	server, hits := countingServer(t, nil)
	const bearer = "bearer-secret-for-the-process-test"
	run := runBinary(t, nil, map[string]string{
		"targets":                "GET " + server.URL + "/health",
		"rate":                   "20/1s",
		"duration":               "1s",
		"bearer-token":           bearer,
		"fail-on-load-shortfall": "false",
	}, map[string]string{"GITHUB_API_URL": githubNeverCalled(t)})
	if run.exit != exitPass {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", run.exit, exitPass, run.stdout, run.stderr)
	}
	// The secret is masked before anything else is printed.
	if first, _, _ := strings.Cut(run.stdout, "\n"); first != "::add-mask::"+bearer {
		t.Errorf("stdout starts %q, want the bearer token masked first", first)
	}
	if !strings.Contains(run.stdout, "::notice title=Deploy load check%3A pass::pass: ") {
		t.Errorf("no notice annotation with the verdict:\n%s", run.stdout)
	}
	// The report lands in the workspace, where the runner started the
	// process, under action.yml's default name.
	if run.outputs["report"] != "deploy-load-check-report.json" {
		t.Errorf("report output %q, want the default report-file", run.outputs["report"])
	}
	if _, err := os.Stat(filepath.Join(run.dir, "deploy-load-check-report.json")); err != nil {
		t.Errorf("no report in the workspace: %v", err)
	}
	if n := hits.Load(); n < 10 {
		t.Errorf("the API answered %d requests, want about 21", n)
	}
	if !strings.Contains(run.summary, "## ✅") || run.outputs["verdict"] != "pass" {
		t.Errorf("summary or verdict output missing: %q\n%s", run.outputs["verdict"], run.summary)
	}

	t.Run("and exits 2 on a bad input, naming it", func(t *testing.T) {
		t.Parallel()
		run := runBinary(t, nil, map[string]string{"targets": server.URL, "rate": "lots"}, nil)
		if run.exit != exitSetup || !strings.Contains(run.stderr, `input "rate": "lots"`) || !strings.Contains(run.stdout, "::error::") {
			t.Errorf("exit %d, want %d with the input named\nstdout:\n%s\nstderr:\n%s", run.exit, exitSetup, run.stdout, run.stderr)
		}
	})
	t.Run("and exits 1 on a breach", func(t *testing.T) {
		t.Parallel()
		broken, _ := countingServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
		run := runBinary(t, nil, map[string]string{"targets": broken.URL, "rate": "20/1s", "duration": "1s", "preflight-timeout": "0s"}, nil)
		if run.exit != exitBreach || run.outputs["verdict"] != "fail" || !strings.Contains(run.stdout, "::error") {
			t.Errorf("exit %d, verdict %q; want %d and fail\nstdout:\n%s", run.exit, run.outputs["verdict"], exitBreach, run.stdout)
		}
	})
}

// TestAnInputSetEmptyIsEmptyInTheProcess: the process reads its
// environment as the runner sets it, an input set empty there and empty.
func TestAnInputSetEmptyIsEmptyInTheProcess(t *testing.T) {
	t.Parallel()
	checkSetEmpty(t, runBinary(t, nil, setEmpty(upAndDown(t)), nil))
}

func TestSIGTERMWritesAPartialReportAtOnce(t *testing.T) {
	t.Parallel()
	api := startAPI(t)
	github := deploytest.NewServer(t, deploytest.WithToken(testToken), deploytest.WithLifecycle(deploytest.Lifecycle{Manual: true}))
	var signalled time.Time
	// The job is cancelled while the deploy is followed, as the runner
	// does: SIGTERM to the container's process.
	terminate := func(p *os.Process) {
		// The dispatch reads the run once; following it reads it again.
		if !waitFor(30*time.Second, func() bool { return github.Count(deploytest.EndpointGetRun) > 1 }) {
			t.Error("the deploy run was never followed")
			return
		}
		signalled = time.Now()
		if err := p.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
	}
	// A slow timeout: requests in flight must not hold the report back.
	run := runBinary(t, terminate, deployInputs(api, github, map[string]string{"timeout": "30s", "head": "500ms", "tail": "1m"}), map[string]string{"GITHUB_API_URL": github.URL})
	took := time.Since(signalled)

	if run.exit != exitCancelled {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", run.exit, exitCancelled, run.stdout, run.stderr)
	}
	if took > 10*time.Second {
		t.Errorf("the action took %s after SIGTERM to exit, want under 10s", took)
	}
	runs := github.Runs()
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	if run.outputs["verdict"] != "cancelled" || run.outputs["deploy-run-url"] != runs[0].HTMLURL {
		t.Errorf("outputs verdict %q, deploy-run-url %q; want cancelled and %s", run.outputs["verdict"], run.outputs["deploy-run-url"], runs[0].HTMLURL)
	}
	summaryHas(t, run, "cancelled", "the deploy run is still in_progress: "+runs[0].HTMLURL)
}

func TestSIGTERMDuringThePreflightSetsTheVerdictCancelled(t *testing.T) {
	t.Parallel()
	// A service container that is not up yet: the pre-flight tries again
	// every second, for up to 30s.
	starting, hits := countingServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	var signalled time.Time
	terminate := func(p *os.Process) {
		if !waitFor(30*time.Second, func() bool { return hits.Load() >= 2 }) {
			t.Error("the pre-flight never tried again")
			return
		}
		signalled = time.Now()
		if err := p.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
	}
	run := runBinary(t, terminate, map[string]string{"targets": starting.URL + "/health", "rate": "20/1s", "duration": "5s"}, nil)
	took := time.Since(signalled)

	if run.exit != exitCancelled || !strings.Contains(run.stderr, "cancelled before any load") {
		t.Fatalf("exit %d, want %d, cancelled before any load\nstdout:\n%s\nstderr:\n%s", run.exit, exitCancelled, run.stdout, run.stderr)
	}
	if took > 10*time.Second {
		t.Errorf("the action took %s after SIGTERM to exit, want under 10s", took)
	}
	spec, err := config.ParseSpec(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	if run.outputs["verdict"] != "cancelled" || run.outputs["requests"] != "0" || len(run.outputs) != len(spec.Outputs) {
		t.Errorf("outputs %v; want every output of action.yml, verdict cancelled and requests 0", run.outputs)
	}
	for name, value := range run.outputs {
		if name != "verdict" && name != "requests" && value != "" {
			t.Errorf("output %s = %q, want it empty without any load", name, value)
		}
	}
	summaryHas(t, run, "## ⏹️ Deploy load check — cancelled", "cancelled before any load: no load was sent and no deploy was dispatched")
	if _, err := os.Stat(filepath.Join(run.dir, "deploy-load-check-report.json")); err == nil {
		t.Error("a report was written without any load")
	}
}

func TestAGeneratorStarvedOfCPUFailsTheCheck(t *testing.T) {
	t.Parallel()
	server, hits := countingServer(t, nil)
	// A runner that stops scheduling the action for a second, as an
	// overloaded machine does, makes it send a second's requests late.
	freeze := func(p *os.Process) {
		if !waitFor(30*time.Second, func() bool { return hits.Load() > 20 }) {
			t.Error("the load never started")
			return
		}
		if err := p.Signal(syscall.SIGSTOP); err != nil {
			t.Errorf("SIGSTOP: %v", err)
			return
		}
		time.Sleep(time.Second) // the freeze itself
		if err := p.Signal(syscall.SIGCONT); err != nil {
			t.Errorf("SIGCONT: %v", err)
		}
	}
	run := runBinary(t, freeze, map[string]string{
		"targets":        server.URL,
		"rate":           "200/1s",
		"duration":       "4s",
		"max-error-rate": "100%",
		"max-downtime":   "",
	}, nil)
	if run.exit != exitBreach {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", run.exit, exitBreach, run.stdout, run.stderr)
	}
	if !strings.Contains(run.summary, "The load generator cannot vouch for these figures") || !strings.Contains(run.summary, "late") {
		t.Errorf("summary does not say the generator fell behind:\n%s", run.summary)
	}
}

// TestTheDemoRunsOutsideActionsAndLeavesNoFiles runs the demo as a
// newcomer does: the deploy timeline whose blip fails the check, while the
// demo exits 0, and nothing written into the checkout.
func TestTheDemoRunsOutsideActionsAndLeavesNoFiles(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The demo runs as a newcomer runs it, in a checkout of the project.
	checkout, tmp := t.TempDir(), t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = checkout
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	git("init", "--quiet")
	// Short windows around the deploy, which takes the time it takes; the
	// generator's own check and latency have tests of their own.
	cmd := exec.CommandContext(ctx, binary, "demo", "--head", "1s", "--tail", "1s", "--ramp-up", "500ms",
		"--fail-on-load-shortfall", "false", "--max-p99", "5s", "--thresholds", "p(95)<5s")
	cmd.Dir = checkout
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + tmp, asAction + "=1"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{
		// The flags given over the demo's own inputs.
		"demo: the check holds load at 100/s for 1s, dispatches the deploy, follows its run, then holds load 1s more\n",
		"deploy: dispatched workflow \"deploy-staging.yml\"",
		"## ❌ Deploy load check — fail",
		"Deploy of deploy-staging.yml in acme/shop",
		"| head |", "| deploy |", "| tail |",
		"during step \"Deploy to staging\"; recovered",
		"- ✗ `downtime<=0s` (max-downtime)",
		"xychart-beta",
		"Versions: <code>v2</code> first answered",
		"demo: as designed, the check failed: the deploy's restart dropped ",
		"In a workflow this fails the job (exit 1)",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "::") {
		t.Errorf("the demo outside Actions printed workflow commands:\n%s", out)
	}
	if status := git("status", "--porcelain", "--ignored"); status != "" {
		t.Errorf("the demo left the checkout changed:\n%s", status)
	}
	_, report, _ := strings.Cut(string(out), "\nreport: ")
	report, _, _ = strings.Cut(report, "\n")
	raw, err := os.ReadFile(report)
	if err != nil || !strings.HasPrefix(report, tmp) {
		t.Fatalf("the report %q is not in the temporary directory %s: %v", report, tmp, err)
	}
	var rep struct {
		Verdict string `json:"verdict"`
		Deploy  struct {
			Conclusion string `json:"conclusion"`
		} `json:"deploy"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil || rep.Verdict != "fail" || rep.Deploy.Conclusion != "success" {
		t.Errorf("report verdict %q, deploy %q (%v); want fail after a deploy that succeeded", rep.Verdict, rep.Deploy.Conclusion, err)
	}
}

// waitFor polls cond until it holds or d has passed, and reports whether
// it held.
func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
