package verdict

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/google/go-cmp/cmp"

	"github.com/zerodowntime/deploy-load-check/internal/messagecheck"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// newLatencyHistogram has the geometry the stats package records with.
func newLatencyHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, 3_600_000_000, 3)
}

func histogramOf(t testing.TB, micros []int64) *hdrhistogram.Histogram {
	t.Helper()
	h := newLatencyHistogram()
	for _, v := range micros {
		if err := h.RecordValue(v); err != nil {
			t.Fatalf("record %d: %v", v, err)
		}
	}
	return h
}

// lognormal draws n latencies around median with log-scale spread sigma,
// plus shift, in whole microseconds as the recorder rounds them.
func lognormal(rng *rand.Rand, n int, median time.Duration, sigma float64, shift time.Duration) []int64 {
	out := make([]int64, n)
	mu := math.Log(float64(median.Microseconds()))
	for i := range out {
		v := math.Exp(mu+sigma*rng.NormFloat64()) + float64(shift.Microseconds())
		out[i] = max(1, int64(math.Round(v)))
	}
	return out
}

type referenceFile struct {
	Latency []latencyReference `json:"latency"`
	Errors  []errorReference   `json:"errors"`
}

type latencyReference struct {
	Name       string              `json:"name"`
	Confidence float64             `json:"confidence"`
	Baseline   []int64             `json:"baseline"`
	Candidate  []int64             `json:"candidate"`
	Raw        mannWhitneyExpected `json:"raw"`
	HDR        mannWhitneyExpected `json:"hdr"`
}

type mannWhitneyExpected struct {
	U       float64  `json:"u"`
	Z       *float64 `json:"z"`
	P       float64  `json:"p"`
	Sigma   float64  `json:"sigma"`
	ShiftUS float64  `json:"shift_us"`
	LowUS   float64  `json:"low_us"`
	HighUS  float64  `json:"high_us"`
}

type errorReference struct {
	Name              string   `json:"name"`
	BaselineRequests  int64    `json:"baseline_requests"`
	BaselineFailures  int64    `json:"baseline_failures"`
	CandidateRequests int64    `json:"candidate_requests"`
	CandidateFailures int64    `json:"candidate_failures"`
	Test              string   `json:"test"`
	FisherP           float64  `json:"fisher_p"`
	Z                 *float64 `json:"z"`
	ZP                *float64 `json:"z_p"`
}

func readReference(t *testing.T) referenceFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "baseline", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref referenceFile
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Latency) == 0 || len(ref.Errors) == 0 {
		t.Fatal("reference.json holds no cases; regenerate it with gen.py")
	}
	return ref
}

func micros(us float64) time.Duration { return time.Duration(math.Round(us * 1000)) }

// closeTo reports whether got is within rel of want, relative to want, or
// within abs.
func closeTo(got, want, rel, abs float64) bool {
	return math.Abs(got-want) <= max(abs, rel*math.Abs(want))
}

// bucketWidth is the width in microseconds of the HDR bucket holding v, at
// three significant figures: 2048 sub-buckets, so values below 2048 are
// exact and each doubling above doubles the width.
func bucketWidth(v int64) int64 { return 1 << max(0, bits.Len64(uint64(v))-11) }

// sharedPairs counts the (candidate, baseline) pairs whose latencies fall in
// one bucket: the only pairs whose order the histograms lose.
func sharedPairs(h *hdrhistogram.Histogram, base, cand []int64) float64 {
	type group struct{ base, cand float64 }
	values := slices.Concat(base, cand)
	slices.Sort(values)
	groupOf := map[int64]int{}
	var first int64 = -1
	n := -1
	for _, v := range values {
		if first < 0 || !h.ValuesAreEquivalent(first, v) {
			first, n = v, n+1
		}
		groupOf[v] = n
	}
	groups := make([]group, n+1)
	for _, v := range base {
		groups[groupOf[v]].base++
	}
	for _, v := range cand {
		groups[groupOf[v]].cand++
	}
	var shared float64
	for _, g := range groups {
		shared += g.base * g.cand
	}
	return shared
}

