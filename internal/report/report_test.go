package report

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/google/go-cmp/cmp"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var start = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const refused = `Get "http://127.0.0.1:8080/v1/images": dial tcp 127.0.0.1:8080: connect: connection refused`

// scenario is a run made up request by request: requests go to the
// targets in turn, one every interval, for length; answer says how each
// went. Deploy, when set, is dispatched at dispatch and completes at
// completed (zero: never), with the default thresholds of the action.
type scenario struct {
	targets    []string
	interval   time.Duration
	length     time.Duration
	answer     func(target int, at time.Duration) (code uint16, latency time.Duration, errText string)
	version    func(at time.Duration) string
	thresholds []string
	deploy     *Deploy
	dispatch   time.Duration
	completed  time.Duration
}

func ok(int, time.Duration) (uint16, time.Duration, string) { return 200, 12 * time.Millisecond, "" }

// defaultThresholds are the action's defaults: max-error-rate 1% and
// max-downtime 0s.
var defaultThresholds = []string{"error_rate<=1%", "downtime<=0s"}

// freshTurn says whether request k of target i of n goes on a fresh
// connection, as the load generator decides it: one in ten of every
// target's, the targets staggered.
func freshTurn(i, n, k int) bool {
	phase := float64(i) / float64(n)
	return math.Floor(float64(k+1)*0.1+phase) > math.Floor(float64(k)*0.1+phase)
}

func (sc scenario) report(t *testing.T) *Report {
	t.Helper()
	answer := sc.answer
	if answer == nil {
		answer = ok
	}
	var thresholds []verdict.Threshold
	// A windowed or phase-scoped threshold is judged on a selection the
	// recorder keeps for it, as the action's judge does.
	var selections []stats.Selection
	selected := map[int]int{}
	for _, s := range append(defaultThresholds, sc.thresholds...) {
		target, expr, scoped := strings.Cut(s, ": ")
		if !scoped {
			target, expr = "", s
		}
		th, err := verdict.Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		th.Source, th.Target = "thresholds", target
		switch s {
		case "error_rate<=1%":
			th.Source = "max-error-rate"
		case "downtime<=0s":
			th.Source = "max-downtime"
		}
		if th.Window > 0 || th.Phase != "" {
			if target != "" {
				t.Fatalf("%q: the scenarios judge windows and phases of the whole run only", s)
			}
			selected[len(thresholds)] = len(selections)
			selections = append(selections, stats.Selection{Phase: th.Phase, Successful: th.Successful, PerSecond: th.Window > 0})
		}
		thresholds = append(thresholds, th)
	}
	r := stats.NewRecorder(start, sc.targets, stats.Options{VersionHeader: "X-Version", DegradedErrorRate: 0.05, Selections: selections})
	if sc.deploy != nil {
		r.StartPhase("head", start)
		r.StartPhase("deploy", start.Add(sc.dispatch))
		if sc.completed > 0 {
			r.StartPhase("tail", start.Add(sc.completed))
		}
	}
	n := int(sc.length / sc.interval)
	for i := range n {
		at := time.Duration(i) * sc.interval
		target := i % len(sc.targets)
		code, latency, errText := answer(target, at)
		res := &vegeta.Result{Seq: uint64(i), Timestamp: start.Add(at), Latency: latency, Code: code, Error: errText}
		if sc.version != nil && code != 0 {
			res.Headers = http.Header{"X-Version": {sc.version(at)}}
		}
		r.Record(res, stats.Hit{Target: target, Fresh: freshTurn(target, len(sc.targets), i/len(sc.targets))})
	}
	summary := r.Close(start.Add(sc.length))
	rep := &Report{
		Title:   "PR check",
		Summary: summary,
		Checks: verdict.Evaluate(thresholds, func(t verdict.Threshold) verdict.Observed {
			if i := slices.IndexFunc(thresholds, func(th verdict.Threshold) bool { return th == t }); i >= 0 {
				if sel, ok := selected[i]; ok {
					return summary.Selected[sel]
				}
			}
			if t.Target == "" {
				return summary
			}
			if target := summary.Target(t.Target); target != nil {
				return target
			}
			return nil
		}),
		Health: load.Health{
			Rate: vegeta.Rate{Freq: int(time.Second / sc.interval), Per: time.Second}, Elapsed: sc.length,
			Planned: uint64(n), Sent: uint64(n), LagP50: 300 * time.Microsecond, LagP99: 900 * time.Microsecond, LagMax: 2 * time.Millisecond,
		},
		FailOnShortfall: true,
	}
	if sc.deploy != nil {
		d := *sc.deploy
		d.Steps = slices.Clone(d.Steps)
		rep.Title = d.Workflow
		d.Dispatched = sc.dispatch
		if sc.completed > 0 {
			d.Completed, d.Duration = sc.completed, sc.completed-sc.dispatch
		}
		rep.Deploy = &d
	}
	return rep
}

