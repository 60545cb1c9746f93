package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// Regression is the deploy judged against its own head: the head is the
// old version on the same staging minutes earlier, so the deploy window
// and the tail are compared with it, latency of successful requests and
// error rate, by max-regression.
type Regression struct {
	MaxRegression float64
	Floor         time.Duration
	Deploy, Tail  Shift
	// Calibration compares the head's two halves: the noise the head
	// shows by itself.
	Calibration verdict.Calibration
}

// Shift is one window compared with the head.
type Shift struct {
	Compared bool
	Latency  verdict.LatencyShift
	Errors   verdict.ErrorShift
}

// failed reports whether the window regressed.
func (s Shift) failed() bool {
	return s.Compared && (s.Latency.Decision == verdict.Regression || s.Errors.Decision == verdict.Regression)
}

// regressionReasons says which windows regressed, and how.
func (r *Report) regressionReasons() []string {
	g := r.Regression
	if g == nil {
		return nil
	}
	var out []string
	for _, w := range []struct {
		name  string
		shift Shift
	}{{"the tail", g.Tail}, {"the deploy window", g.Deploy}} {
		if !w.shift.Compared {
			continue
		}
		if l := w.shift.Latency; l.Decision == verdict.Regression {
			out = append(out, fmt.Sprintf("%s is slower than the head: its successful requests are %s slower (%s), more than the allowed %s (max-regression %s)",
				w.name, latency(l.Shift), evidence(l), g.allowed(l), percent(g.MaxRegression)))
		}
		if e := w.shift.Errors; e.Decision == verdict.Regression {
			out = append(out, fmt.Sprintf("%s fails more often than the head: %s of its %s failed against %s of the head's %s (%s, %s; %s confidence) (max-regression)",
				w.name, percent(e.CandidateRate), plural(e.CandidateRequests, "request"), percent(e.BaselineRate), count(e.BaselineRequests),
				e.Test, pValue(e.PValue), confidence(e.Confidence)))
		}
	}
	return out
}

// evidence is a shift's interval and p-value, in the summary's units:
// 98% CI +38.0 ms to +41.0 ms; p < 0.0001.
func evidence(l verdict.LatencyShift) string {
	return fmt.Sprintf("%s CI %s to %s; %s", confidence(l.Confidence), signedLatency(l.Low), signedLatency(l.High), pValue(l.PValue))
}

// allowed says how large a shift max-regression allows, and why: a share
// of the head's median, or the floor when that share is smaller.
func (g *Regression) allowed(l verdict.LatencyShift) string {
	share := time.Duration(math.Round(g.MaxRegression * float64(l.BaselineMedian)))
	if share >= g.Floor {
		return fmt.Sprintf("%s, %s of the head's median %s", latency(l.Allowed), percent(g.MaxRegression), latency(l.BaselineMedian))
	}
	return fmt.Sprintf("%s, the floor: %s of the head's median %s is %s", latency(l.Allowed), percent(g.MaxRegression), latency(l.BaselineMedian), latency(share))
}

// calibration says in one line what the head's two halves show.
func calibration(c verdict.Calibration) string {
	if c.Explanation == c.Reason {
		// The halves were too short to compare: the reason says why.
		return c.Explanation
	}
	line := fmt.Sprintf("%s and %s (%s and %s requests) differ by %s (%s)", c.Baseline, c.Candidate, count(c.BaselineRequests), count(c.CandidateRequests),
		signedLatency(c.Shift), evidence(c.LatencyShift))
	if c.Drift {
		return line + fmt.Sprintf(": the head drifted by more than the allowed %s on its own", latency(c.Allowed))
	}
	return line + fmt.Sprintf(": noise floor %s against an allowed shift of %s", latency(c.NoiseFloor), latency(c.Allowed))
}

// signedLatency writes a shift with its sign and unit: +40.0 ms, −2.0 ms,
// 0 ms.
func signedLatency(d time.Duration) string {
	switch {
	case d > 0:
		return "+" + latency(d)
	case d < 0:
		return "−" + latency(-d)
	}
	return "0 ms"
}

// confidence writes a confidence level: 98%.
func confidence(c float64) string { return trimFloat(c*100, 1) + "%" }