// The reference values come from SciPy and NumPy (testdata/baseline/gen.py)
// for the same samples. Against the samples as the histograms hold them
// (each at its bucket's midpoint) every figure agrees: U, the shift and
// the interval exactly (all are whole or quarter microseconds), Z and the
// p-value to 1e-9 relative, the rounding of two normal-distribution
// implementations. Against the raw samples the histograms lose only the
// order within a bucket: U is off by at most half the pairs sharing a
// bucket, and the shift and the interval by at most half a bucket width of
// each side's largest value (each value moves by at most half its bucket,
// each difference by the two halves, and an order statistic by no more
// than the values it orders): 0.05% of the value at three significant
// figures.
func TestLatencyMatchesSciPy(t *testing.T) {
	t.Parallel()
	for _, ref := range readReference(t).Latency {
		t.Run(ref.Name, func(t *testing.T) {
			t.Parallel()
			b, err := NewBaseline(WithConfidence(ref.Confidence), WithMinRequests(2))
			if err != nil {
				t.Fatal(err)
			}
			baseHist, candHist := histogramOf(t, ref.Baseline), histogramOf(t, ref.Candidate)
			got := b.Latency(Sample{Latency: baseHist}, Sample{Latency: candHist})

			want := ref.HDR
			if got.U != want.U {
				t.Errorf("U = %v, want %v", got.U, want.U)
			}
			if !closeTo(got.PValue, want.P, 1e-9, 1e-300) {
				t.Errorf("p-value = %.17g, want %.17g", got.PValue, want.P)
			}
			if want.Z != nil && !closeTo(got.Z, *want.Z, 1e-9, 1e-12) {
				t.Errorf("z = %.17g, want %.17g", got.Z, *want.Z)
			}
			if want.Z == nil && got.Z != 0 {
				t.Errorf("z = %v, want 0 for SciPy's infinity (every request tied)", got.Z)
			}
			gotFigures := []time.Duration{got.Shift, got.Low, got.High}
			if diff := cmp.Diff([]time.Duration{micros(want.ShiftUS), micros(want.LowUS), micros(want.HighUS)}, gotFigures); diff != "" {
				t.Errorf("shift, low, high (-want +got):\n%s", diff)
			}

			raw := ref.Raw
			if slack := sharedPairs(baseHist, ref.Baseline, ref.Candidate) / 2; math.Abs(got.U-raw.U) > slack {
				t.Errorf("U = %v, raw samples' %v: off by more than half the %v pairs sharing a bucket", got.U, raw.U, 2*slack)
			}
			delta := micros(float64(bucketWidth(slices.Max(ref.Baseline))+bucketWidth(slices.Max(ref.Candidate))) / 2)
			for i, rawUS := range []float64{raw.ShiftUS, raw.LowUS, raw.HighUS} {
				if d := gotFigures[i] - micros(rawUS); d > delta || d < -delta {
					t.Errorf("%s = %v, raw samples' %v: off by more than the buckets' resolution %v",
						[]string{"shift", "low", "high"}[i], gotFigures[i], micros(rawUS), delta)
				}
			}
		})
	}
}

func TestErrorsMatchSciPy(t *testing.T) {
	t.Parallel()
	b, err := NewBaseline(WithMinRequests(2))
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range readReference(t).Errors {
		got := b.Errors(
			Sample{Requests: ref.BaselineRequests, Failures: ref.BaselineFailures},
			Sample{Requests: ref.CandidateRequests, Failures: ref.CandidateFailures})
		wantTest, wantP := FisherExact, ref.FisherP
		if ref.Test == "z" {
			wantTest, wantP = PooledZ, *ref.ZP
		}
		if got.Test != wantTest {
			t.Errorf("%s: test = %q, want %q", ref.Name, got.Test, wantTest)
		}
		if !closeTo(got.PValue, wantP, 1e-9, 1e-15) {
			t.Errorf("%s: p-value = %.17g, want %.17g", ref.Name, got.PValue, wantP)
		}
		// Both tests against both references, whichever the rule picks.
		fisher := fisherGreater(ref.CandidateFailures, ref.CandidateRequests, ref.BaselineFailures+ref.CandidateFailures, ref.BaselineRequests+ref.CandidateRequests)
		if !closeTo(fisher, ref.FisherP, 1e-9, 1e-15) {
			t.Errorf("%s: Fisher's p = %.17g, want %.17g", ref.Name, fisher, ref.FisherP)
		}
		if ref.Z != nil {
			if z := pooledZ(ref.BaselineRequests, ref.BaselineFailures, ref.CandidateRequests, ref.CandidateFailures); !closeTo(z, *ref.Z, 1e-12, 1e-12) {
				t.Errorf("%s: z = %.17g, want %.17g", ref.Name, z, *ref.Z)
			}
		}
	}
}

