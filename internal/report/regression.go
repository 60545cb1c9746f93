package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/stats"
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
// latency (p50, p95, p99) and error rate, and the shift of the deploy
// window and the tail against the head with its interval and the test's
// verdict.
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
	head := g.Tail
	if !head.Compared {
		head = g.Deploy
	}
	rows := []struct {
		name               string
		shift              Shift
		requests, failures int64
		median             time.Duration
	}{
		{"head", Shift{}, head.Errors.BaselineRequests, head.Errors.BaselineFailures, head.Latency.BaselineMedian},
		{"deploy", g.Deploy, g.Deploy.Errors.CandidateRequests, g.Deploy.Errors.CandidateFailures, g.Deploy.Latency.CandidateMedian},
		{"tail", g.Tail, g.Tail.Errors.CandidateRequests, g.Tail.Errors.CandidateFailures, g.Tail.Latency.CandidateMedian},
	}
	slowest := max(g.Tail.Latency.High, g.Deploy.Latency.High)
	for _, row := range rows {
		slowest = max(slowest, row.median)
		if p := r.phase(row.name); p != nil {
			slowest = max(slowest, p.SucceededLatency().P99)
		}
	}
	u := unitFor(slowest)
	fmt.Fprintf(b, "Successful requests' latency and every request's error rate, each window against the head (the old version), by a one-sided Mann–Whitney U test at %s confidence with the Hodges–Lehmann shift and its interval; a regression is a significant shift larger than %s of the head's median and than %s. Latencies and shifts in %s.\n\n",
		confidence(confidenceOf(g)), percent(g.MaxRegression), latency(g.Floor), u.name())
	// The unit is said once above, so that the table keeps to one line a
	// row.
	fmt.Fprintf(b, "| window | requests | error rate | p50 | p95 | p99 | shift (%s CI) | latency | errors |\n|---|---|---|---|---|---|---|---|---|\n",
		confidence(confidenceOf(g)))
	for i, row := range rows {
		if i > 0 && !row.shift.Compared {
			fmt.Fprintf(b, "| %s | — | — | — | — | — | — | not compared | — |\n", row.name)
			continue
		}
		// The phase's successful requests are those compared; without
		// the phase, the comparison's median is all there is.
		p50, p95, p99 := "—", "—", "—"
		if p := r.phase(row.name); p != nil {
			p50, p95, p99 = succeededCells(u, p.Aggregate)
		} else if row.median > 0 {
			p50 = u.format(row.median)
		}
		shift, latencyDecision, errorsDecision := "—", "—", "—"
		if i > 0 {
			l := row.shift.Latency
			shift = fmt.Sprintf("%s (%s to %s)", signed(u, l.Shift), signed(u, l.Low), signed(u, l.High))
			latencyDecision, errorsDecision = decisionText(l.Decision), decisionText(row.shift.Errors.Decision)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", row.name, count(row.requests), percent(errorRate(row.requests, row.failures)),
			p50, p95, p99, shift, latencyDecision, errorsDecision)
	}
	fmt.Fprintf(b, "\nThe head against itself (its halves, A/A): %s.\n\n", escape(calibration(g.Calibration)))
	endDetails(b)
}

// phase returns the phase called name, nil when the run had none.
func (r *Report) phase(name string) *stats.PhaseSummary {
	for i, p := range r.Summary.Phases {
		if p.Name == name {
			return &r.Summary.Phases[i]
		}
	}
	return nil
}