// deployScenario is a deploy run of 10 s from T+0, in a 30 s run at 60/s on
// three endpoints.
func deployScenario(answer func(int, time.Duration) (uint16, time.Duration, string), thresholds ...string) scenario {
	return scenario{
		targets:    []string{"GET /health", "GET /v1/images", "GET /v1/audio"},
		interval:   time.Second / 60,
		length:     30 * time.Second,
		answer:     answer,
		version:    func(at time.Duration) string { return map[bool]string{true: "v1", false: "v2"}[at < 15*time.Second] },
		thresholds: thresholds,
		dispatch:   10 * time.Second,
		completed:  20 * time.Second,
		deploy: &Deploy{
			RunID: 9000000001, URL: "https://github.com/acme/shop/actions/runs/9000000001", Workflow: "deploy-staging.yml in acme/shop",
			Status: "completed", Conclusion: "success", ConclusionMeaning: "it succeeded", Judged: true,
			Attempt: 1, Identified: "by the run ID GitHub returned",
			Steps: []Step{
				{Job: "deploy", Name: "Set up job", Start: 10 * time.Second, End: 11 * time.Second, Conclusion: "success"},
				{Job: "deploy", Name: "Deploy task definition", Start: 11 * time.Second, End: 19 * time.Second, Conclusion: "success"},
				{Job: "deploy", Name: "Smoke test", Start: 19 * time.Second, End: 20 * time.Second, Conclusion: "success"},
			},
		},
	}
}

// scenarios are the runs whose summaries and reports are pinned.
var scenarios = map[string]scenario{
	"clean-deploy": deployScenario(nil),
	"outage-3s": deployScenario(func(target int, at time.Duration) (uint16, time.Duration, string) {
		if at >= 14*time.Second && at < 17*time.Second {
			return 0, 300 * time.Microsecond, refused
		}
		return ok(target, at)
	}),
	"one-endpoint-down": deployScenario(func(target int, at time.Duration) (uint16, time.Duration, string) {
		if target == 1 && at >= 14*time.Second && at < 17*time.Second {
			return 502, 4 * time.Millisecond, "502 Bad Gateway"
		}
		return ok(target, at)
	}),
	"api-left-broken": deployScenario(func(target int, at time.Duration) (uint16, time.Duration, string) {
		if at >= 10100*time.Millisecond {
			return 429, time.Millisecond, "429 Too Many Requests"
		}
		return ok(target, at)
	}),
	"slow-deploy": deployScenario(func(target int, at time.Duration) (uint16, time.Duration, string) {
		if at >= 12*time.Second && at < 18*time.Second {
			return 200, 700 * time.Millisecond, ""
		}
		return ok(target, at)
	}, "p(99)<300ms"),
	"pr-check": {
		targets:    []string{"GET /health", "POST /orders"},
		interval:   20 * time.Millisecond,
		length:     10 * time.Second,
		thresholds: []string{"p(95)<100ms", "POST /orders: p(99)<250ms", "count>=300", "request_rate>=40/s", "min>1ms"},
	},
}

