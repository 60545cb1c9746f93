package check

import (
	"net/http"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// judgeInputs are a deploy check's with max-regression, and no request
// sent: the judge reads only what it is given.
var judgeInputs = map[string]string{
	"targets":        "GET http://127.0.0.1:1/health",
	"workflow":       "deploy-staging.yml",
	"repository":     "acme/shop",
	"github-token":   "ghp_judge",
	"max-regression": "20%",
	"max-error-rate": "1%",
}

// headOf is a summary whose head window sent requests, failures of them
// failing.
func headOf(requests, failures int64) *stats.Summary {
	return &stats.Summary{Phases: []stats.PhaseSummary{{Name: "head", Aggregate: &stats.Aggregate{Requests: requests, Failures: failures}}}}
}

// tailShift is the tail compared with a head of 3000 successful requests:
// latencies of successful requests, out of requests sent.
func tailShift(successful, requests int64, errors verdict.Decision) report.Shift {
	latency := verdict.LatencyShift{Decision: verdict.Pass, Baseline: "head", Candidate: "tail", BaselineRequests: 3000, CandidateRequests: successful}
	if successful < verdict.DefaultMinRequests {
		latency.Decision = verdict.Inconclusive
		latency.Reason = "tail too short: few requests; need at least 30"
	}
	return report.Shift{Compared: true, Latency: latency,
		Errors: verdict.ErrorShift{Decision: errors, Baseline: "head", Candidate: "tail", BaselineRequests: 3000, CandidateRequests: requests, CandidateFailures: requests - successful}}
}

func TestMaxRegressionThatCannotBeJudgedYieldsToEveryFailure(t *testing.T) {
	t.Parallel()
	cfg := parse(t, judgeInputs)
	j := newJudge(cfg, []string{"GET /health"}, nil)
	passing := []verdict.Check{{Threshold: cfg.Thresholds[0], Pass: true}}
	failing := []verdict.Check{{Threshold: cfg.Thresholds[0], Pass: false}}
	for _, c := range []struct {
		name       string
		head       *stats.Summary
		checks     []verdict.Check
		tail       report.Shift
		deployFail bool
		want       string // the verdict
		wantReason string // in Inconclusive; "" for none
	}{
		{"an API left broken fails: the tail had no successful answer, and failed more often",
			headOf(3000, 0), failing, tailShift(0, 60, verdict.Regression), false, report.Fail, ""},
		{"an API left broken fails by the error comparison alone",
			headOf(3000, 0), passing, tailShift(0, 60, verdict.Regression), false, report.Fail, ""},
		{"a tail too short fails a breached threshold",
			headOf(3000, 0), failing, tailShift(12, 12, verdict.Inconclusive), false, report.Fail, ""},
		{"a tail too short with nothing failed is inconclusive, and says to lengthen it",
			headOf(3000, 0), passing, tailShift(12, 12, verdict.Inconclusive), false, report.Inconclusive, "max-regression cannot be judged: tail too short"},
		{"a tail too short fails a generator that fell behind",
			headOf(3000, 0), passing, tailShift(12, 12, verdict.Inconclusive), false, report.Fail, "max-regression cannot be judged"},
		{"a tail short of answers with nothing failed says so, not that it was short",
			headOf(3000, 0), passing, tailShift(10, 60, verdict.Pass), false, report.Inconclusive, "only 10 of its 60 requests succeeded"},
		{"a judged tail with nothing failed passes",
			headOf(3000, 0), passing, tailShift(3000, 3000, verdict.Pass), false, report.Pass, ""},
		{"an unhealthy head is inconclusive over a breached threshold",
			headOf(3000, 600), failing, tailShift(0, 60, verdict.Regression), false, report.Inconclusive, "staging was failing before the deploy"},
		{"a failed deploy run fails over an unhealthy head",
			headOf(3000, 600), passing, tailShift(3000, 3000, verdict.Pass), true, report.Fail, "staging was failing before the deploy"},
		{"a failed deploy run fails over a tail too short",
			headOf(3000, 0), passing, tailShift(12, 12, verdict.Inconclusive), true, report.Fail, "max-regression cannot be judged"},
	} {
		regression := &report.Regression{Tail: c.tail}
		rep := &report.Report{Summary: c.head, Checks: c.checks, Regression: regression, Deploy: &report.Deploy{Conclusion: "success"}}
		if strings.Contains(c.name, "fell behind") {
			rep.FailOnShortfall, rep.Health = true, load.Health{Planned: 100, Sent: 10}
		}
		if c.deployFail {
			rep.Deploy = &report.Deploy{Conclusion: "failure", Judged: true}
		}
		rep.Inconclusive, rep.Unjudged = j.inconclusive(c.head, c.checks, regression)
		if got := rep.Verdict(); got != c.want {
			t.Errorf("%s: verdict %s (%q), want %s", c.name, got, rep.Inconclusive, c.want)
		}
		if c.wantReason == "" && rep.Inconclusive != "" || !strings.Contains(rep.Inconclusive, c.wantReason) {
			t.Errorf("%s: inconclusive %q, want %q", c.name, rep.Inconclusive, c.wantReason)
		}
	}
}

// A tail from T+10s to T+30s at 100 requests a second, whose first second
// failed 2: no 10 s window of the tail failed 1%, though the window from
// T+1s, before the tail, holds its first second alone.
func TestAPhaseWindowIsJudgedWithinThePhase(t *testing.T) {
	t.Parallel()
	inputs := map[string]string{"thresholds": "error_rate{phase:tail}[10s]<1%\nerror_rate{phase:tail}[30s]<1%"}
	for k, v := range judgeInputs {
		inputs[k] = v
	}
	delete(inputs, "max-regression")
	cfg := parse(t, inputs)
	j := newJudge(cfg, []string{"GET /health"}, nil)
	start := time.Unix(1_700_000_000, 0)
	recorder := stats.NewRecorder(start, []string{"GET /health"}, stats.Options{Selections: j.selections})
	recorder.StartPhase("head", start)
	recorder.StartPhase("deploy", start.Add(5*time.Second))
	recorder.StartPhase("tail", start.Add(10*time.Second))
	var seq uint64
	for ms := 10_000; ms < 30_000; ms += 10 {
		code := uint16(http.StatusOK)
		if ms < 10_020 {
			code = http.StatusServiceUnavailable
		}
		recorder.Record(&vegeta.Result{Seq: seq, Code: code, Timestamp: start.Add(time.Duration(ms) * time.Millisecond), Latency: time.Millisecond}, stats.Hit{})
		seq++
	}
	checks := j.checks(recorder.Close(start.Add(30 * time.Second)))
	var windowed []verdict.Check
	for _, c := range checks {
		if c.Window > 0 {
			windowed = append(windowed, c)
		}
	}
	if len(windowed) != 2 {
		t.Fatalf("judged %d windowed thresholds, want 2: %+v", len(windowed), checks)
	}
	if c := windowed[0]; !c.Pass || c.Observed != 0.002 || c.WindowStart != 10*time.Second || c.WindowLength != 10*time.Second {
		t.Errorf("%s: pass %v, %v from %s over %s; want a pass, 0.2%% from 10s over 10s", c, c.Pass, c.Observed, c.WindowStart, c.WindowLength)
	}
	if c := windowed[1]; !c.WholeSpan() || c.WindowStart != 10*time.Second || c.WindowLength != 20*time.Second {
		t.Errorf("%s: whole span %v, from %s over %s; want the tail as one window, from 10s over 20s", c, c.WholeSpan(), c.WindowStart, c.WindowLength)
	}
}
