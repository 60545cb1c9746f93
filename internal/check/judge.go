package check

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/zerodowntime/deploy-load-check/internal/config"
	"github.com/zerodowntime/deploy-load-check/internal/report"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// judge asks the recorder for the parts of the requests the thresholds
// and the before/after comparison need, and judges them once the load is
// over.
type judge struct {
	cfg        *config.Config
	names      []string         // the targets
	groups     map[string][]int // target indexes by group
	selections []stats.Selection
}

// The parts of the run the before/after comparison reads: each phase's
// successful requests, the head's second by second for its halves.
var (
	headSelection   = stats.Selection{Phase: "head", Successful: true, PerSecond: true}
	deploySelection = stats.Selection{Phase: "deploy", Successful: true}
	tailSelection   = stats.Selection{Phase: "tail", Successful: true}
)

// newJudge makes a judge of cfg's thresholds on the targets called names,
// grouped as groups says.
func newJudge(cfg *config.Config, names []string, groups map[string][]int) *judge {
	j := &judge{cfg: cfg, names: names, groups: groups}
	for _, t := range cfg.Thresholds {
		if sel, ok := j.selection(t); ok {
			j.add(sel)
		}
	}
	if cfg.Regression != nil && cfg.Deploy != nil {
		j.add(headSelection)
		j.add(deploySelection)
		j.add(tailSelection)
	}
	return j
}

// selection is the part of the run a threshold is judged on, when it is
// neither the whole run nor one target's share, which the recorder keeps
// anyway.
func (j *judge) selection(t verdict.Threshold) (stats.Selection, bool) {
	if t.Window == 0 && t.Group == "" && t.Phase == "" && !t.Successful {
		return stats.Selection{}, false
	}
	sel := stats.Selection{Phase: t.Phase, Successful: t.Successful, PerSecond: t.Window > 0}
	switch {
	case t.Target != "":
		sel.Targets = []int{slices.Index(j.names, t.Target)}
	case t.Group != "":
		sel.Targets = j.groups[t.Group]
	}
	return sel, true
}

func (j *judge) add(sel stats.Selection) {
	if !slices.ContainsFunc(j.selections, func(s stats.Selection) bool { return selectionKey(s) == selectionKey(sel) }) {
		j.selections = append(j.selections, sel)
	}
}

func selectionKey(sel stats.Selection) string {
	var b strings.Builder
	for _, i := range sel.Targets {
		b.WriteString(strconv.Itoa(i) + ",")
	}
	fmt.Fprintf(&b, "|%s|%v|%v", sel.Phase, sel.Successful, sel.PerSecond)
	return b.String()
}

// selected returns what the recorder kept of sel, nil when it kept none.
func (j *judge) selected(s *stats.Summary, sel stats.Selection) *stats.Selected {
	key := selectionKey(sel)
	for _, kept := range s.Selected {
		if selectionKey(kept.Selection) == key {
			return kept
		}
	}
	return nil
}

// missing returns the thresholds whose part of the run was not kept: a
// merge's shards ran with other thresholds than the merge job.
func (j *judge) missing(s *stats.Summary) []string {
	var out []string
	for _, t := range j.cfg.Thresholds {
		if sel, ok := j.selection(t); ok && j.selected(s, sel) == nil {
			out = append(out, t.String())
		}
	}
	return out
}

// checks judges every threshold on the part of the run it names.
func (j *judge) checks(s *stats.Summary) []verdict.Check {
	return verdict.Evaluate(j.cfg.Thresholds, func(t verdict.Threshold) verdict.Observed {
		if sel, ok := j.selection(t); ok {
			selected := j.selected(s, sel)
			switch {
			case selected == nil:
				return nil
			case t.Window > 0 && t.Phase != "":
				return phaseOf(s, selected)
			}
			return selected
		}
		if t.Target != "" {
			if target := s.Target(t.Target); target != nil {
				return target
			}
			return nil
		}
		return s
	})
}

