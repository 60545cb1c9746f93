// Command falsealarm measures how often the before/after verdict
// (internal/verdict's Baseline, with its defaults unless told otherwise)
// calls a regression on a version that did not change, and how often it
// catches one that did. It draws many pairs of head and tail windows of
// log-normal latencies, the shape of an API's (median 20 ms, sigma 0.3 by
// default), at a constant rate (50/s over a 60 s head and a 120 s tail),
// records them in HDR histograms as the recorder does (whole microseconds,
// 1 µs to an hour, three significant figures) and prints, per scenario,
// the share of runs judged a regression, a pass or inconclusive, with the
// share in which the U test alone was significant.
//
// It exits 1 when the defaults miss the targets: fewer than 5% false
// alarms on the same version (a graceful reload must pass in at least 19
// of 20 runs) and every 40 ms slowdown caught.
//
//	go run ./bench/cmd/falsealarm -runs 1000
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

type config struct {
	runs          int
	seed          uint64
	median        time.Duration
	sigma         float64
	rate          float64
	head, tail    time.Duration
	maxRegression float64
	floor         time.Duration
	confidence    float64
	errorRate     float64
}

// scenario changes the tail (the new version) from the head's
// distribution.
type scenario struct {
	name string
	// latency draws one tail latency from the head's draw.
	latency func(rng *rand.Rand, drawn time.Duration) time.Duration
	// headSeconds overrides the head's length; 0 keeps the configured one.
	headSeconds float64
	// tailErrorRate overrides the tail's error rate; negative keeps the head's.
	tailErrorRate float64
	// noErrors has neither window fail a request.
	noErrors bool
	// want is the decision a right verdict gives.
	want verdict.Decision
}

