package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/check/checktest"
	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/report"
)

func TestPRCheckPassesAgainstAHealthyServer(t *testing.T) {
	t.Parallel()
	server, hits := countingServer(t, nil)
	// The load lasts until the API has answered 150 requests after the two
	// pre-flight ones.
	clock := checktest.Gates(func() bool { return hits.Load() >= 152 })
	run := runCommand(t, clock, map[string]string{
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
	if err != nil || requests < 150 {
		t.Errorf("requests output = %q, want 150 or more", run.outputs["requests"])
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
	summaryHas(t, run, "## ✅ Deploy load check — pass", "**Thresholds**", "- ✓ `p(99)<=500ms` (max-p99)", "<summary>Latency: p95 ", "<summary>Per endpoint (2)</summary>", "`GET /health`", "`POST /orders`", "<summary>Status codes and errors", "| 200 |", "<summary>Load generator: ")
	if !strings.Contains(run.stdout, "::notice title=Deploy load check%3A pass::pass:") {
		t.Errorf("no notice annotation with the verdict in stdout:\n%s", run.stdout)
	}

	checkResultsFile(t, filepath.Join(run.dir, "results.bin"), requests)
	checkReport(t, run, requests)
}

// checkResultsFile checks that path holds vegeta's own encoding, one result
// per request, without the response headers.
func checkResultsFile(t *testing.T, path string, requests int) {
	t.Helper()
	raw, err := os.ReadFile(path)
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
}

// checkReport checks that the JSON report is where the output says, and
// agrees with it.
func checkReport(t *testing.T, run actionRun, requests int) {
	t.Helper()
	if run.outputs["report"] != filepath.Join(run.dir, "deploy-load-check-report.json") {
		t.Fatalf("report output = %q, want the default report-file in the workspace", run.outputs["report"])
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
	js, err := os.ReadFile(run.outputs["report"])
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
	if rep.Verdict != "pass" || rep.Requests != requests || perSecond != requests || len(rep.Timeline) < 3 {
		t.Errorf("report: verdict %q, requests %d, timeline %d seconds summing to %d; want pass, %d, 3 seconds or more summing to %d",
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
	run := runCommand(t, nil, map[string]string{
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
	summaryHas(t, run, "## ❌ Deploy load check — fail", "- ✗ `error_rate<10%` (thresholds): ", "| bad gateway (502) |", "| bad gateway (502) | 40 | `", "answered bad gateway (502)")
	if !strings.Contains(run.stdout, "::error title=Deploy load check%3A fail::fail: ") || !strings.Contains(run.stdout, "error_rate was ") {
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
			run := runCommand(t, nil, tt.inputs, map[string]string{"GITHUB_API_URL": githubNeverCalled(t)})
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

// The runner sets every input's variable, action.yml's defaults filled in:
// one set empty in the workflow (max-downtime: "") is there and empty, and
// means what action.yml says empty means, not the default.
func TestInputsSetEmptyMeanWhatActionYMLSays(t *testing.T) {
	t.Parallel()
	server := upAndDown(t)
	checkSetEmpty(t, runCommand(t, nil, setEmpty(server), nil))

	t.Run("and one that needs a value says it is empty", func(t *testing.T) {
		t.Parallel()
		run := runCommand(t, nil, map[string]string{"targets": server.URL + "/up", "rate": ""}, nil)
		if run.exit != exitSetup || !strings.Contains(run.stderr, `input "rate": is empty; want `) {
			t.Errorf("exit %d, want %d with the input named and called empty\nstderr:\n%s", run.exit, exitSetup, run.stderr)
		}
	})
}

// upAndDown is an API whose /down never answers with a success.
func upAndDown(t *testing.T) *httptest.Server {
	server, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	return server
}

// setEmpty are the inputs of a check against upAndDown with max-downtime
// and report-file set empty, as the runner passes them when a workflow
// sets them to "": INPUT_MAX-DOWNTIME= and INPUT_REPORT-FILE=.
func setEmpty(server *httptest.Server) map[string]string {
	return map[string]string{
		"targets":                server.URL + "/up\n" + server.URL + "/down",
		"rate":                   "20/1s",
		"duration":               "1s",
		"preflight-timeout":      "0s",
		"max-error-rate":         "100%",
		"max-downtime":           "",
		"report-file":            "",
		"fail-on-load-shortfall": "false",
	}
}

// checkSetEmpty checks that a run of setEmpty judged no downtime and wrote
// no report: /down never answered, so the default max-downtime (0s) would
// have failed it.
func checkSetEmpty(t *testing.T, run actionRun) {
	t.Helper()
	if run.exit != exitPass || run.outputs["verdict"] != "pass" {
		t.Fatalf("exit %d, verdict %q; want %d and pass with no downtime limit\nstdout:\n%s\nstderr:\n%s", run.exit, run.outputs["verdict"], exitPass, run.stdout, run.stderr)
	}
	if strings.Contains(run.summary, "(max-downtime)") {
		t.Errorf("the summary judges max-downtime, set empty:\n%s", run.summary)
	}
	if got, ok := run.outputs["report"]; !ok || got != "" {
		t.Errorf("report output %q (set: %v), want it empty with report-file empty", got, ok)
	}
	if files, _ := filepath.Glob(filepath.Join(run.dir, "*.json")); len(files) != 0 {
		t.Errorf("a report was written with report-file empty: %v", files)
	}
}

// A target named like go-githubactions' fixed delimiter would end its
// value early in GITHUB_OUTPUT; each value has a delimiter of its own.
func TestAnOutputHoldingTheOldDelimiterStaysOneValue(t *testing.T) {
	t.Parallel()
	const name = "_GitHubActionsFileCommandDelimeter_"
	server, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	run := runCommand(t, nil, map[string]string{
		"targets":                server.URL + "/up\n\n# @name " + name + "\n" + server.URL + "/down",
		"rate":                   "20/1s",
		"duration":               "1s",
		"preflight-timeout":      "0s",
		"max-error-rate":         "100%",
		"max-downtime":           "",
		"fail-on-load-shortfall": "false",
	}, nil)
	if run.exit != exitPass {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", run.exit, exitPass, run.stderr)
	}
	if run.outputs["downtime-target"] != name || run.outputs["verdict"] != "pass" {
		t.Errorf("outputs downtime-target %q, verdict %q; want %q and pass", run.outputs["downtime-target"], run.outputs["verdict"], name)
	}
	spec, err := config.ParseSpec(actionYML)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.outputs) != len(spec.Outputs) {
		t.Errorf("%d outputs read back, want action.yml's %d: %v", len(run.outputs), len(spec.Outputs), run.outputs)
	}
}

func TestWriteOutputsPicksADelimiterTheValueDoesNotHold(t *testing.T) {
	t.Parallel()
	delimiters := []string{"ghadelimiter_1", "ghadelimiter_2", "ghadelimiter_3"}
	next := func() string {
		d := delimiters[0]
		delimiters = delimiters[1:]
		return d
	}
	var out strings.Builder
	err := writeOutputs(&out, []report.Output{{Name: "downtime-target", Value: "a\nghadelimiter_1\nb"}, {Name: "verdict", Value: "pass"}}, next)
	want := "downtime-target<<ghadelimiter_2\na\nghadelimiter_1\nb\nghadelimiter_2\nverdict<<ghadelimiter_3\npass\nghadelimiter_3\n"
	if err != nil || out.String() != want {
		t.Errorf("writeOutputs wrote\n%s(error %v)\nwant\n%s", out.String(), err, want)
	}
	got := parseOutputs(out.String())
	if got["downtime-target"] != "a\nghadelimiter_1\nb" || got["verdict"] != "pass" {
		t.Errorf("read back %q", got)
	}
	if randomDelimiter() == randomDelimiter() || !strings.HasPrefix(randomDelimiter(), "ghadelimiter_") {
		t.Errorf("randomDelimiter gives %q twice, or without the ghadelimiter_ prefix", randomDelimiter())
	}
}
