package verdict

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The head window measures the old version on the same staging minutes
// before the deploy: a free baseline. Baseline compares a later window (the
// tail, or the deploy window) with it, the way canary judges compare two
// fleets, from the HDR histograms alone so that memory stays bounded at any
// rate and length:
//
//   - a one-sided Mann–Whitney U test (is the candidate stochastically
//     slower?) with SciPy's tie-corrected normal approximation and
//     continuity correction, computed exactly from the bucket counts, a
//     bucket being a tie;
//   - the Hodges–Lehmann shift (the median of every pairwise difference
//     candidate − baseline) and its distribution-free confidence interval
//     (Bauer 1972: the order statistics of those differences at the U
//     statistic's critical rank), selected from the bucket pairs weighted
//     by their counts without expanding a single request;
//   - a regression only when the shift is significant, larger than the
//     allowed share of the baseline's median and larger than an absolute
//     floor.
//
// Histograms count microseconds, as the stats package records them; a
// bucket's value is its midpoint, so each value is off by at most half a
// bucket (0.05% at three significant figures) and so is every difference
// and every order statistic of them.

// Defaults of a Baseline. Its zero value uses them all.
const (
	// DefaultMaxRegression lets the candidate's latency shift by 20% of the
	// baseline's median before it counts as a regression.
	DefaultMaxRegression = 0.2
	// DefaultRegressionFloor is the smallest shift that counts as a
	// regression however fast the API: 5 ms is below what a user of an HTTP
	// API notices, and above the millisecond or so by which two windows of
	// the same version on a shared staging drift apart (a scheduler tick, a
	// GC cycle, a noisy neighbour; bench/cmd/falsealarm puts the noise
	// floor of a 20 ms API's half-minute halves under 1 ms). Without it a
	// 0.2 ms shift on a 1 ms API would fail a 20% limit.
	DefaultRegressionFloor = 5 * time.Millisecond
	// DefaultConfidence is the confidence of the test and of the shift's
	// interval: a same-version comparison is called significant 2% of the
	// time, before the size conditions make a regression rarer still.
	DefaultConfidence = 0.98
	// DefaultMinRequests is the fewest requests on either side that a
	// comparison is made with: below about thirty the normal approximation
	// of U, and with it the interval's ranks, is not to be trusted in its 1%
	// tails.
	DefaultMinRequests = 30
)

// Baseline compares a candidate window with a baseline window. Make one with
// NewBaseline; the zero value uses every default.
type Baseline struct {
	set           baselineSetting
	maxRegression float64
	floor         time.Duration
	confidence    float64
	minRequests   int64
}

type baselineSetting uint8

const (
	setMaxRegression baselineSetting = 1 << iota
	setFloor
	setConfidence
	setMinRequests
)

// BaselineOption tunes a Baseline.
type BaselineOption func(*Baseline)

// WithMaxRegression sets the shift allowed as a share of the baseline's
// median: 0.2 lets the candidate be 20% slower. 0 allows none beyond the
// floor. Default DefaultMaxRegression.
func WithMaxRegression(share float64) BaselineOption {
	return func(b *Baseline) { b.maxRegression, b.set = share, b.set|setMaxRegression }
}

// WithRegressionFloor sets the smallest shift that counts as a regression
// whatever the allowed share; 0 means no floor. Default
// DefaultRegressionFloor.
func WithRegressionFloor(d time.Duration) BaselineOption {
	return func(b *Baseline) { b.floor, b.set = d, b.set|setFloor }
}

// WithConfidence sets the confidence of the test and of the interval,
// between 0.5 and 1 exclusive. Default DefaultConfidence.
func WithConfidence(level float64) BaselineOption {
	return func(b *Baseline) { b.confidence, b.set = level, b.set|setConfidence }
}

// WithMinRequests sets the fewest requests on either side that a comparison
// is made with; fewer make it inconclusive. Default DefaultMinRequests.
func WithMinRequests(n int64) BaselineOption {
	return func(b *Baseline) { b.minRequests, b.set = n, b.set|setMinRequests }
}