// slowerAfterDeploy is a deploy whose new version answers 40 ms slower,
// judged by max-regression: 20% against its head.
func slowerAfterDeploy(t *testing.T) *Report {
	t.Helper()
	rep := deployScenario(func(target int, at time.Duration) (uint16, time.Duration, string) {
		if at >= 15*time.Second {
			return 200, 52 * time.Millisecond, ""
		}
		return 200, time.Duration(11+at%3) * time.Millisecond, ""
	}, "p(99)[5s]<100ms").report(t)
	window := func(name string, from, to time.Duration, latency func(time.Duration) time.Duration) verdict.Sample {
		h := hdrhistogram.New(1, 3_600_000_000, 3)
		n := int64(0)
		// The moments the scenario sent at, so that the windows hold the
		// phases' requests.
		for i := range 30 * 60 {
			if at := time.Duration(i) * (time.Second / 60); at >= from && at < to {
				_ = h.RecordValue(latency(at).Microseconds())
				n++
			}
		}
		return verdict.Sample{Name: name, Latency: h, Requests: n}
	}
	old := func(at time.Duration) time.Duration { return time.Duration(11+at%3) * time.Millisecond }
	now := func(at time.Duration) time.Duration {
		if at >= 15*time.Second {
			return 52 * time.Millisecond
		}
		return old(at)
	}
	b, err := verdict.NewBaseline(verdict.WithMaxRegression(0.2))
	if err != nil {
		t.Fatal(err)
	}
	head := window("head", 0, 10*time.Second, old)
	deploy, tail := window("deploy", 10*time.Second, 20*time.Second, now), window("tail", 20*time.Second, 30*time.Second, now)
	rep.Regression = &Regression{
		MaxRegression: 0.2, Floor: b.Floor(),
		Deploy:      Shift{Compared: true, Latency: b.Latency(head, deploy), Errors: b.Errors(head, deploy)},
		Tail:        Shift{Compared: true, Latency: b.Latency(head, tail), Errors: b.Errors(head, tail)},
		Calibration: b.Calibrate(window("the head's first half", 0, 5*time.Second, old), window("its second half", 5*time.Second, 10*time.Second, old)),
	}
	return rep
}

// TestSummariesMatchGolden pins the job summary of each scenario;
// go test ./internal/report -update rewrites the goldens, which
// .ci/render.sh then draws as GitHub does.
func TestSummariesMatchGolden(t *testing.T) {
	t.Parallel()
	for name, sc := range scenarios {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			if err := WriteMarkdown(&b, sc.report(t)); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "summary-"+name+".golden.md"), b.String())
		})
	}
	t.Run("slower-after-deploy", func(t *testing.T) {
		t.Parallel()
		var b strings.Builder
		if err := WriteMarkdown(&b, slowerAfterDeploy(t)); err != nil {
			t.Fatal(err)
		}
		golden(t, filepath.Join("testdata", "summary-slower-after-deploy.golden.md"), b.String())
	})
}

// TestJSONReportsMatchGolden pins the JSON report of a deploy with an
// outage, of a PR check, and of a deploy judged against its head.
func TestJSONReportsMatchGolden(t *testing.T) {
	t.Parallel()
	reports := map[string]func(*testing.T) *Report{"slower-after-deploy": slowerAfterDeploy}
	for _, name := range []string{"outage-3s", "pr-check"} {
		reports[name] = scenarios[name].report
	}
	for name, report := range reports {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var b bytes.Buffer
			if err := WriteJSON(&b, report(t)); err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "report-"+name+".golden.json"), b.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); go test ./internal/report -update accepts it:\n%s", path, diff)
	}
}