// phaseSeconds is a selection of one phase kept second by second, with
// the seconds its phase covers, so that its windows lie within the phase.
type phaseSeconds struct {
	*stats.Selected
	first, end int
}

func (p phaseSeconds) PhaseSeconds() (first, end int) { return p.first, p.end }

// phaseOf bounds a selection's windows by its phase: from the second in
// which the phase began to the one in which it ended.
func phaseOf(s *stats.Summary, selected *stats.Selected) verdict.Observed {
	for _, p := range s.Phases {
		if p.Name == selected.Phase {
			end := (p.End + time.Second - 1) / time.Second
			return phaseSeconds{Selected: selected, first: int(p.Start / time.Second), end: int(end)}
		}
	}
	return selected
}

// regression judges the deploy window and the tail against the head: the
// new version must not be slower than the old, nor fail more often.
func (j *judge) regression(s *stats.Summary) *report.Regression {
	b := j.cfg.Regression
	if b == nil || j.cfg.Deploy == nil {
		return nil
	}
	head := j.selected(s, headSelection)
	out := &report.Regression{MaxRegression: b.MaxRegression(), Floor: b.Floor()}
	baseline := sample("head", head)
	for _, phase := range []struct {
		sel   stats.Selection
		shift *report.Shift
	}{{deploySelection, &out.Deploy}, {tailSelection, &out.Tail}} {
		selected := j.selected(s, phase.sel)
		if selected == nil || selected.Requests == 0 {
			continue
		}
		candidate := sample(phase.sel.Phase, selected)
		*phase.shift = report.Shift{Compared: true, Latency: b.Latency(baseline, candidate), Errors: b.Errors(baseline, candidate)}
	}
	if head != nil {
		// The head's two halves, an A/A comparison: the noise floor.
		mid := head.SecondCount() / 2
		first, r1, f1 := head.LatencyBetween(0, mid)
		second, r2, f2 := head.LatencyBetween(mid, head.SecondCount())
		out.Calibration = b.Calibrate(
			verdict.Sample{Name: "the head's first half", Latency: first, Requests: r1, Failures: f1},
			verdict.Sample{Name: "its second half", Latency: second, Requests: r2, Failures: f2})
	}
	return out
}

// sample turns what the recorder kept of a phase into the comparison's
// sample: a dense histogram of its successful requests' latency.
func sample(name string, s *stats.Selected) verdict.Sample {
	if s == nil {
		return verdict.Sample{Name: name}
	}
	out := verdict.Sample{Name: name, Requests: s.Requests, Failures: s.Failures}
	if packed := s.Latency(); packed != nil && packed.TotalCount() > 0 {
		out.Latency = hdrhistogram.New(packed.LowestTrackableValue(), packed.HighestTrackableValue(), int(packed.SignificantFigures()))
		packed.MergeInto(out.Latency)
	}
	return out
}

// inconclusive says why the check can vouch for the deploy neither way,
// "" when it can. Unless unjudged, the head window cannot vouch for the old
// version: an endpoint was down longer than the downtime limit allows, or
// more requests failed than degraded-error-rate; whatever the deploy did
// cannot be told from such a head, and that outweighs every failure but
// the deploy run's own. Unjudged, max-regression could not judge the
// tail's latency, as the verdict says only when nothing failed: checks and
// regression are the judge's own, so their failures leave the reason
// unsaid.
func (j *judge) inconclusive(s *stats.Summary, checks []verdict.Check, regression *report.Regression) (reason string, unjudged bool) {
	cfg := j.cfg
	if cfg.Deploy == nil || len(s.Phases) == 0 || s.Phases[0].Name != "head" {
		return "", false
	}
	head := s.Phases[0]
	target, down := headDowntime(s, head)
	for _, t := range cfg.Thresholds {
		if t.Metric != verdict.Downtime || t.Scoped() || t.Window > 0 {
			continue
		}
		check := verdict.Evaluate([]verdict.Threshold{t}, func(verdict.Threshold) verdict.Observed { return downtimeOnly(down) })[0]
		if !check.Pass {
			return fmt.Sprintf("staging was failing before the deploy: %s got no successful answer for %s during the head window (%s allows %s), so the check cannot vouch for the deploy either way",
				target, report.Span(down), t.Source, report.Span(time.Duration(t.Limit*float64(time.Second)))), false
		}
	}
	if rate := cfg.DegradedErrorRate; rate > 0 && head.ErrorRate() > rate {
		return fmt.Sprintf("staging was failing before the deploy: %d of the head window's %d requests failed (%s, above degraded-error-rate %s), so the check cannot vouch for the deploy either way",
			head.Failures, head.Requests, verdict.FormatPercent(head.ErrorRate()), verdict.FormatPercent(rate)), false
	}
	if regression == nil || !verdict.Passed(checks) || regressed(regression.Deploy) || regressed(regression.Tail) {
		return "", false
	}
	return j.unjudged(regression.Tail), true
}