func TestBaselineZeroValueUsesTheDefaults(t *testing.T) {
	t.Parallel()
	var zero Baseline
	made, err := NewBaseline()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []Baseline{zero, made} {
		got := []any{b.MaxRegression(), b.Floor(), b.Confidence(), b.MinRequests()}
		want := []any{DefaultMaxRegression, DefaultRegressionFloor, DefaultConfidence, int64(DefaultMinRequests)}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("settings (-want +got):\n%s", diff)
		}
	}
	set, err := NewBaseline(WithMaxRegression(0), WithRegressionFloor(0), WithConfidence(0.9), WithMinRequests(5))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{set.MaxRegression(), set.Floor(), set.Confidence(), set.MinRequests()}
	if diff := cmp.Diff([]any{0.0, time.Duration(0), 0.9, int64(5)}, got); diff != "" {
		t.Errorf("zero settings are settings, not defaults (-want +got):\n%s", diff)
	}
}

func TestNewBaselineRejectsWithAReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opt  BaselineOption
		in   string
		want string
	}{
		{WithMaxRegression(-0.1), "-0.1", "out of range"},
		{WithMaxRegression(math.NaN()), "NaN", "out of range"},
		{WithMaxRegression(math.Inf(1)), "+Inf", "out of range"},
		{WithRegressionFloor(-time.Millisecond), "-1ms", "negative"},
		{WithConfidence(1), "1", "out of range"},
		{WithConfidence(0.5), "0.5", "out of range"},
		{WithConfidence(math.NaN()), "NaN", "out of range"},
		{WithMinRequests(1), "1", "too few"},
	}
	for _, tt := range tests {
		_, err := NewBaseline(tt.opt)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewBaseline(%s) error = %v, want one saying %q", tt.in, err, tt.want)
			continue
		}
		messagecheck.Check(t, "NewBaseline", tt.in, err)
		if !messagecheck.QuotesPartOf(err.Error(), tt.in) {
			t.Errorf("NewBaseline(%s) error %q does not quote the value", tt.in, err)
		}
	}
}

// scenario is a comparison the decisions and the reasons are pinned on.
type scenario struct {
	name      string
	baseline  Baseline
	base      Sample
	candidate Sample
	want      Decision
}