func confidenceOf(g *Regression) float64 {
	for _, s := range []Shift{g.Tail, g.Deploy} {
		if s.Compared && s.Latency.Confidence > 0 {
			return s.Latency.Confidence
		}
	}
	return verdict.DefaultConfidence
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

// jsonRegression is the comparison with the head in the JSON report; null
// without max-regression.
type jsonRegression struct {
	MaxRegression float64 `json:"max_regression"`
	FloorMS       float64 `json:"regression_floor_ms"`
	Confidence    float64 `json:"confidence"`
	// Deploy and Tail are null when the window was not compared (it held
	// no request).
	Deploy      *jsonShift      `json:"deploy"`
	Tail        *jsonShift      `json:"tail"`
	Calibration jsonCalibration `json:"calibration"`
}

type jsonShift struct {
	Latency jsonLatencyShift `json:"latency"`
	Errors  jsonErrorShift   `json:"errors"`
}

// jsonLatencyShift is one latency comparison: the window against the head
// or, in the calibration, the head's second half against its first.
type jsonLatencyShift struct {
	ShiftMS     float64 `json:"shift_ms"`
	CILowMS     float64 `json:"ci_low_ms"`
	CIHighMS    float64 `json:"ci_high_ms"`
	PValue      float64 `json:"p_value"`
	U           float64 `json:"u"`
	NHead       int64   `json:"n_head"`
	NWindow     int64   `json:"n_window"`
	HeadP50MS   float64 `json:"head_p50_ms"`
	WindowP50MS float64 `json:"window_p50_ms"`
	AllowedMS   float64 `json:"allowed_ms"`
	Decision    string  `json:"decision"`
	Reason      string  `json:"reason"`
}

type jsonErrorShift struct {
	HeadRequests   int64   `json:"head_requests"`
	HeadFailures   int64   `json:"head_failures"`
	HeadRate       float64 `json:"head_rate"`
	WindowRequests int64   `json:"window_requests"`
	WindowFailures int64   `json:"window_failures"`
	WindowRate     float64 `json:"window_rate"`
	Test           string  `json:"test"`
	PValue         float64 `json:"p_value"`
	Decision       string  `json:"decision"`
	Reason         string  `json:"reason"`
}

type jsonCalibration struct {
	Latency      jsonLatencyShift `json:"latency"`
	NoiseFloorMS float64          `json:"noise_floor_ms"`
	Drift        bool             `json:"drift"`
	Explanation  string           `json:"explanation"`
}

func (r *Report) jsonRegression() *jsonRegression {
	g := r.Regression
	if g == nil {
		return nil
	}
	c := g.Calibration
	out := &jsonRegression{
		MaxRegression: g.MaxRegression, FloorMS: ms(g.Floor), Confidence: confidenceOf(g),
		Calibration: jsonCalibration{Latency: jsonLatencyShiftOf(c.LatencyShift), NoiseFloorMS: ms(c.NoiseFloor), Drift: c.Drift, Explanation: c.Explanation},
	}
	for _, w := range []struct {
		shift Shift
		to    **jsonShift
	}{{g.Deploy, &out.Deploy}, {g.Tail, &out.Tail}} {
		if !w.shift.Compared {
			continue
		}
		e := w.shift.Errors
		*w.to = &jsonShift{
			Latency: jsonLatencyShiftOf(w.shift.Latency),
			Errors: jsonErrorShift{
				HeadRequests: e.BaselineRequests, HeadFailures: e.BaselineFailures, HeadRate: errorRate(e.BaselineRequests, e.BaselineFailures),
				WindowRequests: e.CandidateRequests, WindowFailures: e.CandidateFailures, WindowRate: errorRate(e.CandidateRequests, e.CandidateFailures),
				Test: string(e.Test), PValue: e.PValue, Decision: e.Decision.String(), Reason: e.Reason,
			},
		}
	}
	return out
}

func jsonLatencyShiftOf(l verdict.LatencyShift) jsonLatencyShift {
	return jsonLatencyShift{
		ShiftMS: ms(l.Shift), CILowMS: ms(l.Low), CIHighMS: ms(l.High), PValue: l.PValue, U: l.U,
		NHead: l.BaselineRequests, NWindow: l.CandidateRequests, HeadP50MS: ms(l.BaselineMedian), WindowP50MS: ms(l.CandidateMedian),
		AllowedMS: ms(l.Allowed), Decision: l.Decision.String(), Reason: l.Reason,
	}
}

// errorRate is failures over requests, 0 when there were none: the rate a
// window showed, whether or not it held enough requests to be compared.
func errorRate(requests, failures int64) float64 {
	if requests <= 0 {
		return 0
	}
	return float64(failures) / float64(requests)
}