// unjudged says why max-regression could not judge the tail's latency, ""
// when it could. The deploy window mixes both versions, so its comparison
// may well be too wide to call; the tail's must not be, or the head (or
// the tail) was too short. A tail short of successful answers rather than
// of time is no such case: its error rate is judged instead, and says
// whether it failed more often than the head.
func (j *judge) unjudged(tail report.Shift) string {
	if !tail.Compared || tail.Latency.Decision != verdict.Inconclusive {
		return ""
	}
	short := j.cfg.Regression.Lengthen(tail.Latency, tail.Errors.CandidateRequests)
	switch {
	case len(short) == 0:
		return fmt.Sprintf("max-regression cannot judge the tail's latency: only %d of its %d requests succeeded (%s)",
			tail.Latency.CandidateRequests, tail.Errors.CandidateRequests, tail.Latency.Reason)
	case tail.Latency.BaselineRequests < j.cfg.Regression.MinRequests() || tail.Latency.CandidateRequests < j.cfg.Regression.MinRequests():
		return fmt.Sprintf("max-regression cannot be judged: %s; lengthen %s", tail.Latency.Reason, strings.Join(short, " and "))
	}
	return fmt.Sprintf("max-regression cannot be judged: %s; lengthen %s, or raise regression-floor", tail.Latency.Reason, strings.Join(short, " and "))
}

// regressed reports whether a window was found slower than the head, or
// failing more often.
func regressed(s report.Shift) bool {
	return s.Compared && (s.Latency.Decision == verdict.Regression || s.Errors.Decision == verdict.Regression)
}

// headDowntime finds the endpoint that was down longest within the head
// window, and for how long.
func headDowntime(s *stats.Summary, head stats.PhaseSummary) (target string, longest time.Duration) {
	for _, t := range s.Targets {
		for _, w := range t.Down.List {
			if overlap := min(w.End, head.End) - max(w.Start, head.Start); overlap > longest {
				target, longest = t.Name, overlap
			}
		}
	}
	return target, longest
}

// downtimeOnly is an Observed that knows only a downtime.
type downtimeOnly time.Duration

func (d downtimeOnly) Quantile(float64) time.Duration { return 0 }
func (d downtimeOnly) Mean() time.Duration            { return 0 }
func (d downtimeOnly) Max() time.Duration             { return 0 }
func (d downtimeOnly) ErrorRate() float64             { return math.NaN() }
func (d downtimeOnly) Downtime() time.Duration        { return time.Duration(d) }

// What the recorder keeps is judged by counts and second by second too.
var (
	_ verdict.Counted = (*stats.Summary)(nil)
	_ verdict.Counted = (*stats.TargetSummary)(nil)
	_ verdict.Counted = (*stats.Selected)(nil)
	_ verdict.Seconds = (*stats.Selected)(nil)
	_ verdict.Phased  = phaseSeconds{}
)