func latencyScenarios(t *testing.T) []scenario {
	rng := rand.New(rand.NewPCG(1, 2))
	api := func(name string, n int, median time.Duration, shift time.Duration) Sample {
		return Sample{Name: name, Latency: histogramOf(t, lognormal(rng, n, median, 0.3, shift))}
	}
	defaults := Baseline{}
	noFloor, err := NewBaseline(WithRegressionFloor(0))
	if err != nil {
		t.Fatal(err)
	}
	anything, err := NewBaseline(WithMaxRegression(100))
	if err != nil {
		t.Fatal(err)
	}
	nothing, err := NewBaseline(WithMaxRegression(0), WithRegressionFloor(0))
	if err != nil {
		t.Fatal(err)
	}
	spread := func(name string, n int) Sample {
		return Sample{Name: name, Latency: histogramOf(t, lognormal(rng, n, 400*time.Millisecond, 1.2, 0))}
	}
	return []scenario{
		{"a new version 40ms slower is a regression", defaults,
			api("head", 3000, 20*time.Millisecond, 0), api("tail", 6000, 20*time.Millisecond, 40*time.Millisecond), Regression},
		{"the same version passes", defaults,
			api("head", 3000, 20*time.Millisecond, 0), api("tail", 6000, 20*time.Millisecond, 0), Pass},
		{"a significant shift within the allowed share passes", defaults,
			api("head", 3000, 20*time.Millisecond, 0), api("tail", 6000, 20*time.Millisecond, 2*time.Millisecond), Pass},
		{"a shift over the share but under the floor passes", defaults,
			api("head", 3000, time.Millisecond, 0), api("tail", 6000, time.Millisecond, 300*time.Microsecond), Pass},
		{"without a floor the same shift is a regression", noFloor,
			api("head", 3000, time.Millisecond, 0), api("tail", 6000, time.Millisecond, 300*time.Microsecond), Regression},
		{"the share applies above the floor", defaults,
			api("head", 3000, 200*time.Millisecond, 0), api("tail", 6000, 200*time.Millisecond, 30*time.Millisecond), Pass},
		{"a faster candidate passes", defaults,
			api("deploy", 3000, 20*time.Millisecond, 10*time.Millisecond), api("tail", 6000, 20*time.Millisecond, 0), Pass},
		{"a head under the minimum is inconclusive", defaults,
			api("head", 29, 20*time.Millisecond, 0), api("tail", 6000, 20*time.Millisecond, 40*time.Millisecond), Inconclusive},
		{"a tail under the minimum is inconclusive", defaults,
			api("head", 3000, 20*time.Millisecond, 0), Sample{Name: "deploy"}, Inconclusive},
		{"a head too short to tell the allowed shift is inconclusive", defaults,
			spread("head", 40), spread("tail", 4000), Inconclusive},
		{"a tail too short to tell the allowed shift is inconclusive", defaults,
			spread("head", 4000), spread("deploy", 40), Inconclusive},
		{"windows both too short to tell the allowed shift are inconclusive", defaults,
			spread("head", 40), spread("tail", 40), Inconclusive},
		{"a share of 10000% passes a 200% shift", anything,
			api("head", 3000, 20*time.Millisecond, 0), api("tail", 6000, 20*time.Millisecond, 40*time.Millisecond), Pass},
		{"with nothing allowed any significant slowdown is a regression", nothing,
			api("head", 3000, 20*time.Millisecond, 0), api("tail", 6000, 20*time.Millisecond, 500*time.Microsecond), Regression},
		{"with nothing allowed a short head still passes what it cannot tell apart", nothing,
			spread("head", 40), spread("tail", 40), Pass},
		{"every request in one bucket passes", defaults,
			Sample{Name: "head", Latency: histogramOf(t, slices.Repeat([]int64{700}, 50))},
			Sample{Name: "tail", Latency: histogramOf(t, slices.Repeat([]int64{700}, 40))}, Pass},
		{"a short head still fails a large shift", defaults,
			api("head", 40, 20*time.Millisecond, 0), api("tail", 6000, 20*time.Millisecond, 40*time.Millisecond), Regression},
		{"unnamed windows read as baseline and candidate", defaults,
			Sample{Latency: histogramOf(t, lognormal(rng, 100, 20*time.Millisecond, 0.3, 0))},
			Sample{Latency: histogramOf(t, lognormal(rng, 100, 20*time.Millisecond, 0.3, 0))}, Pass},
	}
}

func TestLatencyDecides(t *testing.T) {
	t.Parallel()
	var golden strings.Builder
	for _, sc := range latencyScenarios(t) {
		got := sc.baseline.Latency(sc.base, sc.candidate)
		if got.Decision != sc.want {
			t.Errorf("%s: decision = %v, want %v (%s)", sc.name, got.Decision, sc.want, got.Reason)
		}
		if strings.ContainsAny(got.Reason, "\n\r") || got.Reason == "" {
			t.Errorf("%s: reason %q is not one line", sc.name, got.Reason)
		}
		if got.Decision == Regression && !(got.Significant && got.Shift > got.Allowed && got.PValue < 1-got.Confidence) {
			t.Errorf("%s: a regression without its conditions: %+v", sc.name, got)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("%s: the figures do not go into JSON: %v", sc.name, err)
		}
		fmt.Fprintf(&golden, "%s\n  %s: %s\n", sc.name, got.Decision, got.Reason)
	}
	checkGolden(t, filepath.Join("testdata", "baseline", "latency_reasons.golden"), golden.String())
}

