// Package report writes what a run found: the job summary in Markdown, the
// JSON report, the step outputs and the annotations. It judges nothing
// itself: the checks come from package verdict, and the findings are the
// windows package stats measured, put in words.
package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// Report is everything a run found.
type Report struct {
	Title   string // what was checked: "PR check", or the deploy workflow
	Summary *stats.Summary
	Checks  []verdict.Check
	Health  load.Health
	Deploy  *Deploy // nil in PR-check mode
	// FailOnShortfall makes a generator that could not keep its schedule
	// fail the check.
	FailOnShortfall bool
	// Inconclusive, when set, says why the check can vouch for the deploy
	// neither way. Staging was already failing before it, unless
	// Unjudged: that outweighs every failure but the deploy run's own.
	Inconclusive string
	// Unjudged marks Inconclusive as a part of the check that could not be
	// judged (max-regression on windows too short to tell an allowed shift
	// from a forbidden one) rather than a failing staging: the verdict is
	// inconclusive only when nothing failed.
	Unjudged bool
	// Regression, with max-regression, is the deploy judged against its
	// own head.
	Regression *Regression
	// ReportPath is where the JSON report was written, for the outputs.
	ReportPath string
	Cancelled  bool
	// Shard, when set, is this job's share of a sharded check: it judges
	// nothing, and its report carries what the merge needs. Shards, in a
	// merge, are the shards merged.
	Shard  *Shard
	Shards []ShardRun
	// Replay and Compare are set when recorded traffic was replayed, and
	// when answers to it were compared.
	Replay  *Replay
	Compare *Compare
}