// NewBaseline returns a Baseline with the options applied, or an error that
// quotes the first value out of range.
func NewBaseline(opts ...BaselineOption) (Baseline, error) {
	var b Baseline
	for _, opt := range opts {
		opt(&b)
	}
	if s := b.MaxRegression(); !(s >= 0) || math.IsInf(s, 0) {
		return Baseline{}, fmt.Errorf("max regression %q is out of range; want a share of 0 or more such as 0.2 for 20%%", strconv.FormatFloat(s, 'g', -1, 64))
	}
	if f := b.Floor(); f < 0 {
		return Baseline{}, fmt.Errorf("regression floor %q is negative; want a duration of 0s or more such as 5ms", f)
	}
	if c := b.Confidence(); !(c > 0.5 && c < 1) {
		return Baseline{}, fmt.Errorf("confidence %q is out of range; want more than 0.5 and less than 1, such as 0.98", strconv.FormatFloat(c, 'g', -1, 64))
	}
	if n := b.MinRequests(); n < 2 {
		return Baseline{}, fmt.Errorf("minimum requests %q is too few; want 2 or more", strconv.FormatInt(n, 10))
	}
	return b, nil
}

// MaxRegression is the shift allowed as a share of the baseline's median.
func (b Baseline) MaxRegression() float64 {
	if b.set&setMaxRegression == 0 {
		return DefaultMaxRegression
	}
	return b.maxRegression
}

// Floor is the smallest shift that counts as a regression.
func (b Baseline) Floor() time.Duration {
	if b.set&setFloor == 0 {
		return DefaultRegressionFloor
	}
	return b.floor
}

// Confidence is the confidence of the test and of the interval.
func (b Baseline) Confidence() float64 {
	if b.set&setConfidence == 0 {
		return DefaultConfidence
	}
	return b.confidence
}

// MinRequests is the fewest requests on either side that a comparison is
// made with.
func (b Baseline) MinRequests() int64 {
	if b.set&setMinRequests == 0 {
		return DefaultMinRequests
	}
	return b.minRequests
}

// Sample is one window of the run as the comparison sees it.
type Sample struct {
	// Name is how explanations call the window: "head", "tail", "deploy".
	// Empty reads "baseline" or "candidate".
	Name string
	// Latency counts every request's latency in microseconds; nil is empty.
	Latency *hdrhistogram.Histogram
	// Requests and Failures feed the error-rate comparison.
	Requests, Failures int64
}

func (s Sample) name(fallback string) string {
	if s.Name == "" {
		return fallback
	}
	return s.Name
}

// Decision is the outcome of a comparison. The zero value is Inconclusive,
// so that a comparison never passes by omission.
type Decision uint8

// Decisions.
const (
	Inconclusive Decision = iota // too little data to tell
	Pass                         // no regression beyond what is allowed
	Regression                   // significantly and materially worse
)

func (d Decision) String() string {
	switch d {
	case Pass:
		return "pass"
	case Regression:
		return "regression"
	}
	return "inconclusive"
}

// LatencyShift is the comparison of a candidate's latency with a baseline's:
// every figure a summary shows, and the decision.
type LatencyShift struct {
	Decision Decision
	// Reason explains the decision in one line.
	Reason string

	Baseline, Candidate string // the windows' names
	// BaselineRequests and CandidateRequests are the latencies compared:
	// the histograms' counts.
	BaselineRequests, CandidateRequests int64
	Confidence                          float64

	// U is the Mann–Whitney statistic of the candidate: the number of
	// (candidate, baseline) pairs in which the candidate was slower, a tie
	// (the same histogram bucket) counting one half. It ranges from 0 to
	// BaselineRequests × CandidateRequests, with half of that expected of
	// the same distribution.
	U float64
	// Z is U standardised with the tie-corrected variance and the
	// continuity correction, 0 when every request is tied; PValue is its
	// one-sided p-value (the chance of a U this large if the candidate were
	// no slower), 1 when nothing was compared. Both are finite, for JSON.
	Z, PValue float64
	// Significant is PValue < 1 − Confidence.
	Significant bool

	// Shift is the Hodges–Lehmann estimate: the median of the differences
	// candidate − baseline over every pair of requests. Low and High bound
	// its two-sided interval at Confidence.
	Shift, Low, High time.Duration
	// The medians are the histograms' p50, as the summary reports them.
	BaselineMedian, CandidateMedian time.Duration
	// Allowed is the larger of the allowed share of BaselineMedian and the
	// floor: a larger significant Shift is a regression.
	Allowed time.Duration
}