func TestLatencyFigures(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	head := histogramOf(t, lognormal(rng, 3000, 20*time.Millisecond, 0.3, 0))
	tail := histogramOf(t, lognormal(rng, 6000, 20*time.Millisecond, 0.3, 40*time.Millisecond))
	got := Baseline{}.Latency(Sample{Name: "head", Latency: head}, Sample{Name: "tail", Latency: tail})

	if got.BaselineRequests != 3000 || got.CandidateRequests != 6000 {
		t.Errorf("requests = %d and %d, want 3000 and 6000", got.BaselineRequests, got.CandidateRequests)
	}
	if want := time.Duration(head.ValueAtQuantile(50)) * time.Microsecond; got.BaselineMedian != want {
		t.Errorf("baseline median = %v, want the histogram's p50 %v", got.BaselineMedian, want)
	}
	if want := time.Duration(tail.ValueAtQuantile(50)) * time.Microsecond; got.CandidateMedian != want {
		t.Errorf("candidate median = %v, want the histogram's p50 %v", got.CandidateMedian, want)
	}
	if got.Allowed != DefaultRegressionFloor {
		t.Errorf("allowed = %v, want the floor %v (20%% of a 20ms median is less)", got.Allowed, DefaultRegressionFloor)
	}
	// The shift is 40ms by construction; the interval's width at these
	// sizes is a few tenths of a millisecond (a 0.07ms standard error).
	if !(got.Low <= got.Shift && got.Shift <= got.High) || got.Low < 39*time.Millisecond || got.High > 41*time.Millisecond {
		t.Errorf("shift %v in [%v, %v], want about 40ms inside its interval", got.Shift, got.Low, got.High)
	}
	if r := got.RelativeShift(); !closeTo(r, float64(got.Shift)/float64(got.BaselineMedian), 1e-12, 0) || r < 1.8 || r > 2.2 {
		t.Errorf("relative shift = %v, want about 2 (40ms on 20ms)", r)
	}
	if got.U > 3000*6000 || got.U < 0.99*3000*6000 {
		t.Errorf("U = %v, want nearly every pair slower (at most %d)", got.U, 3000*6000)
	}
	if r := (LatencyShift{}).RelativeShift(); !math.IsNaN(r) {
		t.Errorf("relative shift of nothing = %v, want NaN", r)
	}
}

// The difference distribution's order statistics, checked against a
// sorted list of every pair's difference.
func TestDifferencesOrderStatistics(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 30 {
		base := make([]int64, 1+rng.IntN(40))
		cand := make([]int64, 1+rng.IntN(40))
		for i := range base {
			base[i] = 1 + rng.Int64N(5000)
		}
		for i := range cand {
			cand[i] = 1 + rng.Int64N(5000)
		}
		baseBins := binsOf(histogramOf(t, base))
		candBins := binsOf(histogramOf(t, cand))
		var all []int64
		for _, c := range candBins.list {
			for _, b := range baseBins.list {
				for range c.count * b.count {
					all = append(all, c.mid2-b.mid2)
				}
			}
		}
		slices.Sort(all)
		d := newDifferences(baseBins, candBins)
		for k := 1; k <= len(all); k++ {
			if got := d.kth(float64(k)); got != all[k-1] {
				t.Fatalf("round %d: %d-th difference = %d, want %d", round, k, got, all[k-1])
			}
		}
	}
}