func TestVerdictsOfTheScenarios(t *testing.T) {
	t.Parallel()
	tests := []struct {
		scenario  string
		verdict   string
		recovered bool
		headline  string
	}{
		{"clean-deploy", Pass, true, "pass: 1,800 requests, 0 failed"},
		{"outage-3s", Fail, true, `fail: 180 requests to all 3 endpoints were refused for 3.0 s, T+4.0 to T+7.0, during step "Deploy task definition"; recovered; the limit is <=0 ms (max-downtime); error_rate was 10.00%; the limit is <=1.00% (max-error-rate)`},
		{"one-endpoint-down", Fail, true, `fail: 60 requests to GET /v1/images answered bad gateway (502) for 3.0 s, T+4.0 to T+7.0, during step "Deploy task definition"; recovered`},
		{"api-left-broken", Fail, false, `; never recovered: still failing when the load stopped, 20.0 s after the deploy began`},
		{"slow-deploy", Fail, true, `fail: p(99) was 700.4 ms, over the limit from T+2.0 to T+8.0, during step "Deploy task definition"; the limit is <300.0 ms (thresholds)`},
		{"pr-check", Pass, true, "pass: 500 requests, 0 failed; p95 12.0 ms, p99 12.0 ms; no endpoint went down"},
	}
	for _, tt := range tests {
		rep := scenarios[tt.scenario].report(t)
		if got := rep.Verdict(); got != tt.verdict {
			t.Errorf("%s: verdict %s, want %s (reasons %q)", tt.scenario, got, tt.verdict, rep.Reasons())
		}
		if got := rep.Recovered(); got != tt.recovered {
			t.Errorf("%s: recovered %v, want %v", tt.scenario, got, tt.recovered)
		}
		if got := rep.Headline(); !strings.Contains(got, tt.headline) {
			t.Errorf("%s: headline %q lacks %q", tt.scenario, got, tt.headline)
		}
	}
}