func main() {
	var c config
	flag.IntVar(&c.runs, "runs", 1000, "pairs of windows per scenario")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed; the same seed gives the same figures")
	flag.DurationVar(&c.median, "median", 20*time.Millisecond, "median latency of the same version")
	flag.Float64Var(&c.sigma, "sigma", 0.3, "log-scale spread of latencies")
	flag.Float64Var(&c.rate, "rate", 50, "requests per second")
	flag.DurationVar(&c.head, "head", 60*time.Second, "head window (the baseline)")
	flag.DurationVar(&c.tail, "tail", 120*time.Second, "tail window (the candidate)")
	flag.Float64Var(&c.maxRegression, "max-regression", verdict.DefaultMaxRegression, "allowed shift as a share of the head's median")
	flag.DurationVar(&c.floor, "regression-floor", verdict.DefaultRegressionFloor, "smallest shift that counts as a regression")
	flag.Float64Var(&c.confidence, "confidence", verdict.DefaultConfidence, "confidence of the test")
	flag.Float64Var(&c.errorRate, "error-rate", 0.005, "share of failed requests on both versions, for the error-rate scenarios")
	flag.Parse()

	ok, err := run(c)
	if err != nil {
		fmt.Fprintf(os.Stderr, "falsealarm: %s\n", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(c config) (bool, error) {
	if c.runs < 1 {
		return false, fmt.Errorf("-runs %d is too few; want 1 or more", c.runs)
	}
	judge, err := verdict.NewBaseline(
		verdict.WithMaxRegression(c.maxRegression),
		verdict.WithRegressionFloor(c.floor),
		verdict.WithConfidence(c.confidence))
	if err != nil {
		return false, err
	}
	same := func(_ *rand.Rand, d time.Duration) time.Duration { return d }
	shift := func(by time.Duration) func(*rand.Rand, time.Duration) time.Duration {
		return func(_ *rand.Rand, d time.Duration) time.Duration { return d + by }
	}
	scenarios := []scenario{
		{name: "same version", latency: same, tailErrorRate: -1, want: verdict.Pass},
		{name: "same version, no failed requests", latency: same, noErrors: true, want: verdict.Pass},
		{name: "graceful reload: 1% of the tail +200ms", latency: func(rng *rand.Rand, d time.Duration) time.Duration {
			if rng.Float64() < 0.01 {
				return d + 200*time.Millisecond
			}
			return d
		}, noErrors: true, want: verdict.Pass},
		{name: "+2ms (10% of the median)", latency: shift(2 * time.Millisecond), tailErrorRate: -1, want: verdict.Pass},
		{name: "+10ms (50% of the median)", latency: shift(10 * time.Millisecond), tailErrorRate: -1, want: verdict.Regression},
		{name: "+40ms", latency: shift(40 * time.Millisecond), tailErrorRate: -1, want: verdict.Regression},
		{name: "same version, 5s head", latency: same, headSeconds: 5, tailErrorRate: -1, want: verdict.Pass},
		{name: "error rate x4", latency: same, tailErrorRate: 4 * c.errorRate, want: verdict.Regression},
	}

	fmt.Printf("%d runs per scenario, seed %d; latencies log-normal, median %s, sigma %g; %g/s over a %s head and a %s tail; error rate %s\n",
		c.runs, c.seed, c.median, c.sigma, c.rate, c.head, c.tail, verdict.FormatPercent(c.errorRate))
	fmt.Printf("max-regression %s, regression-floor %s, confidence %s\n\n",
		verdict.FormatPercent(c.maxRegression), c.floor, verdict.FormatPercent(c.confidence))
	fmt.Println("| scenario | want | latency: regression | pass | inconclusive | U test significant | median shift | median CI half-width | errors: regression | check failed | verdict right |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")

	ok := true
	var noiseFloors []time.Duration
	drifts := 0
	for i, sc := range scenarios {
		var counts [3]int
		var significant, errorRegressions, failedRuns, right int
		var shifts, halfWidths []time.Duration
		for r := range c.runs {
			rng := rand.New(rand.NewPCG(c.seed, uint64(i)<<32|uint64(r)))
			w := draw(rng, c, sc)
			lat := judge.Latency(w.head, w.tail)
			errs := judge.Errors(w.head, w.tail)
			counts[lat.Decision]++
			if lat.Significant {
				significant++
			}
			if errs.Decision == verdict.Regression {
				errorRegressions++
			}
			// The check fails on either regression; it passes on neither.
			failed := lat.Decision == verdict.Regression || errs.Decision == verdict.Regression
			if failed {
				failedRuns++
			}
			if failed == (sc.want == verdict.Regression) && lat.Decision != verdict.Inconclusive {
				right++
			}
			if lat.Decision != verdict.Inconclusive {
				shifts = append(shifts, lat.Shift)
				halfWidths = append(halfWidths, (lat.High-lat.Low)/2)
			}
			if i == 0 {
				cal := judge.Calibrate(w.firstHalf, w.secondHalf)
				noiseFloors = append(noiseFloors, cal.NoiseFloor)
				if cal.Drift {
					drifts++
				}
			}
		}
		share := func(n int) string { return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(c.runs)) }
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			sc.name, sc.want, share(counts[verdict.Regression]), share(counts[verdict.Pass]), share(counts[verdict.Inconclusive]),
			share(significant), medianOf(shifts), medianOf(halfWidths), share(errorRegressions), share(failedRuns), share(right))

		switch {
		case sc.want == verdict.Pass:
			if float64(failedRuns) >= 0.05*float64(c.runs) {
				fmt.Fprintf(os.Stderr, "falsealarm: %q failed %d of %d runs, 5%% or more\n", sc.name, failedRuns, c.runs)
				ok = false
			}
		case sc.name == "+40ms":
			if counts[verdict.Regression] != c.runs {
				fmt.Fprintf(os.Stderr, "falsealarm: %d of %d runs 40ms slower were caught\n", counts[verdict.Regression], c.runs)
				ok = false
			}
		}
	}
	fmt.Printf("\nA/A calibration of the same version's head (two halves of %s): median noise floor %s, 95th percentile %s; drift reported in %.1f%% of runs\n",
		c.head/2, medianOf(noiseFloors), quantileOf(noiseFloors, 0.95), 100*float64(drifts)/float64(c.runs))
	return ok, nil
}

// windows are one run's samples.
type windows struct {
	head, tail            verdict.Sample
	firstHalf, secondHalf verdict.Sample
}

func draw(rng *rand.Rand, c config, sc scenario) windows {
	headSeconds := c.head.Seconds()
	if sc.headSeconds > 0 {
		headSeconds = sc.headSeconds
	}
	headN := int(math.Round(c.rate * headSeconds))
	tailN := int(math.Round(c.rate * c.tail.Seconds()))
	headErrorRate, tailErrorRate := c.errorRate, c.errorRate
	if sc.tailErrorRate >= 0 {
		tailErrorRate = sc.tailErrorRate
	}
	if sc.noErrors {
		headErrorRate, tailErrorRate = 0, 0
	}

	mu := math.Log(float64(c.median))
	latency := func() time.Duration { return time.Duration(math.Exp(mu + c.sigma*rng.NormFloat64())) }

	w := windows{
		head:       verdict.Sample{Name: "head", Latency: newHistogram()},
		tail:       verdict.Sample{Name: "tail", Latency: newHistogram()},
		firstHalf:  verdict.Sample{Name: "head's first half", Latency: newHistogram()},
		secondHalf: verdict.Sample{Name: "head's second half", Latency: newHistogram()},
	}
	for i := range headN {
		d := latency()
		half := &w.firstHalf
		if i >= headN/2 {
			half = &w.secondHalf
		}
		record(&w.head, d, rng.Float64() < headErrorRate)
		record(half, d, false)
	}
	for range tailN {
		record(&w.tail, sc.latency(rng, latency()), rng.Float64() < tailErrorRate)
	}
	return w
}

func newHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, 3_600_000_000, 3) }

// record counts a request as the recorder does: its latency rounded to the
// microsecond.
func record(s *verdict.Sample, latency time.Duration, failed bool) {
	us := (latency + time.Microsecond/2).Microseconds()
	_ = s.Latency.RecordValue(min(max(us, 1), 3_600_000_000))
	s.Requests++
	if failed {
		s.Failures++
	}
}

func medianOf(ds []time.Duration) string { return quantileOf(ds, 0.5) }

func quantileOf(ds []time.Duration, q float64) string {
	if len(ds) == 0 {
		return "-"
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return verdict.FormatSeconds(sorted[int(q*float64(len(sorted)-1))].Seconds())
}