func TestCalibrate(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	half := func(name string, shift time.Duration) Sample {
		return Sample{Name: name, Latency: histogramOf(t, lognormal(rng, 1500, 20*time.Millisecond, 0.3, shift))}
	}
	var golden strings.Builder

	steady := Baseline{}.Calibrate(half("head's first half", 0), half("head's second half", 0))
	if steady.Drift || steady.Decision != Pass {
		t.Errorf("steady head: drift %v, decision %v, want no drift and a pass (%s)", steady.Drift, steady.Decision, steady.Explanation)
	}
	if steady.NoiseFloor <= 0 || steady.NoiseFloor > time.Millisecond || steady.NoiseFloor != max(abs(steady.Low), abs(steady.High)) {
		t.Errorf("steady head: noise floor %v with interval [%v, %v], want the interval's larger end, under 1ms", steady.NoiseFloor, steady.Low, steady.High)
	}
	fmt.Fprintf(&golden, "steady head\n  %s\n", steady.Explanation)

	for _, shift := range []time.Duration{30 * time.Millisecond, -30 * time.Millisecond} {
		first, second := half("head's first half", 0), half("head's second half", 0)
		if shift > 0 {
			second = half("head's second half", shift)
		} else {
			first = half("head's first half", -shift)
		}
		drifting := Baseline{}.Calibrate(first, second)
		if !drifting.Drift {
			t.Errorf("head drifting by %v: no drift reported (%s)", shift, drifting.Explanation)
		}
		fmt.Fprintf(&golden, "head drifting by %v\n  %s\n", shift, drifting.Explanation)
	}

	short := Baseline{}.Calibrate(Sample{Name: "head's first half"}, half("head's second half", 0))
	if short.Decision != Inconclusive || short.NoiseFloor != 0 || short.Explanation != short.Reason {
		t.Errorf("empty half: %+v, want an inconclusive comparison without a noise floor", short)
	}
	fmt.Fprintf(&golden, "empty first half\n  %s\n", short.Explanation)
	checkGolden(t, filepath.Join("testdata", "baseline", "calibration.golden"), golden.String())
}

func TestErrorsDecide(t *testing.T) {
	t.Parallel()
	sample := func(name string, requests, failures int64) Sample {
		return Sample{Name: name, Requests: requests, Failures: failures}
	}
	tests := []struct {
		name            string
		head, candidate Sample
		want            Decision
	}{
		{"no failures passes", sample("head", 3000, 0), sample("tail", 6000, 0), Pass},
		{"three new failures are not yet significant", sample("head", 3000, 0), sample("tail", 6000, 3), Pass},
		{"ten new failures are a regression", sample("head", 3000, 0), sample("tail", 6000, 10), Regression},
		{"a tripled error rate is a regression", sample("head", 3000, 30), sample("deploy", 6000, 180), Regression},
		{"a lower error rate passes", sample("head", 3000, 60), sample("tail", 6000, 30), Pass},
		{"a short head is inconclusive", sample("head", 10, 0), sample("tail", 6000, 600), Inconclusive},
		{"counts that do not add up are inconclusive", sample("head", 3000, 0), sample("tail", 10, 11), Inconclusive},
		{"negative counts are inconclusive", sample("head", 3000, -1), sample("tail", 100, 1), Inconclusive},
	}
	var golden strings.Builder
	for _, tt := range tests {
		got := Baseline{}.Errors(tt.head, tt.candidate)
		if got.Decision != tt.want {
			t.Errorf("%s: decision = %v, want %v (%s)", tt.name, got.Decision, tt.want, got.Reason)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("%s: the figures do not go into JSON: %v", tt.name, err)
		}
		fmt.Fprintf(&golden, "%s\n  %s: %s\n", tt.name, got.Decision, got.Reason)
	}
	checkGolden(t, filepath.Join("testdata", "baseline", "error_reasons.golden"), golden.String())
}