// RelativeShift is the shift as a share of the baseline's median, 0.25 for
// 25% slower; NaN when the median is 0 or nothing was compared.
func (s LatencyShift) RelativeShift() float64 {
	if s.BaselineMedian <= 0 || s.BaselineRequests == 0 || s.CandidateRequests == 0 {
		return math.NaN()
	}
	return float64(s.Shift) / float64(s.BaselineMedian)
}

// Latency compares the candidate's latency with the baseline's. The
// candidate is a regression when it is significantly slower (one-sided
// Mann–Whitney U at the confidence) and its Hodges–Lehmann shift exceeds
// Allowed. It is inconclusive when either side holds fewer than
// MinRequests latencies, or, short of a regression, when the half-width of
// the shift's interval exceeds Allowed: the windows cannot tell an allowed
// shift from a forbidden one, and the reason says about how many requests
// would (the width goes as sqrt(1/m + 1/n); the baseline is lengthened
// first, as the window the user sets before the deploy). With nothing
// allowed (no share, no floor) the width rule does not apply.
//
// Its cost is in the histograms' buckets with data, not in requests: one
// merge of the two bucket lists for U, and a bisection over the value
// range (about 34 rounds at three significant figures up to an hour) for
// each of four order statistics of the pairwise differences, each round
// one walk of both lists.
func (b Baseline) Latency(baseline, candidate Sample) LatencyShift {
	s := LatencyShift{
		Baseline:   baseline.name("baseline"),
		Candidate:  candidate.name("candidate"),
		Confidence: b.Confidence(),
		PValue:     1,
	}
	base, cand := binsOf(baseline.Latency), binsOf(candidate.Latency)
	s.BaselineRequests, s.CandidateRequests = base.total, cand.total
	if short := b.tooFew(s.Baseline, s.BaselineRequests, s.Candidate, s.CandidateRequests); short != "" {
		s.Reason = short
		return s
	}
	alpha := 1 - s.Confidence

	mw := mannWhitney(base, cand)
	s.U, s.PValue = mw.u, mw.pGreater()
	if z := mw.z(); !math.IsInf(z, 0) {
		s.Z = z
	}
	s.Significant = s.PValue < alpha

	diffs := newDifferences(base, cand)
	s.Shift = diffs.median()
	s.Low, s.High = diffs.interval(mw.sigma(), alpha)

	s.BaselineMedian = medianOf(baseline.Latency)
	s.CandidateMedian = medianOf(candidate.Latency)
	s.Allowed = max(b.allowedShare(s.BaselineMedian), b.Floor())

	switch {
	case s.Significant && s.Shift > s.Allowed:
		s.Decision = Regression
		s.Reason = fmt.Sprintf("%s is %s slower than %s (%s), more than the allowed %s",
			s.Candidate, formatDuration(s.Shift), s.Baseline, s.evidence(), b.explainAllowed(s))
	case s.Allowed > 0 && s.halfWidth() > s.Allowed:
		s.Reason = needMore(s) + fmt.Sprintf(" to tell a shift of %s (%s)", formatDuration(s.Allowed), s.evidence())
	default:
		s.Decision = Pass
		if s.Significant && s.Shift > 0 {
			s.Reason = fmt.Sprintf("%s is %s slower than %s (%s), within the allowed %s",
				s.Candidate, formatDuration(s.Shift), s.Baseline, s.evidence(), b.explainAllowed(s))
		} else {
			s.Reason = fmt.Sprintf("%s is not slower than %s: shift %s (%s); allowed %s",
				s.Candidate, s.Baseline, formatSigned(s.Shift), s.evidence(), b.explainAllowed(s))
		}
	}
	return s
}

func (s LatencyShift) halfWidth() time.Duration { return (s.High - s.Low) / 2 }

