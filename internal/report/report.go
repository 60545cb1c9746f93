// Package report writes what a run found: the job summary in Markdown and
// the step outputs.
package report

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// Report is everything a run found.
type Report struct {
	Title   string // what was checked, such as "PR check" or the deploy workflow
	Summary *stats.Summary
	Checks  []verdict.Check
	Health  load.Health
	Deploy  *Deploy // nil in PR-check mode
	// FailOnShortfall makes a generator that could not keep its schedule
	// fail the check.
	FailOnShortfall bool
	// ReportPath is where the JSON report was written, for the outputs.
	ReportPath string
	Cancelled  bool
}

// Deploy is the deploy run as the report shows it.
type Deploy struct {
	RunID      int64
	URL        string
	Workflow   string
	Status     string
	Conclusion string
	Duration   time.Duration
	// Dispatched and Completed are since the start of the load; Completed
	// is zero until the run completes.
	Dispatched, Completed time.Duration
	// Steps are the run's job steps placed on the load's timeline.
	Steps []Step
	// Judged is true when a conclusion other than success fails the check.
	Judged bool
	// Problem, when set, says why the deploy could not be followed to the end.
	Problem string
}

// Step is one step of the deploy run, with times since the start of the
// load (GitHub's clock, so within its skew of ours).
type Step struct {
	Job, Name  string
	Start, End time.Duration
	Conclusion string
}

// stepsAt names the steps that were running at t.
func (d *Deploy) stepsAt(t time.Duration) []string {
	if d == nil {
		return nil
	}
	var names []string
	for _, s := range d.Steps {
		if s.Start <= t && (t < s.End || s.End == 0) {
			names = append(names, s.Name)
		}
	}
	return names
}

// Failed reports whether the deploy makes the check fail.
func (d *Deploy) Failed() bool {
	if d == nil {
		return false
	}
	return d.Problem != "" || d.Judged && d.Conclusion != "success"
}

// Passed reports whether the check passes: every threshold held, the
// deploy, when judged, succeeded, and the generator kept its schedule.
func (r *Report) Passed() bool {
	return verdict.Passed(r.Checks) && !r.Deploy.Failed() && !r.shortfall() && !r.Cancelled
}

func (r *Report) shortfall() bool {
	return r.FailOnShortfall && !r.Health.Reliable()
}

// Verdict is "pass", "fail", or "cancelled" for a run cut short.
func (r *Report) Verdict() string {
	switch {
	case r.Cancelled:
		return "cancelled"
	case r.Passed():
		return "pass"
	}
	return "fail"
}

// Reasons lists why the check failed, one sentence each; empty on a pass.
func (r *Report) Reasons() []string {
	var out []string
	if r.Cancelled {
		out = append(out, "the check was cancelled before it finished; the figures cover the load sent until then")
	}
	for _, c := range r.Checks {
		if c.Pass {
			continue
		}
		if c.Metric == verdict.Downtime && c.Target == "" {
			out = append(out, fmt.Sprintf("%s without a successful response%s; the limit is %s %s (%s)",
				dur(r.Summary.Outage.Longest), r.whereLongest(), c.Op, c.Format(c.Limit), c.Source))
			continue
		}
		out = append(out, fmt.Sprintf("%s was %s; the limit is %s %s (%s)", checkName(c), c.Format(c.Observed), c.Op, c.Format(c.Limit), c.Source))
	}
	if r.shortfall() {
		out = append(out, "the load generator fell behind its schedule, so it cannot vouch for the deploy")
	}
	if d := r.Deploy; d.Failed() {
		switch {
		case d.Problem != "":
			out = append(out, d.Problem)
		default:
			out = append(out, fmt.Sprintf("the deploy run concluded %q", d.Conclusion))
		}
	}
	return out
}

// longestWindow returns the longest window without a success.
func (r *Report) longestWindow() (stats.Window, bool) {
	var longest stats.Window
	found := false
	for _, w := range r.Summary.Outage.List {
		if !found || w.Duration() > longest.Duration() {
			longest, found = w, true
		}
	}
	return longest, found
}

// whereLongest places the longest window: when, and during which step.
func (r *Report) whereLongest() string {
	w, ok := r.longestWindow()
	if !ok {
		return ""
	}
	where := " from " + r.at(w.Start)
	if steps := r.Deploy.stepsAt(w.Start); len(steps) > 0 {
		where += fmt.Sprintf(" during %q", strings.Join(steps, `", "`))
	}
	return where
}

// at writes a time since the start of the load, relative to the dispatch
// when there was one.
func (r *Report) at(t time.Duration) string {
	if d := r.Deploy; d != nil && d.Dispatched > 0 {
		rel := t - d.Dispatched
		sign := "+"
		if rel < 0 {
			sign, rel = "−", -rel
		}
		return "T" + sign + clock(rel)
	}
	return clock(t)
}

// Output is one step output.
type Output struct {
	Name, Value string
}

// Outputs returns the step outputs, in the order action.yml declares them.
func (r *Report) Outputs() []Output {
	s := r.Summary
	lat := s.Overall.Latency()
	out := []Output{
		{"verdict", r.Verdict()},
		{"requests", strconv.FormatInt(s.Overall.Requests, 10)},
		{"error-rate", strconv.FormatFloat(s.Overall.ErrorRate(), 'f', -1, 64)},
		{"p50-ms", millis(lat.P50)},
		{"p95-ms", millis(lat.P95)},
		{"p99-ms", millis(lat.P99)},
		{"max-ms", millis(lat.Max)},
		{"downtime-s", strconv.FormatFloat(s.Outage.Longest.Seconds(), 'f', 3, 64)},
		{"deploy-run-id", ""},
		{"deploy-run-url", ""},
		{"deploy-conclusion", ""},
		{"report", r.ReportPath},
	}
	if d := r.Deploy; d != nil {
		if d.RunID != 0 {
			out[8].Value = strconv.FormatInt(d.RunID, 10)
		}
		out[9].Value = d.URL
		out[10].Value = d.Conclusion
	}
	return out
}

func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

// Headline is the verdict in one sentence, for the log and annotations.
func (r *Report) Headline() string {
	s := r.Summary
	lat := s.Overall.Latency()
	figures := fmt.Sprintf("%d requests, %s errors, p95 %s, p99 %s, longest downtime %s",
		s.Overall.Requests, verdict.FormatPercent(s.Overall.ErrorRate()),
		dur(lat.P95), dur(lat.P99), dur(s.Outage.Longest))
	if r.Passed() {
		return "pass: " + figures
	}
	return "fail: " + strings.Join(r.Reasons(), "; ") + " (" + figures + ")"
}

func dur(d time.Duration) string { return verdict.FormatSeconds(d.Seconds()) }

func statusText(code uint16) string {
	if code == 0 {
		return "no answer"
	}
	if t := http.StatusText(int(code)); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return strconv.Itoa(int(code))
}
