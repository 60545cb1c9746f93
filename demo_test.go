package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/config"
)

// demoRun is what one in-process run of the demo left behind.
type demoRun struct {
	exit           int
	stdout, stderr string
	report         map[string]any // the JSON report it wrote
}

// runDemo runs the demo in-process inside a workflow's environment that
// would aim it elsewhere: every input set, the job's summary and output
// files, GITHUB_API_URL at a GitHub that fails the test when called, and
// INPUT_TARGETS at an API that must get no request. None of it may reach
// the demo, which must write nothing into the workspace.
func runDemo(t *testing.T, args ...string) demoRun {
	t.Helper()
	workspace, tempDir := t.TempDir(), t.TempDir()
	elsewhere, hits := countingServer(t, nil)
	vars := runnerEnv(t, workspace, map[string]string{
		"targets":      "GET " + elsewhere.URL + "/health",
		"workflow":     "release.yml",
		"report-file":  "report.json",
		"github-token": testToken,
	}, map[string]string{"GITHUB_API_URL": githubNeverCalled(t)})
	var stdout, stderr bytes.Buffer
	cmd := &command{lookupEnv: config.MapEnv(vars), stdout: &stdout, stderr: &stderr, tempDir: tempDir}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := demoRun{exit: cmd.main(ctx, append([]string{"demo"}, args...)), stdout: stdout.String(), stderr: stderr.String()}

	if n := hits.Load(); n != 0 {
		t.Errorf("the demo sent %d requests to the targets of the environment", n)
	}
	if strings.Contains(run.stdout, "::") {
		t.Errorf("the demo printed workflow commands:\n%s", run.stdout)
	}
	for _, name := range []string{"summary", "output"} {
		if raw, _ := os.ReadFile(vars[name]); len(raw) > 0 {
			t.Errorf("the demo wrote the job's %s file:\n%s", name, raw)
		}
	}
	if files, _ := os.ReadDir(workspace); len(files) != 2 {
		t.Errorf("the demo left %d files in the workspace, want only the runner's summary and output", len(files)-2)
	}
	// The report goes to a directory of its own, whose path is printed.
	_, path, ok := strings.Cut(run.stdout, "\nreport: ")
	path, _, _ = strings.Cut(path, "\n")
	if !ok || !strings.HasPrefix(path, tempDir+string(filepath.Separator)) {
		t.Fatalf("no report path under %s printed:\n%s", tempDir, run.stdout)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the printed report: %v", err)
	}
	if err := json.Unmarshal(raw, &run.report); err != nil {
		t.Fatalf("the printed report: %v", err)
	}
	return run
}

// The deploy demo with its defaults, whose blip fails the check, runs as a
// process: TestTheDemoRunsOutsideActionsAndLeavesNoFiles.

func TestTheDemoPassesWhenTheLimitsAllowTheBlip(t *testing.T) {
	t.Parallel()
	run := runDemo(t, "--head", "1s", "--tail", "1s", "--ramp-up", "500ms", "--fail-on-load-shortfall", "false", "--max-downtime", "2s", "--max-error-rate", "20%", "--max-p99", "5s", "--thresholds", "p(95)<5s")
	if run.exit != exitPass || !strings.Contains(run.stdout, "## ✅ Deploy load check — pass") || !strings.Contains(run.stdout, "demo: as designed, the check passed: the deploy's restart dropped ") {
		t.Errorf("exit %d, want %d with a pass that names the blip\nstdout:\n%s\nstderr:\n%s", run.exit, exitPass, run.stdout, run.stderr)
	}
}

func TestTheDemoFailsWhenTheCheckFailedForSomethingElse(t *testing.T) {
	t.Parallel()
	run := runDemo(t, "--head", "1s", "--tail", "1s", "--ramp-up", "500ms", "--fail-on-load-shortfall", "false", "--max-p99", "1ms")
	want := "demo: not as designed: the check failed on p(99)<=1ms (max-p99), which the blip should not break"
	if run.exit != exitBreach || !strings.Contains(run.stderr, want) {
		t.Errorf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", run.exit, exitBreach, want, run.stdout, run.stderr)
	}
}

func TestTheDemoPRCheckPasses(t *testing.T) {
	t.Parallel()
	run := runDemo(t, "pr-check", "--duration", "2s", "--rate", "60/1s", "--ramp-up", "500ms", "--fail-on-load-shortfall", "false", "--max-p99", "5s", "--thresholds", "p(95)<5s\ndowntime<=500ms")
	if run.exit != exitPass {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", run.exit, exitPass, run.stdout, run.stderr)
	}
	for _, want := range []string{"demo: a PR check: 2s of load at 60/s on the staging API at ", "## ✅ Deploy load check — pass", "PR check: 60/s on 4 endpoints", "`GET /api/items`", "`POST /api/orders`", "- ✓ `downtime<=500ms` (thresholds)", "\npass: "} {
		if !strings.Contains(run.stdout, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, run.stdout)
		}
	}
	if strings.Contains(run.stdout, "deploy:") || run.report["deploy"] != nil {
		t.Errorf("the PR check dispatched a deploy:\n%s", run.stdout)
	}
}

// The stand-in GitHub the demo deploys through is linked into the action;
// the test framework and the REST description it is checked against in
// tests are not.
func TestTheActionLinksNeitherTestingNorTheConformanceChecks(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/zerodowntime/deploy-load-check/internal/deploy/standin") {
		t.Fatalf("the action does not link the stand-in GitHub; go list -deps:\n%s", out)
	}
	for _, dep := range deps {
		if dep == "testing" || strings.HasSuffix(dep, "/deploytest") || strings.Contains(dep, "jsonschema") {
			t.Errorf("the action links %s", dep)
		}
	}
}
