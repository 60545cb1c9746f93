package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/check"
	"github.com/zerodowntime/deploy-load-check/internal/config"
)

// testToken is the github-token the runner would pass; it must never be
// printed.
const testToken = "ghs_e2eT0kenThatMustNeverBePrinted"

// actionRun is what one run of the action left behind.
type actionRun struct {
	dir     string // the workspace it ran in
	exit    int
	stdout  string
	stderr  string
	summary string
	outputs map[string]string
}

// runnerEnv is the environment the Actions runner gives a container
// action: every input as INPUT_<NAME> (upper case, hyphens kept) with
// action.yml's defaults filled in, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
// files in dir, GITHUB_API_URL. env adds or overrides variables.
func runnerEnv(t *testing.T, dir string, inputs, env map[string]string) map[string]string {
	t.Helper()
	spec, err := config.ParseSpec(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"GITHUB_API_URL":      "http://127.0.0.1:1",
		"GITHUB_REPOSITORY":   "acme/api",
		"PATH":                os.Getenv("PATH"),
		"GOMAXPROCS":          os.Getenv("GOMAXPROCS"),
		"HOME":                dir,
	}
	for _, name := range []string{"output", "summary"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range spec.Inputs {
		// The runner expands ${{ github.* }} defaults before the container
		// starts.
		def := githubContext.Replace(in.Default)
		if strings.Contains(def, "${{") {
			t.Fatalf("input %q: the runner would fill %q; add it to githubContext", in.Name, def)
		}
		vars[config.EnvName(in.Name)] = def
	}
	for k, v := range inputs {
		if _, ok := spec.Input(k); !ok {
			t.Fatalf("test sets undeclared input %q", k)
		}
		vars[config.EnvName(k)] = v
	}
	for k, v := range env {
		vars[k] = v
	}
	return vars
}

// githubContext fills the ${{ github.* }} expressions of action.yml's
// defaults as the runner does.
var githubContext = strings.NewReplacer(
	"${{ github.repository }}", "acme/api",
	"${{ github.token }}", testToken,
	"${{ github.run_id }}", "7001",
	"${{ github.run_attempt }}", "1",
)

// runCommand runs the action in-process, through the same adapter main
// uses, with the runner's environment (see runnerEnv), buffers for stdout
// and stderr, and clock, when not nil, as the timeline's clock. Files the
// inputs name relative to the workspace are written in the test's own
// workspace.
func runCommand(t *testing.T, clock check.Clock, inputs, env map[string]string, args ...string) actionRun {
	t.Helper()
	dir := t.TempDir()
	inputs = withDefaultReport(inputs)
	for _, name := range []string{"report-file", "results-file"} {
		if v := inputs[name]; v != "" && !filepath.IsAbs(v) {
			inputs[name] = filepath.Join(dir, v)
		}
	}
	vars := runnerEnv(t, dir, inputs, env)
	var stdout, stderr bytes.Buffer
	cmd := &command{lookupEnv: config.MapEnv(vars), stdout: &stdout, stderr: &stderr, clock: clock}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	exit := cmd.main(ctx, args)
	return collect(t, dir, vars, exit, stdout.String(), stderr.String())
}

// withDefaultReport gives report-file the default action.yml declares,
// which runCommand then places in the test's workspace.
func withDefaultReport(inputs map[string]string) map[string]string {
	out := map[string]string{"report-file": "deploy-load-check-report.json"}
	for k, v := range inputs {
		out[k] = v
	}
	return out
}

// runBinary starts the action as a process the way the Actions runner starts a
// container action (see runnerEnv), in a workspace of its own, and calls
// while, if not nil, in its own goroutine once the process has started;
// runBinary waits for while to return.
func runBinary(t *testing.T, while func(*os.Process), inputs, env map[string]string, args ...string) actionRun {
	t.Helper()
	dir := t.TempDir()
	vars := runnerEnv(t, dir, inputs, env)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir // the runner starts the container in the workspace
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, asAction+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the action: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if while != nil {
			while(cmd.Process)
		}
	}()
	err := cmd.Wait()
	<-done
	exit := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		exit = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running the action: %v", err)
	}
	return collect(t, dir, vars, exit, stdout.String(), stderr.String())
}

// collect reads what a run left in its workspace, and checks that no
// secret reached any channel but the runner's add-mask command and that
// nothing panicked.
func collect(t *testing.T, dir string, vars map[string]string, exit int, stdout, stderr string) actionRun {
	t.Helper()
	run := actionRun{dir: dir, exit: exit, stdout: stdout, stderr: stderr}
	summary, _ := os.ReadFile(vars["GITHUB_STEP_SUMMARY"])
	run.summary = string(summary)
	rawOutputs, _ := os.ReadFile(vars["GITHUB_OUTPUT"])
	run.outputs = parseOutputs(string(rawOutputs))
	channels := map[string]string{"stdout": run.stdout, "stderr": run.stderr}
	if files, err := os.ReadDir(dir); err == nil {
		for _, f := range files {
			if raw, err := os.ReadFile(filepath.Join(dir, f.Name())); err == nil {
				channels[f.Name()] = string(raw)
			}
		}
	}
	for _, name := range config.SecretInputs {
		secret := vars[config.EnvName(name)]
		if len(secret) < 8 {
			continue
		}
		for channel, text := range channels {
			var unmasked []string
			for _, line := range strings.Split(text, "\n") {
				if !strings.HasPrefix(line, "::add-mask::") {
					unmasked = append(unmasked, line)
				}
			}
			if strings.Contains(strings.Join(unmasked, "\n"), secret) {
				t.Errorf("input %s leaked into %s", name, channel)
			}
		}
	}
	if strings.Contains(run.stderr, "panic:") {
		t.Errorf("the action panicked:\n%s", run.stderr)
	}
	return run
}

// parseOutputs reads GITHUB_OUTPUT's name<<DELIMITER form.
func parseOutputs(raw string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(raw, "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var value []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			value = append(value, lines[i])
		}
		out[name] = strings.Join(value, "\n")
	}
	return out
}

// countingServer is a loopback API that counts the requests it answers.
func countingServer(t *testing.T, handler http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if handler != nil {
			handler(w, r)
		}
	}))
	t.Cleanup(server.Close)
	return server, &n
}

// githubNeverCalled is a stand-in GitHub API that fails the test if called.
func githubNeverCalled(t *testing.T) string {
	t.Helper()
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected GitHub API call: %s %s", r.Method, r.URL)
		http.Error(w, `{"message":"unexpected"}`, http.StatusTeapot)
	}))
	t.Cleanup(server.Close)
	return server.URL
}

// summaryHas fails t for each of wants the run's job summary lacks.
func summaryHas(t *testing.T, run actionRun, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(run.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, run.summary)
		}
	}
}