// Deploy is the deploy run as the report shows it.
type Deploy struct {
	RunID      int64
	URL        string
	Workflow   string
	Status     string
	Conclusion string
	// ConclusionMeaning says what the conclusion means for the deploy, in
	// words.
	ConclusionMeaning string
	// Attempt is the run attempt followed: 1 unless the run was re-run.
	Attempt int
	// Identified says how the run was told apart from others dispatched
	// at the same moment; ByElimination is set when only by being the
	// lone new run, which a correlation ID would make certain.
	Identified    string
	ByElimination bool
	// Job, when set, is the one job followed (deploy-job): its conclusion
	// is the deploy's, and its end started the tail.
	Job string
	// RateLimitWaits counts the waits GitHub's rate limits imposed, which
	// took RateLimitWaited in all.
	RateLimitWaits  int
	RateLimitWaited time.Duration
	Duration        time.Duration
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

// Verdicts, as the verdict output and the JSON report name them.
const (
	Pass         = "pass"
	Fail         = "fail"
	Inconclusive = "inconclusive"
	Cancelled    = "cancelled"
)

// Verdict is Pass, Fail, Inconclusive (staging was failing before the
// deploy, so the check cannot vouch for it either way; or, with nothing
// failed, max-regression could not be judged) or Cancelled. A deploy run
// that failed fails the check whatever the head showed.
func (r *Report) Verdict() string {
	switch {
	case r.Cancelled:
		return Cancelled
	case r.Shard != nil && r.Deploy != nil && r.Deploy.Problem != "":
		// A shard that found no run, or lost it, holds a share of a check
		// that cannot vouch for the deploy.
		return Fail
	case r.Shard != nil:
		return Sharded
	case r.Deploy.Failed():
		return Fail
	case r.Inconclusive != "" && !r.Unjudged:
		return Inconclusive
	case !verdict.Passed(r.Checks) || r.shortfall() || r.mismatchFailed() || len(r.regressionReasons()) > 0 || len(r.shardReasons()) > 0:
		return Fail
	case r.Inconclusive != "":
		return Inconclusive
	}
	return Pass
}

// Passed reports whether the check passes: every threshold held, the
// deploy, when judged, succeeded, the head was healthy and the generator
// kept its schedule.
func (r *Report) Passed() bool { return r.Verdict() == Pass }

func (r *Report) shortfall() bool {
	// A merge judges each shard's generator on its own (shardReasons).
	return r.FailOnShortfall && !r.Health.Reliable() && len(r.Shards) == 0
}

// Reasons lists why the check did not pass, one sentence each, the most
// telling first; empty on a pass.
func (r *Report) Reasons() []string {
	var out []string
	if r.Cancelled {
		out = append(out, "the check was cancelled before it finished; the figures cover the load sent until then")
	}
	if d := r.Deploy; d.Failed() {
		if d.Problem != "" {
			out = append(out, d.Problem)
		} else {
			what := "the deploy run"
			if d.Job != "" {
				what = fmt.Sprintf("the deploy job %q", d.Job)
			}
			out = append(out, fmt.Sprintf("%s concluded %q (%s): %s", what, d.Conclusion, or(d.ConclusionMeaning, "not a success"), d.URL))
		}
	}
	if r.Inconclusive != "" {
		out = append(out, r.Inconclusive)
	}
	// Downtime first: it is what a deploy check is for.
	for _, downtime := range []bool{true, false} {
		for _, c := range r.Checks {
			if !c.Pass && (c.Metric == verdict.Downtime) == downtime {
				out = append(out, r.checkReason(c))
			}
		}
	}
	out = append(out, r.regressionReasons()...)
	out = append(out, r.shardReasons()...)
	if r.shortfall() {
		out = append(out, "the load generator cannot vouch for the deploy: "+r.Health.Problem())
	}
	if r.mismatchFailed() {
		out = append(out, r.mismatchReason())
	}
	return out
}

// checkReason says why a check failed: for downtime, what went down, when
// and for how long; for latency, when it was worst and which deploy step
// ran then.
// windowText says which window a windowed check's figure is of: the
// worst one, or the whole run or phase when that was shorter than the
// window and was judged as one.
func (r *Report) windowText(c verdict.Check) string {
	if c.WholeSpan() {
		scope := "run"
		if c.Phase != "" {
			scope = c.Phase
		}
		return fmt.Sprintf("over the whole %s, from %s (%s, shorter than the %s window)", scope, r.at(c.WindowStart), span(c.WindowLength), span(c.Window))
	}
	return fmt.Sprintf("in the worst %s window, from %s", span(c.Window), r.at(c.WindowStart))
}

func (r *Report) checkReason(c verdict.Check) string {
	limit := fmt.Sprintf("the limit is %s%s (%s)", c.Op, r.value(c, c.Limit), c.Source)
	if c.Metric == verdict.Downtime {
		if f, ok := r.worstFinding(c.Target); ok {
			return r.sentence(f) + "; " + limit
		}
	}
	if c.Window > 0 && !math.IsNaN(c.Observed) {
		return fmt.Sprintf("%s was %s %s%s; %s", checkName(c), r.value(c, c.Observed), r.windowText(c),
			r.during(c.WindowStart, c.WindowStart+c.WindowLength), limit)
	}
	if from, to, over, ok := r.slowestSeconds(c); ok {
		when := "worst"
		if over {
			when = "over the limit"
		}
		return fmt.Sprintf("%s was %s, %s from %s to %s%s; %s", checkName(c), r.value(c, c.Observed), when, r.at(from), r.at(to), r.during(from, to), limit)
	}
	return fmt.Sprintf("%s was %s; %s", checkName(c), r.value(c, c.Observed), limit)
}

// during names the deploy steps that ran between from and to: `, during
// step "Deploy"`.
func (r *Report) during(from, to time.Duration) string {
	d := r.Deploy
	if d == nil {
		return ""
	}
	var steps []string
	for _, st := range d.Steps {
		if st.Start < to && (st.End == 0 || st.End > from) {
			steps = append(steps, st.Name)
		}
	}
	if len(steps) == 0 {
		return ""
	}
	if len(steps) == 1 {
		return fmt.Sprintf(", during step %q", steps[0])
	}
	return fmt.Sprintf(", during steps %q", strings.Join(steps, `", "`))
}

// slowestSeconds finds, for a latency check of the whole API that failed
// by being too slow, when its successful requests were slowest, second by
// second: by their p99, or their p50 for a check of the median or the
// mean. It returns the slowest second, or, when that second was over the
// limit itself, the run of seconds over the limit around it. The seconds
// are the whole API's, so a check of one endpoint gets none.
func (r *Report) slowestSeconds(c verdict.Check) (from, to time.Duration, over, ok bool) {
	if c.Pass || math.IsNaN(c.Observed) || c.Target != "" || c.Group != "" || (c.Op != verdict.Less && c.Op != verdict.LessEq) {
		return 0, 0, false, false
	}
	of := func(sec stats.Second) time.Duration { return sec.P99 }
	switch c.Metric {
	case verdict.Quantile, verdict.Max:
		if c.Metric == verdict.Quantile && c.Percentile <= 50 {
			of = func(sec stats.Second) time.Duration { return sec.P50 }
		}
	case verdict.Median, verdict.Mean:
		of = func(sec stats.Second) time.Duration { return sec.P50 }
	default:
		return 0, 0, false, false
	}
	first, last := 0, len(r.Summary.Seconds)
	if c.Phase != "" {
		i := slices.IndexFunc(r.Summary.Phases, func(p stats.PhaseSummary) bool { return p.Name == c.Phase })
		if i < 0 {
			return 0, 0, false, false
		}
		p := r.Summary.Phases[i]
		first, last = int(p.Start/time.Second), min(last, int((p.End+time.Second-1)/time.Second))
	}
	worst := -1
	for i := first; i < last; i++ {
		if v := of(r.Summary.Seconds[i]); v > 0 && (worst < 0 || v > of(r.Summary.Seconds[worst])) {
			worst = i
		}
	}
	if worst < 0 {
		return 0, 0, false, false
	}
	limit := time.Duration(c.Limit * float64(time.Second))
	isOver := func(i int) bool {
		v := of(r.Summary.Seconds[i])
		return v > limit || v == limit && c.Op == verdict.Less
	}
	start, end := worst, worst+1
	if isOver(worst) {
		for start > first && isOver(start-1) {
			start--
		}
		for end < last && isOver(end) {
			end++
		}
	}
	return time.Duration(start) * time.Second, min(time.Duration(end)*time.Second, r.Summary.Elapsed), isOver(worst), true
}

// worstFinding returns the longest finding, of target when it is set.
func (r *Report) worstFinding(target string) (Finding, bool) {
	var worst Finding
	found := false
	for _, f := range r.findings() {
		if target != "" && !slices.Contains(f.Targets, target) {
			continue
		}
		if !found || f.Duration() > worst.Duration() {
			worst, found = f, true
		}
	}
	return worst, found
}

// value writes a value of a check's metric as the summary writes any
// other: an observed one, or its limit.
func (r *Report) value(c verdict.Check, v float64) string {
	if math.IsNaN(v) {
		return "not measured"
	}
	switch c.Metric {
	case verdict.ErrorRate:
		return percent(v)
	case verdict.Downtime:
		return span(time.Duration(v * float64(time.Second)))
	case verdict.Count:
		return count(int64(math.Round(v)))
	case verdict.RequestRate:
		return perSecond(v)
	}
	return latency(time.Duration(v * float64(time.Second)))
}

// checkName is a threshold's metric with its target and scope, if any.
func checkName(c verdict.Check) string { return c.Subject() }

// Headline is the verdict in one sentence, for the log and the step's
// annotation: why the check did not pass, and always whether an endpoint
// never recovered.
func (r *Report) Headline() string {
	if r.Shard != nil && r.Verdict() == Fail {
		return fmt.Sprintf("fail: shard %d of %d: %s", r.Shard.Index, r.Shard.Count, r.Deploy.Problem)
	}
	if r.Shard != nil {
		s := r.Summary
		return fmt.Sprintf("shard %d of %d: %s, %s failed; the merge job judges the check", r.Shard.Index, r.Shard.Count,
			plural(s.Overall.Requests, "request"), count(s.Overall.Failures))
	}
	reasons := r.Reasons()
	// An API that never came back is the first thing to say, whatever
	// threshold failed, or if none did.
	if open, ok := r.openFinding(); ok && !slices.ContainsFunc(reasons, func(reason string) bool { return strings.Contains(reason, "never recovered") }) {
		reasons = append([]string{r.sentence(open)}, reasons...)
	}
	if r.Verdict() != Pass {
		return r.Verdict() + ": " + strings.Join(reasons, "; ")
	}
	s := r.Summary
	lat := s.Overall.Latency()
	down := "no endpoint went down"
	if d := s.Downtime(); d > 0 {
		down = "longest downtime " + span(d) + ", no limit set"
		if slices.ContainsFunc(r.Checks, func(c verdict.Check) bool { return c.Metric == verdict.Downtime }) {
			down = "longest downtime " + span(d) + ", within its limit"
		}
	}
	line := fmt.Sprintf("pass: %s, %s failed; p95 %s, p99 %s; %s", plural(s.Overall.Requests, "request"),
		count(s.Overall.Failures), latency(lat.P95), latency(lat.P99), down)
	if len(reasons) > 0 {
		line += "; " + strings.Join(reasons, "; ")
	}
	return line
}

// openFinding returns the longest finding still failing when the load
// stopped.
func (r *Report) openFinding() (Finding, bool) {
	for _, f := range longestFirst(r.findings()) {
		if f.Open {
			return f, true
		}
	}
	return Finding{}, false
}

// Annotation is one workflow command the step prints: the verdict, and
// one per disruption.
type Annotation struct {
	Level   string // "error", "warning" or "notice"
	Title   string
	Message string
}

// maxAnnotations is GitHub's limit on the annotations of one kind a step
// shows.
const maxAnnotations = 10

// Annotations are the verdict's annotation and one per disruption,
// longest first, as many as GitHub shows a step (the last of them says how
// many more there were): an error when the check failed, a warning when a
// disruption stayed within its limits.
func (r *Report) Annotations() []Annotation {
	level, disruption := "error", "error"
	if r.Passed() || r.Verdict() == Sharded {
		level, disruption = "notice", "warning"
	}
	out := []Annotation{{Level: level, Title: "Deploy load check: " + r.Verdict(), Message: r.Headline()}}
	all := longestFirst(r.findings())
	for i, f := range all {
		if len(out) == maxAnnotations {
			break
		}
		a := Annotation{
			Level:   disruption,
			Title:   fmt.Sprintf("%s down for %s", r.what(f), span(f.Duration())),
			Message: r.sentence(f),
		}
		if left := len(all) - i - 1; len(out) == maxAnnotations-1 && left > 0 {
			a.Message += fmt.Sprintf("; and %s, not annotated: GitHub shows %d annotations a step; the job summary lists them", plural(int64(left), "shorter disruption"), maxAnnotations)
		}
		out = append(out, a)
	}
	return out
}

// Output is one step output.
type Output struct {
	Name, Value string
}

// Outputs returns the step outputs. Their names are action.yml's, which a
// test holds them to.
func (r *Report) Outputs() []Output {
	s := r.Summary
	lat := s.Overall.Latency()
	out := []Output{
		{"verdict", r.Verdict()},
		{"requests", strconv.FormatInt(s.Overall.Requests, 10)},
		{"error-rate", strconv.FormatFloat(s.Overall.ErrorRate(), 'f', -1, 64)},
		{"mismatch-rate", r.mismatchRateOutput()},
		{"p50-ms", millis(lat.P50)},
		{"p95-ms", millis(lat.P95)},
		{"p99-ms", millis(lat.P99)},
		{"max-ms", millis(lat.Max)},
		{"downtime-s", secondsText(s.Downtime())},
		{"downtime-target", ""},
		{"outage-s", secondsText(s.Outage.Longest)},
		{"recovered", strconv.FormatBool(r.Recovered())},
		{"latency-shift-pct", r.latencyShiftPercent()},
		{"report", r.ReportPath},
		{"deploy-run-id", ""},
		{"deploy-run-url", ""},
		{"deploy-conclusion", ""},
	}
	set := func(name, value string) {
		for i := range out {
			if out[i].Name == name {
				out[i].Value = value
			}
		}
	}
	if worst := s.WorstTarget(); worst != nil {
		set("downtime-target", worst.Name)
	}
	if d := r.Deploy; d != nil {
		if d.RunID != 0 {
			set("deploy-run-id", strconv.FormatInt(d.RunID, 10))
		}
		set("deploy-run-url", d.URL)
		set("deploy-conclusion", d.Conclusion)
	}
	return out
}

func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

func secondsText(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