func TestOutputsCarryTheFigures(t *testing.T) {
	t.Parallel()
	got := map[string]string{}
	for _, o := range scenarios["one-endpoint-down"].report(t).Outputs() {
		got[o.Name] = o.Value
	}
	want := map[string]string{
		"verdict":           "fail",
		"requests":          "1800",
		"error-rate":        "0.03333333333333333",
		"downtime-s":        "3.000",
		"downtime-target":   "GET /v1/images",
		"outage-s":          "0.000",
		"recovered":         "true",
		"deploy-run-id":     "9000000001",
		"deploy-run-url":    "https://github.com/acme/shop/actions/runs/9000000001",
		"deploy-conclusion": "success",
		"report":            "",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestEveryDisruptionIsAnnotated(t *testing.T) {
	t.Parallel()
	rep := scenarios["one-endpoint-down"].report(t)
	got := rep.Annotations()
	if len(got) != 2 {
		t.Fatalf("%d annotations, want the verdict and one disruption: %+v", len(got), got)
	}
	want := Annotation{Level: "error", Title: "GET /v1/images down for 3.0 s",
		Message: `60 requests to GET /v1/images answered bad gateway (502) for 3.0 s, T+4.0 to T+7.0, during step "Deploy task definition"; recovered`}
	if diff := cmp.Diff(want, got[1]); diff != "" {
		t.Errorf("disruption annotation (-want +got):\n%s", diff)
	}
	if got[0].Level != "error" || got[0].Title != "Deploy load check: fail" {
		t.Errorf("verdict annotation %+v", got[0])
	}
}

func TestAnUnhealthyHeadIsInconclusiveUnlessTheDeployFailed(t *testing.T) {
	t.Parallel()
	rep := scenarios["clean-deploy"].report(t)
	rep.Inconclusive = "staging was failing before the deploy"
	if rep.Verdict() != Inconclusive || rep.Passed() {
		t.Errorf("verdict %s, want inconclusive", rep.Verdict())
	}
	rep.Deploy.Conclusion = "failure"
	if rep.Verdict() != Fail {
		t.Errorf("verdict %s with a failed deploy run, want fail", rep.Verdict())
	}
}

func TestAGeneratorThatFellBehindFailsAndSaysWhy(t *testing.T) {
	t.Parallel()
	rep := scenarios["pr-check"].report(t)
	rep.Health.Sent, rep.Health.LagP99 = 300, 2*time.Second
	var b strings.Builder
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"> [!WARNING]", "it sent 300 of the 500 requests", "left more than 2.00 s late (the limit is 100.0 ms)", "<details open><summary>Load generator"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if rep.Passed() {
		t.Error("a generator that fell behind passed")
	}

	t.Run("and tells requests that could not be built from a late schedule", func(t *testing.T) {
		rep := scenarios["pr-check"].report(t)
		rep.Health.BuildErrors, rep.Health.BuildError = 3, `target "POST /orders": {{pick_line terms.txt}}: file is empty`
		problem := rep.Health.Problem()
		if !strings.Contains(problem, "3 requests could not be built") || strings.Contains(problem, "late") || strings.Contains(problem, "sent") {
			t.Errorf("problem %q, want the build failures alone", problem)
		}
		var b strings.Builder
		if err := WriteMarkdown(&b, rep); err != nil {
			t.Fatal(err)
		}
		warning := b.String()[strings.Index(b.String(), "> [!WARNING]"):]
		warning = warning[:strings.Index(warning, "\n\n")]
		if !strings.Contains(warning, "Fix the target or the template the error names") || strings.Contains(warning, "CPU") {
			t.Errorf("the warning gives the wrong advice for requests that could not be built:\n%s", warning)
		}
	})
}

func TestASummaryStaysFarBelowGitHubsCap(t *testing.T) {
	t.Parallel()
	// An hour at 20/s on 50 endpoints that each fail every 7th second.
	names := make([]string, 50)
	for i := range names {
		names[i] = "GET /v1/resource/" + strings.Repeat("x", i)
	}
	sc := scenario{
		targets: names, interval: 50 * time.Millisecond, length: time.Hour,
		answer: func(target int, at time.Duration) (uint16, time.Duration, string) {
			if int(at/time.Second)%7 == target%7 {
				return 503, time.Millisecond, "503 Service Unavailable"
			}
			return ok(target, at)
		},
	}
	var b strings.Builder
	if err := WriteMarkdown(&b, sc.report(t)); err != nil {
		t.Fatal(err)
	}
	if n := b.Len(); n > 256<<10 {
		t.Errorf("summary is %d bytes, want under 256 KiB (GitHub's cap is 1 MiB)", n)
	}
}

// staggered is a run of four endpoints asked in turn, 15/s each, in which
// every endpoint is refused from 4.0 s and answers again from 4.3 s, but
// GET /c from 4.2 s to 4.6 s: the endpoints' windows start and end on
// different grids, and the longest does not span the others.
func staggered() scenario {
	return scenario{
		targets:  []string{"GET /a", "GET /b", "GET /c", "GET /d"},
		interval: time.Second / 60,
		length:   10 * time.Second,
		answer: func(target int, at time.Duration) (uint16, time.Duration, string) {
			from, until := 4*time.Second, 4300*time.Millisecond
			if target == 2 {
				from, until = 4200*time.Millisecond, 4600*time.Millisecond
			}
			if at >= from && at < until {
				return 0, 300 * time.Microsecond, refused
			}
			return ok(target, at)
		},
	}
}

func TestAFindingHasOneFigureTheLongestWindowOfOneEndpoint(t *testing.T) {
	t.Parallel()
	rep := staggered().report(t)
	s := rep.Summary
	longest := s.Targets[2].Down.Longest
	if got := s.Downtime(); got != longest {
		t.Fatalf("downtime %s, want GET /c's window %s", got, longest)
	}
	findings := rep.findings()
	if len(findings) != 1 {
		t.Fatalf("%d findings, want one: %+v", len(findings), findings)
	}
	f := findings[0]
	if merged := f.last - f.first; merged < longest+100*time.Millisecond {
		t.Fatalf("the windows span %s, the longest %s: the scenario should set them apart", merged, longest)
	}
	figure := span(longest)
	window, _ := s.Targets[2].Down.LongestWindow()
	sentence := fmt.Sprintf("requests to all 4 endpoints were refused for %s, %s to %s; recovered", figure, rep.at(window.Start), rep.at(window.End))
	if got := rep.sentence(f); !strings.Contains(got, sentence) {
		t.Errorf("sentence %q lacks %q", got, sentence)
	}
	if got := rep.Annotations()[1].Title; got != "all 4 endpoints down for "+figure {
		t.Errorf("annotation title %q, want the figure %s", got, figure)
	}
	var b strings.Builder
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	if line := "- ✗ `downtime<=0s` (max-downtime): " + figure + ", all 4 endpoints"; !strings.Contains(b.String(), line) {
		t.Errorf("summary lacks the threshold line %q", line)
	}
	for _, o := range rep.Outputs() {
		if o.Name == "downtime-s" && o.Value != secondsText(longest) {
			t.Errorf("downtime-s %s, want %s", o.Value, secondsText(longest))
		}
	}
}

func TestTheHeadlineSaysWhenTheAPINeverRecovered(t *testing.T) {
	t.Parallel()
	const never = "never recovered: still failing when the load stopped, 20.0 s after the deploy began"
	// max-downtime: '' judges no downtime; the 429s fail on error rate.
	rep := scenarios["api-left-broken"].report(t)
	rep.Checks = slices.DeleteFunc(rep.Checks, func(c verdict.Check) bool { return c.Metric == verdict.Downtime })
	got := rep.Headline()
	if !strings.HasPrefix(got, "fail: 1,193 requests to all 3 endpoints answered rate limited (429)") || !strings.Contains(got, never) || !strings.Contains(got, "error_rate was 66.28%") {
		t.Errorf("headline %q, want the disruption that never recovered first, then the error rate", got)
	}
	if strings.Count(got, "never recovered") != 1 {
		t.Errorf("headline %q says it more than once", got)
	}

	t.Run("even when the check passed", func(t *testing.T) {
		rep := scenarios["api-left-broken"].report(t)
		rep.Checks = nil
		if got := rep.Headline(); !strings.HasPrefix(got, "pass: ") || !strings.Contains(got, never) {
			t.Errorf("headline %q, want a pass that says the API never recovered", got)
		}
	})
}

// windows is a run of one endpoint at 50/s refused n times, the i-th time
// for 100 + 20i ms, a second apart.
func windows(n int) scenario {
	return scenario{
		targets:  []string{"GET /health"},
		interval: 20 * time.Millisecond,
		length:   time.Duration(n+2) * time.Second,
		answer: func(target int, at time.Duration) (uint16, time.Duration, string) {
			i := int(at / time.Second)
			if i >= 1 && i <= n && at%time.Second < time.Duration(100+20*i)*time.Millisecond {
				return 0, 300 * time.Microsecond, refused
			}
			return ok(target, at)
		},
	}
}

func TestEveryDisruptionGetsAnAnnotationUpToGitHubsLimit(t *testing.T) {
	t.Parallel()
	got := windows(7).report(t).Annotations()
	if len(got) != 8 {
		t.Fatalf("%d annotations, want the verdict and 7 disruptions: %+v", len(got), got)
	}
	for i, a := range got[1:] {
		want := fmt.Sprintf("GET /health down for %d ms", 100+20*(7-i))
		if a.Title != want || strings.Contains(a.Message, "not annotated") {
			t.Errorf("annotation %d: %q (%q), want %q, longest first", i+1, a.Title, a.Message, want)
		}
	}

	t.Run("and the last says how many more there were", func(t *testing.T) {
		got := windows(12).report(t).Annotations()
		if len(got) != maxAnnotations {
			t.Fatalf("%d annotations, want %d", len(got), maxAnnotations)
		}
		if last := got[len(got)-1]; last.Title != "GET /health down for 180 ms" || !strings.Contains(last.Message, "; and 3 shorter disruptions, not annotated") {
			t.Errorf("last annotation %+v, want the 9th longest and the 3 left", last)
		}
	})
}

func TestOnlyTheSectionThatExplainsTheFirstFindingIsOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		report *Report
		open   string // the open section's title; "" for the requests chart, bare
	}{
		{"an outage shows the requests", scenarios["outage-3s"].report(t), ""},
		{"a latency limit shows the latency", scenarios["slow-deploy"].report(t), "Latency: <b>"},
		{"an endpoint's limit shows the endpoints", func() *Report {
			rep := scenarios["pr-check"].report(t)
			for i := range rep.Checks {
				if rep.Checks[i].Target != "" {
					rep.Checks[i].Pass = false
				}
			}
			return rep
		}(), "Per endpoint (2): <b>"},
		{"a regression shows the comparison with the head", slowerAfterDeploy(t), "Before / during / after: <b>"},
		{"a mismatch shows the answers", replayMismatch(t), "Answers compared with the baseline: <b>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteMarkdown(&b, tt.report); err != nil {
				t.Fatal(err)
			}
			md := b.String()
			if n := strings.Count(md, "<details open>"); tt.open == "" && n != 0 || tt.open != "" && n != 1 {
				t.Fatalf("%d sections open:\n%s", n, md)
			}
			chart := strings.Index(md, `title "Requests per second"`)
			firstClosed := strings.Index(md, "<details><summary>")
			switch {
			case tt.open == "" && (chart < 0 || chart > firstClosed):
				t.Errorf("the requests chart is not above the collapsed sections:\n%s", md)
			case tt.open != "" && !strings.Contains(md, "<details open><summary>"+tt.open):
				t.Errorf("the open section is not %q:\n%s", tt.open, md)
			case tt.open != "" && strings.Index(md, "<details open>") > firstClosed:
				t.Errorf("the open section comes after a collapsed one:\n%s", md)
			case tt.open != "" && chart < firstClosed:
				t.Errorf("the requests chart is open, though %q explains the first finding:\n%s", tt.open, md)
			}
		})
	}
}

