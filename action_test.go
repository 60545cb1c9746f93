package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/config"
)

// binary is the action built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deploy-load-check-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "deploy-load-check")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		panic("building the action: " + err.Error())
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// actionRun is what one run of the built action left behind.
type actionRun struct {
	dir     string // the workspace it ran in
	exit    int
	stdout  string
	stderr  string
	summary string
	outputs map[string]string
}

// runAction starts the built binary the way the Actions runner starts a
// container action: every input as INPUT_<NAME> (upper case, hyphens kept)
// with action.yml's defaults filled in, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
// files, GITHUB_API_URL. args go on the command line.
func runAction(t *testing.T, inputs map[string]string, env map[string]string, args ...string) actionRun {
	t.Helper()
	return runActionWhile(t, nil, inputs, env, args...)
}

// runActionWhile is runAction that also calls while, in its own goroutine,
// once the process has started.
func runActionWhile(t *testing.T, while func(*os.Process), inputs map[string]string, env map[string]string, args ...string) actionRun {
	t.Helper()
	spec, err := config.ParseSpec(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	outputPath, summaryPath := filepath.Join(dir, "output"), filepath.Join(dir, "summary")
	for _, p := range []string{outputPath, summaryPath} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       outputPath,
		"GITHUB_STEP_SUMMARY": summaryPath,
		"GITHUB_API_URL":      "http://127.0.0.1:1",
		"GITHUB_REPOSITORY":   "acme/api",
		"PATH":                os.Getenv("PATH"),
		"GOMAXPROCS":          os.Getenv("GOMAXPROCS"),
		"HOME":                dir,
	}
	for _, in := range spec.Inputs {
		// The runner expands ${{ github.* }} defaults before the container
		// starts.
		def := strings.NewReplacer("${{ github.repository }}", "acme/api", "${{ github.token }}", "ghs_e2eT0kenThatMustNeverBePrinted").Replace(in.Default)
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

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir // the runner starts the container in the workspace
	cmd.Env = nil
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the action: %v", err)
	}
	if while != nil {
		go while(cmd.Process)
	}
	err = cmd.Wait()
	run := actionRun{dir: dir, stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		run.exit = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running the action: %v", err)
	}
	summary, _ := os.ReadFile(summaryPath)
	run.summary = string(summary)
	rawOutputs, _ := os.ReadFile(outputPath)
	run.outputs = parseOutputs(t, string(rawOutputs))
	// No secret may reach any channel but the runner's add-mask command.
	channels := map[string]string{"stdout": run.stdout, "stderr": run.stderr, "summary": run.summary, "outputs": string(rawOutputs)}
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
func parseOutputs(t *testing.T, raw string) map[string]string {
	t.Helper()
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

func TestPRCheckPassesAgainstAHealthyServer(t *testing.T) {
	t.Parallel()
	server, hits := countingServer(t, nil)
	run := runAction(t, map[string]string{
		"targets":      "GET " + server.URL + "/health\nPOST " + server.URL + "/orders",
		"rate":         "50/1s",
		"duration":     "6s",
		"max-p99":      "500ms",
		"results-file": "results.bin",
		// The generator's own check has its own tests; here the machine
		// is shared with other tests under the race detector.
		"fail-on-load-shortfall": "false",
	}, map[string]string{"GITHUB_API_URL": githubNeverCalled(t)})

	if run.exit != exitPass {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", run.exit, exitPass, run.stdout, run.stderr)
	}
	requests, err := strconv.Atoi(run.outputs["requests"])
	if err != nil || requests < 290 || requests > 306 {
		t.Errorf("requests output = %q, want about 300", run.outputs["requests"])
	}
	// The server also answered one pre-flight request per target.
	if int64(requests)+2 != hits.Load() {
		t.Errorf("requests output %d (+2 pre-flight), server answered %d", requests, hits.Load())
	}
	want := map[string]string{"verdict": "pass", "error-rate": "0", "downtime-s": "0.000", "deploy-run-id": ""}
	for k, v := range want {
		if got, ok := run.outputs[k]; !ok || got != v {
			t.Errorf("output %s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
	for _, name := range []string{"p50-ms", "p95-ms", "p99-ms", "max-ms"} {
		if v, err := strconv.ParseFloat(run.outputs[name], 64); err != nil || v <= 0 || v > 500 {
			t.Errorf("output %s = %q, want a latency in milliseconds", name, run.outputs[name])
		}
	}
	for _, section := range []string{"✅", "— pass", "### Thresholds", "`p(99)` (max-p99)", "### Latency", "<summary>Per target (2)</summary>", "`GET /health`", "`POST /orders`", "### Status codes", "| 200 OK |", "### Load generator"} {
		if !strings.Contains(run.summary, section) {
			t.Errorf("summary lacks %q:\n%s", section, run.summary)
		}
	}
	if !strings.Contains(run.stdout, "::notice::pass:") {
		t.Errorf("no notice annotation with the verdict in stdout:\n%s", run.stdout)
	}

	// The results file is vegeta's own encoding, one result per request.
	raw, err := os.ReadFile(filepath.Join(run.dir, "results.bin"))
	if err != nil {
		t.Fatal(err)
	}
	dec := vegeta.NewDecoder(bytes.NewReader(raw))
	var decoded int
	for {
		var res vegeta.Result
		if err := dec.Decode(&res); err != nil {
			break
		}
		decoded++
		if res.Headers != nil {
			t.Errorf("result %d kept the response headers", res.Seq)
			break
		}
	}
	if decoded != requests {
		t.Errorf("results file holds %d results, want %d", decoded, requests)
	}

	// The JSON report is where the output says, and agrees with it.
	if run.outputs["report"] != "deploy-load-check-report.json" {
		t.Fatalf("report output = %q, want the default report-file", run.outputs["report"])
	}
	var rep struct {
		Verdict     string `json:"verdict"`
		Requests    int    `json:"requests"`
		Connections []struct {
			Name     string `json:"name"`
			Requests int    `json:"requests"`
		} `json:"connections"`
		Timeline []struct {
			Requests int `json:"requests"`
		} `json:"timeline"`
		Generator struct {
			Reliable bool `json:"reliable"`
		} `json:"generator"`
	}
	js, err := os.ReadFile(filepath.Join(run.dir, run.outputs["report"]))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	perSecond := 0
	for _, sec := range rep.Timeline {
		perSecond += sec.Requests
	}
	if rep.Verdict != "pass" || rep.Requests != requests || perSecond != requests || len(rep.Timeline) < 6 {
		t.Errorf("report: verdict %q, requests %d, timeline %d seconds summing to %d; want pass, %d, 6 or 7 seconds summing to %d",
			rep.Verdict, rep.Requests, len(rep.Timeline), perSecond, requests, requests)
	}
	if len(rep.Connections) != 2 || rep.Connections[1].Name != "fresh" || rep.Connections[1].Requests < requests/20 {
		t.Errorf("report connections = %+v, want about a tenth on fresh connections", rep.Connections)
	}
}

func TestPRCheckFailsWhenAThresholdBreaks(t *testing.T) {
	t.Parallel()
	server, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/flaky" {
			http.Error(w, "upstream down", http.StatusBadGateway)
		}
	})
	run := runAction(t, map[string]string{
		"targets":                server.URL + "/ok\n" + server.URL + "/flaky",
		"rate":                   "40/1s",
		"duration":               "2s",
		"thresholds":             "error_rate<10%",
		"fail-on-load-shortfall": "false",
		// Half the targets fail on purpose; the pre-flight would stop it.
		"preflight-timeout": "0s",
	}, nil)
	if run.exit != exitBreach {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", run.exit, exitBreach, run.stderr)
	}
	if run.outputs["verdict"] != "fail" {
		t.Errorf("verdict output = %q, want fail", run.outputs["verdict"])
	}
	rate, err := strconv.ParseFloat(run.outputs["error-rate"], 64)
	if err != nil || rate < 0.45 || rate > 0.55 {
		t.Errorf("error-rate output = %q, want about 0.5", run.outputs["error-rate"])
	}
	for _, want := range []string{"❌", "— fail", "❌ fail", "| 502 Bad Gateway |", "| 5xx |"} {
		if !strings.Contains(run.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, run.summary)
		}
	}
	if !strings.Contains(run.stdout, "::error::fail: error_rate was") {
		t.Errorf("no error annotation in stdout:\n%s", run.stdout)
	}
}

func TestBadInputStopsBeforeAnyLoad(t *testing.T) {
	t.Parallel()
	server, hits := countingServer(t, nil)
	good := server.URL + "/health"
	tests := []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"a bad rate", map[string]string{"targets": good, "rate": "lots"}, `input "rate": "lots"`},
		{"a bad target URL", map[string]string{"targets": good + "\nGET ftp://127.0.0.1/file"}, `input "targets": line 2: "ftp://127.0.0.1/file"`},
		{"a bad threshold", map[string]string{"targets": good, "thresholds": "p(95)<400ms\np(101)<1s"}, `input "thresholds": line 2: "p(101)<1s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			run := runAction(t, tt.inputs, map[string]string{"GITHUB_API_URL": githubNeverCalled(t)})
			if run.exit != exitSetup {
				t.Errorf("exit %d, want %d", run.exit, exitSetup)
			}
			if !strings.Contains(run.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, run.stderr)
			}
			if !strings.Contains(run.stdout, "::error::") {
				t.Errorf("no error annotation in stdout:\n%s", run.stdout)
			}
			if run.summary != "" || len(run.outputs) != 0 {
				t.Errorf("a bad input still wrote a summary or outputs: %q %v", run.summary, run.outputs)
			}
		})
	}
	t.Cleanup(func() {
		if n := hits.Load(); n != 0 {
			t.Errorf("the target answered %d requests despite bad input", n)
		}
	})
}

func TestDemoRunsOutsideActions(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "demo", "--duration", "2s", "--ramp-up", "500ms", "--fail-on-load-shortfall", "false")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []string{"## ✅ Deploy load check", "`GET /api/items`", "`POST /api/orders`", "### Load generator", "pass: "} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte("::")) {
		t.Errorf("demo outside Actions printed workflow commands:\n%s", out)
	}
}

func TestAGeneratorStarvedOfCPUFailsTheCheck(t *testing.T) {
	t.Parallel()
	server, _ := countingServer(t, nil)
	// A runner that stops scheduling the action for a second, as an
	// overloaded machine does, makes it send a second's requests late.
	freeze := func(p *os.Process) {
		time.Sleep(time.Second)
		if err := p.Signal(syscall.SIGSTOP); err != nil {
			t.Errorf("SIGSTOP: %v", err)
			return
		}
		time.Sleep(time.Second)
		if err := p.Signal(syscall.SIGCONT); err != nil {
			t.Errorf("SIGCONT: %v", err)
		}
	}
	run := runActionWhile(t, freeze, map[string]string{
		"targets":        server.URL,
		"rate":           "200/1s",
		"duration":       "4s",
		"max-error-rate": "100%",
	}, nil)
	if run.exit != exitBreach {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", run.exit, exitBreach, run.stdout, run.stderr)
	}
	for _, want := range []string{"load generator fell behind its schedule", "> [!WARNING]", "The generator **fell behind**"} {
		if !strings.Contains(run.summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, run.summary)
		}
	}
}