// pValue writes a p-value with two significant figures, and tiny ones as
// a bound: p = 0.46, p < 0.0001.
func pValue(p float64) string {
	if p < 0.0001 {
		return "p < 0.0001"
	}
	return "p = " + strconv.FormatFloat(p, 'g', 2, 64)
}

// LatencyShiftPercent is the tail's latency shift against the head, as a
// percentage of the head's median: "" when it was not compared.
func (r *Report) latencyShiftPercent() string {
	g := r.Regression
	if g == nil || !g.Tail.Compared {
		return ""
	}
	rel := g.Tail.Latency.RelativeShift()
	if math.IsNaN(rel) {
		return ""
	}
	return strconv.FormatFloat(rel*100, 'f', 1, 64)
}

// writeRegression writes the before / during / after table: each phase's
// latency and error rate, and the shift of the deploy window and the tail
// against the head with its interval and the test's verdict.
func (r *Report) writeRegression(b *strings.Builder, open bool) {
	g := r.Regression
	if g == nil {
		return
	}
	failed := g.Deploy.failed() || g.Tail.failed()
	summary := "Before / during / after: no regression against the head"
	if failed {
		summary = "Before / during / after: <b>slower or failing more than the head</b>"
	}
	details(b, summary, open)
	u := unitFor(max(g.Tail.Latency.CandidateMedian, g.Deploy.Latency.CandidateMedian, g.Tail.Latency.BaselineMedian) * 4)
	fmt.Fprintf(b, "Successful requests' latency and every request's error rate, each window against the head (the old version), by a one-sided Mann–Whitney U test at %s confidence with the Hodges–Lehmann shift and its interval; a regression is a significant shift larger than %s of the head's median and than %s.\n\n",
		confidence(confidenceOf(g)), percent(g.MaxRegression), latency(g.Floor))
	fmt.Fprintf(b, "| window | requests | error rate | p50 (%[1]s) | shift against the head (%[1]s) | interval (%[1]s) | latency | errors |\n|---|---|---|---|---|---|---|---|\n", u.name())
	head := g.Tail.Latency
	if !g.Tail.Compared {
		head = g.Deploy.Latency
	}
	fmt.Fprintf(b, "| head | %s | %s | %s | — | — | — | — |\n", count(headRequests(g)), percent(headErrorRate(g)), u.format(head.BaselineMedian))
	for _, w := range []struct {
		name  string
		shift Shift
	}{{"deploy", g.Deploy}, {"tail", g.Tail}} {
		if !w.shift.Compared {
			fmt.Fprintf(b, "| %s | — | — | — | — | — | not compared | — |\n", w.name)
			continue
		}
		l, e := w.shift.Latency, w.shift.Errors
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s to %s | %s | %s |\n", w.name, count(e.CandidateRequests), percent(e.CandidateRate),
			u.format(l.CandidateMedian), signed(u, l.Shift), signed(u, l.Low), signed(u, l.High), decisionText(l.Decision), decisionText(e.Decision))
	}
	fmt.Fprintf(b, "\nThe head against itself (its halves, A/A): %s.\n\n", escape(calibration(g.Calibration)))
	endDetails(b)
}

func confidenceOf(g *Regression) float64 {
	for _, s := range []Shift{g.Tail, g.Deploy} {
		if s.Compared && s.Latency.Confidence > 0 {
			return s.Latency.Confidence
		}
	}
	return verdict.DefaultConfidence
}

func headRequests(g *Regression) int64 {
	if g.Tail.Compared {
		return g.Tail.Errors.BaselineRequests
	}
	return g.Deploy.Errors.BaselineRequests
}

func headErrorRate(g *Regression) float64 {
	if g.Tail.Compared {
		return g.Tail.Errors.BaselineRate
	}
	return g.Deploy.Errors.BaselineRate
}

func signed(u latencyUnit, d time.Duration) string {
	if d >= 0 {
		return "+" + u.format(d)
	}
	return "−" + u.format(-d)
}

func decisionText(d verdict.Decision) string {
	switch d {
	case verdict.Regression:
		return "✗ regression"
	case verdict.Pass:
		return "✓ pass"
	}
	return "inconclusive"
}