func TestDecisionZeroValueIsInconclusive(t *testing.T) {
	t.Parallel()
	var d Decision
	if d != Inconclusive || d.String() != "inconclusive" || Pass.String() != "pass" || Regression.String() != "regression" {
		t.Errorf("decisions read %q, %q, %q", d, Pass, Regression)
	}
	if got := (Baseline{}).Latency(Sample{}, Sample{}); got.Decision != Inconclusive || !strings.Contains(got.Reason, "baseline too short: 0 requests") {
		t.Errorf("nothing compared: %v, %q; want inconclusive, naming the baseline", got.Decision, got.Reason)
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got); run go test -update if the change is meant:\n%s", path, diff)
	}
}

func BenchmarkLatency(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	head := histogramOf(b, lognormal(rng, 3000, 20*time.Millisecond, 0.3, 0))
	tail := histogramOf(b, lognormal(rng, 6000, 20*time.Millisecond, 0.3, 0))
	b.ReportAllocs()
	for b.Loop() {
		Baseline{}.Latency(Sample{Latency: head}, Sample{Latency: tail})
	}
}

// BenchmarkLatencyWide compares an hour at 10k requests per second with
// latencies spread over four decades: the cost follows the buckets with
// data, not the requests.
func BenchmarkLatencyWide(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	head, tail := newLatencyHistogram(), newLatencyHistogram()
	for range 100_000 {
		_ = head.RecordValues(lognormal(rng, 1, 20*time.Millisecond, 1.5, 0)[0], 180)
		_ = tail.RecordValues(lognormal(rng, 1, 20*time.Millisecond, 1.5, 0)[0], 180)
	}
	b.ReportAllocs()
	for b.Loop() {
		Baseline{}.Latency(Sample{Latency: head}, Sample{Latency: tail})
	}
}

func TestAllowedShareSaturates(t *testing.T) {
	t.Parallel()
	b, err := NewBaseline(WithMaxRegression(1e300))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.allowedShare(20 * time.Millisecond); got != math.MaxInt64 {
		t.Errorf("allowed share of 1e300 × 20ms = %v, want the largest duration", got)
	}
}

func TestLengthenNamesTheWindowsTooShortAndNoneShortOfAnswers(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	spread := func(name string, n int) Sample {
		return Sample{Name: name, Latency: histogramOf(t, lognormal(rng, n, 400*time.Millisecond, 1.2, 0))}
	}
	steady := func(name string, n int) Sample {
		return Sample{Name: name, Latency: histogramOf(t, lognormal(rng, n, 20*time.Millisecond, 0.3, 0))}
	}
	var b Baseline
	for _, c := range []struct {
		name             string
		head, tail       Sample
		tailRequests     int64 // failures included
		want             []string
		wantInconclusive bool
	}{
		{"a decided comparison names none", steady("head", 3000), steady("tail", 3000), 3000, nil, false},
		{"a head under the minimum is named", steady("head", 20), steady("tail", 3000), 3000, []string{"head"}, true},
		{"a tail under the minimum by its length is named", steady("head", 3000), steady("tail", 20), 20, []string{"tail"}, true},
		{"both under the minimum are named", steady("head", 20), steady("tail", 20), 20, []string{"head", "tail"}, true},
		{"a tail without a successful answer is short of answers, not of time", steady("head", 3000), Sample{Name: "tail"}, 3000, nil, true},
		{"a tail under the minimum by its failures is short of answers", steady("head", 3000), steady("tail", 20), 40, nil, true},
		{"a head too short to tell the allowed shift is named", spread("head", 40), spread("tail", 4000), 4000, []string{"head"}, true},
		{"a tail too short to tell the allowed shift is named", spread("head", 4000), spread("tail", 40), 40, []string{"tail"}, true},
		{"a tail whose failures made the interval too wide is short of answers", spread("head", 4000), spread("tail", 40), 40000, nil, true},
	} {
		s := b.Latency(c.head, c.tail)
		if (s.Decision == Inconclusive) != c.wantInconclusive {
			t.Fatalf("%s: the comparison is %v (%s); the case needs another sample", c.name, s.Decision, s.Reason)
		}
		if got := b.Lengthen(s, c.tailRequests); !slices.Equal(got, c.want) {
			t.Errorf("%s: Lengthen = %q, want %q (%s)", c.name, got, c.want, s.Reason)
		}
	}
}