func TestTablesSpeakOneVocabulary(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	if err := WriteMarkdown(&b, scenarios["api-left-broken"].report(t)); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		// 429 is rate limiting, in the errors as in the status codes.
		"| rate limited (429) | 1,193 | `429 Too Many Requests` |",
		// Latency of successes: nothing succeeded in the tail.
		"| tail | T+10.0 | T+20.0 | 599 | 599 | 100.00% | — | — | — | 10.00 |",
		// One unit a column.
		"longest downtime (s) |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "client error") {
		t.Error("summary files 429 as a client error")
	}
	// Thresholds keep the user's own words in code spans; prose writes
	// durations with a space before the unit, never as Go does (470ms),
	// and percentages with two decimals.
	reports := map[string]*Report{"slower-after-deploy": slowerAfterDeploy(t), "replay-mismatch": replayMismatch(t)}
	for name, sc := range scenarios {
		reports[name] = sc.report(t)
	}
	for name, rep := range reports {
		var b strings.Builder
		if err := WriteMarkdown(&b, rep); err != nil {
			t.Fatal(err)
		}
		prose := regexp.MustCompile("(?s)```.*?```|`[^`]*`").ReplaceAllString(b.String(), "")
		if goDuration := regexp.MustCompile(`\d(ns|µs|ms|s|m)\b`).FindAllString(prose, -1); len(goDuration) > 0 {
			t.Errorf("%s: summary writes durations as Go does: %q", name, goDuration)
		}
		if other := regexp.MustCompile(`[^.\d]\d+(\.\d|\.\d\d\d+)?%`).FindAllString(prose, -1); len(slices.DeleteFunc(other, func(p string) bool { return strings.HasSuffix(p, " 98%") || strings.HasSuffix(p, "(98%") })) > 0 {
			t.Errorf("%s: percentages not at two decimals: %q", name, other)
		}
	}
}