// evidence is the interval and the p-value, as the reasons quote them.
func (s LatencyShift) evidence() string {
	return fmt.Sprintf("%s CI %s to %s; %s", formatConfidence(s.Confidence), formatSigned(s.Low), formatSigned(s.High), formatP(s.PValue))
}

func (b Baseline) explainAllowed(s LatencyShift) string {
	share := FormatPercent(b.MaxRegression())
	byShare := b.allowedShare(s.BaselineMedian)
	if byShare >= b.Floor() {
		return fmt.Sprintf("%s (%s of %s's median %s)", formatDuration(s.Allowed), share, s.Baseline, formatDuration(s.BaselineMedian))
	}
	return fmt.Sprintf("%s (the floor; %s of %s's median %s is %s)", formatDuration(s.Allowed), share, s.Baseline, formatDuration(s.BaselineMedian), formatDuration(byShare))
}

// allowedShare is the allowed share of the median, as a duration.
func (b Baseline) allowedShare(median time.Duration) time.Duration {
	return time.Duration(saturate(math.Round(b.MaxRegression() * float64(median))))
}

// saturate converts to int64, the largest one for anything larger.
func saturate(f float64) int64 {
	if f >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(f)
}

// tooFew explains why the windows are too small to compare, or returns "".
func (b Baseline) tooFew(baseName string, baseRequests int64, candName string, candRequests int64) string {
	need := b.MinRequests()
	if baseRequests < need {
		return fmt.Sprintf("%s too short: %d requests; need at least %d", baseName, baseRequests, need)
	}
	if candRequests < need {
		return fmt.Sprintf("%s too short: %d requests; need at least %d", candName, candRequests, need)
	}
	return ""
}

// needMore says which window is too short to bring the interval's half
// width down to the allowed shift, and about how many requests it needs.
func needMore(s LatencyShift) string {
	m, n := float64(s.BaselineRequests), float64(s.CandidateRequests)
	want := s.wantedSpread()
	switch baseline, candidate := s.tooWide(); {
	case !candidate:
		return fmt.Sprintf("%s too short: %d requests; need about %d", s.Baseline, s.BaselineRequests, saturate(math.Ceil(1/(want-1/n))))
	case !baseline:
		return fmt.Sprintf("%s too short: %d requests; need about %d", s.Candidate, s.CandidateRequests, saturate(math.Ceil(1/(want-1/m))))
	}
	scale := (1/m + 1/n) / want
	return fmt.Sprintf("%s and %s too short: %d and %d requests; need about %d and %d",
		s.Baseline, s.Candidate, s.BaselineRequests, s.CandidateRequests, saturate(math.Ceil(m*scale)), saturate(math.Ceil(n*scale)))
}

// wantedSpread is what 1/m + 1/n, for m baseline and n candidate
// requests, must come down to for the interval's half width to fit the
// allowed shift: the width goes as sqrt(1/m + 1/n).
func (s LatencyShift) wantedSpread() float64 {
	m, n := float64(s.BaselineRequests), float64(s.CandidateRequests)
	return (1/m + 1/n) * math.Pow(float64(s.Allowed)/float64(s.halfWidth()), 2)
}

// tooWide says which windows must grow for the interval to fit the
// allowed shift: the baseline alone when growing it suffices (it is the
// window the user sets before the deploy), else the candidate alone when
// that suffices, else both.
func (s LatencyShift) tooWide() (baseline, candidate bool) {
	want := s.wantedSpread()
	switch {
	case want > 1/float64(s.CandidateRequests):
		return true, false
	case want > 1/float64(s.BaselineRequests):
		return false, true
	}
	return true, true
}

