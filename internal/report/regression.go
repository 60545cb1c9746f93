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
		if w.shift.Latency.Decision == verdict.Regression {
			out = append(out, fmt.Sprintf("%s is slower than the head: %s (max-regression %s)", w.name, w.shift.Latency.Reason, percent(g.MaxRegression)))
		}
		if w.shift.Errors.Decision == verdict.Regression {
			out = append(out, fmt.Sprintf("%s fails more often than the head: %s (max-regression)", w.name, w.shift.Errors.Reason))
		}
	}
	return out
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
func (r *Report) writeRegression(b *strings.Builder) {
	g := r.Regression
	if g == nil {
		return
	}
	failed := g.Deploy.failed() || g.Tail.failed()
	summary := "Before / during / after: no regression against the head"
	if failed {
		summary = "Before / during / after: <b>slower or failing more than the head</b>"
	}
	details(b, summary, failed)
	u := unitFor(max(g.Tail.Latency.CandidateMedian, g.Deploy.Latency.CandidateMedian, g.Tail.Latency.BaselineMedian) * 4)
	fmt.Fprintf(b, "Successful requests' latency and every request's error rate, each window against the head (the old version), by a one-sided Mann–Whitney U test at %s confidence with the Hodges–Lehmann shift and its interval; a regression is a significant shift larger than %s of the head's median and than %s.\n\n",
		percent(confidenceOf(g)), percent(g.MaxRegression), span(g.Floor))
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
	fmt.Fprintf(b, "\nThe head against itself (its halves, A/A): %s.\n\n", escape(g.Calibration.Explanation))
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