func TestCountsAndRatesAreWrittenAsCountsAndRates(t *testing.T) {
	t.Parallel()
	// 10 s at 50/s: 500 requests, 50/s.
	rep := scenario{targets: []string{"GET /health"}, interval: 20 * time.Millisecond, length: 10 * time.Second,
		thresholds: []string{"count>1000", "request_rate>=60/s", "count>=300", "request_rate>49.5/s"}}.report(t)
	reasons := rep.Reasons()
	for _, want := range []string{
		"count was 500; the limit is >1,000 (thresholds)",
		"request_rate was 50/s; the limit is >=60/s (thresholds)",
	} {
		if !slices.Contains(reasons, want) {
			t.Errorf("reasons %q lack %q", reasons, want)
		}
	}
	var b strings.Builder
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"- ✗ `count>1000` (thresholds): 500\n",
		"- ✗ `request_rate>=60/s` (thresholds): 50/s\n",
		"- ✓ `count>=300` (thresholds): 500\n",
		"- ✓ `request_rate>49.5/s` (thresholds): 50/s\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if regexp.MustCompile(`(count|request_rate)[^\n]*: [\d.]+ s\n`).MatchString(b.String()) {
		t.Errorf("summary writes a count or a rate as seconds:\n%s", b.String())
	}
}