// Lengthen names the windows whose length kept an inconclusive latency
// comparison from deciding: the baseline's name, the candidate's, or
// both. It names none when the comparison decided, and none when what the
// candidate lacked were answers rather than time: had all of its
// candidateRequests (failures included) answered, it would have held
// enough latencies, at least MinRequests and an interval no wider than
// allowed. A window that stopped answering is judged by its error rate;
// no length would help it.
func (b Baseline) Lengthen(s LatencyShift, candidateRequests int64) []string {
	if s.Decision != Inconclusive {
		return nil
	}
	need := b.MinRequests()
	switch {
	case s.CandidateRequests < need && candidateRequests >= need:
		return nil
	case s.BaselineRequests < need && s.CandidateRequests < need:
		return []string{s.Baseline, s.Candidate}
	case s.BaselineRequests < need:
		return []string{s.Baseline}
	case s.CandidateRequests < need:
		return []string{s.Candidate}
	case s.Allowed <= 0 || s.halfWidth() <= s.Allowed:
		return nil
	}
	m, all := float64(s.BaselineRequests), float64(max(candidateRequests, s.CandidateRequests))
	if s.wantedSpread() >= 1/m+1/all {
		return nil
	}
	switch baseline, candidate := s.tooWide(); {
	case !candidate:
		return []string{s.Baseline}
	case !baseline:
		return []string{s.Candidate}
	}
	return []string{s.Baseline, s.Candidate}
}

// Calibration is an A/A comparison of the baseline's two halves: what a
// comparison of the same version shows, its noise floor.
type Calibration struct {
	// LatencyShift compares the second half with the first.
	LatencyShift
	// NoiseFloor is the largest shift the halves' interval admits in either
	// direction: a shift of the candidate no larger is within the noise the
	// baseline shows by itself. 0 when the halves were too short to compare.
	NoiseFloor time.Duration
	// Drift reports that the halves differ by more than the allowed shift,
	// with the interval excluding no difference: the baseline moved on its
	// own, and a comparison with it says less.
	Drift bool
	// Explanation says in one line what the A/A comparison shows.
	Explanation string
}

// Calibrate runs the latency comparison between the first and the second
// half of the baseline (a histogram keeps no order, so the recorder keeps
// the halves apart) and reports its noise floor. Its Decision and Reason
// are the comparison's, as for any candidate; Explanation reads it as
// calibration.
func (b Baseline) Calibrate(firstHalf, secondHalf Sample) Calibration {
	c := Calibration{LatencyShift: b.Latency(firstHalf, secondHalf)}
	if c.BaselineRequests < b.MinRequests() || c.CandidateRequests < b.MinRequests() {
		c.Explanation = c.Reason
		return c
	}
	c.NoiseFloor = max(abs(c.Low), abs(c.High))
	c.Drift = (c.Low > 0 || c.High < 0) && abs(c.Shift) > c.Allowed
	c.Explanation = fmt.Sprintf("%s and %s (%d and %d requests) differ by %s (%s)",
		c.Baseline, c.Candidate, c.BaselineRequests, c.CandidateRequests, formatSigned(c.Shift), c.evidence())
	if c.Drift {
		c.Explanation += fmt.Sprintf(": the baseline drifted by more than the allowed %s on its own", formatDuration(c.Allowed))
	} else {
		c.Explanation += fmt.Sprintf(": noise floor %s against an allowed shift of %s", formatDuration(c.NoiseFloor), formatDuration(c.Allowed))
	}
	return c
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func medianOf(h *hdrhistogram.Histogram) time.Duration {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.ValueAtQuantile(50)) * time.Microsecond
}

// formatDuration writes a duration as FormatSeconds does, down to the
// microsecond, keeping a sub-microsecond shift from reading as 0s.
func formatDuration(d time.Duration) string {
	if d > 0 && d < time.Microsecond {
		return "<1µs"
	}
	return FormatSeconds(d.Seconds())
}

// formatSigned writes a shift with its sign: +40.1ms, -2ms, 0s.
func formatSigned(d time.Duration) string {
	switch {
	case d > 0:
		return "+" + formatDuration(d)
	case d < 0:
		return "-" + formatDuration(-d)
	}
	return "0s"
}

func formatConfidence(c float64) string {
	return strconv.FormatFloat(math.Round(c*1000)/10, 'f', -1, 64) + "%"
}

// formatP writes a p-value with two significant figures, and tiny ones as
// a bound: the normal approximation says nothing useful below it.
func formatP(p float64) string {
	if p < 0.0001 {
		return "p < 0.0001"
	}
	return "p=" + strconv.FormatFloat(p, 'g', 2, 64)
}