func TestARunShorterThanItsWindowIsJudgedWhole(t *testing.T) {
	t.Parallel()
	// 10 s at 50/s, judged by 30 s windows: one window, all of the run.
	rep := scenario{targets: []string{"GET /health"}, interval: 20 * time.Millisecond, length: 10 * time.Second,
		thresholds: []string{"error_rate[30s]<=100%", "p(99)[5s]<=1m"}}.report(t)
	var b strings.Builder
	if err := WriteMarkdown(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"over the whole run, from T+0.0 (10.0 s, shorter than the 30.0 s window)",
		"in the worst 5.0 s window, from T+",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

func TestAPassingHeadlineSaysWhetherDowntimeHadALimit(t *testing.T) {
	t.Parallel()
	// One refused request at 2 s: 20 ms without a success.
	blip := func(_ int, at time.Duration) (uint16, time.Duration, string) {
		if at == 2*time.Second {
			return 0, time.Millisecond, "connection refused"
		}
		return 200, 12 * time.Millisecond, ""
	}
	for _, limit := range []bool{false, true} {
		rep := scenario{targets: []string{"GET /health"}, interval: 20 * time.Millisecond, length: 5 * time.Second, answer: blip}.report(t)
		var checks []verdict.Check
		for _, c := range rep.Checks {
			switch {
			case c.Metric != verdict.Downtime:
				checks = append(checks, c)
			case limit: // max-downtime: 1s
				c.Limit, c.Pass = 1, true
				checks = append(checks, c)
			}
		}
		rep.Checks = checks
		want := ", no limit set"
		if limit {
			want = ", within its limit"
		}
		if h := rep.Headline(); !strings.HasPrefix(h, "pass: ") || !strings.Contains(h, "longest downtime 20 ms"+want) {
			t.Errorf("a downtime limit %v: headline %q, want a pass with its downtime and %q", limit, h, want)
		}
		if s := rep.sentence(rep.findings()[0]); !strings.HasPrefix(s, "1 request to GET /health was refused for ") {
			t.Errorf("sentence %q, want one request that was refused", s)
		}
	}
}
