package stats

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histograms count microseconds from 1 µs to an hour with three
// significant figures: quantiles are exact to 0.1% whatever the run length,
// in constant memory.
const (
	histogramMax     = int64(time.Hour / time.Microsecond)
	histogramSigFigs = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, histogramMax, histogramSigFigs)
}

func recordLatency(h *hdrhistogram.Histogram, latency time.Duration) {
	us := (latency + time.Microsecond/2).Microseconds()
	_ = h.RecordValue(min(max(us, 1), histogramMax))
}

// Aggregate is the streaming summary of a set of requests: counts and a
// latency histogram. The zero value is not usable; aggregates come from a
// Recorder.
type Aggregate struct {
	Requests int64
	Failures int64
	hist     *hdrhistogram.Histogram
	// succeeded, when kept, is the latency of the successful requests
	// alone (k6's expected_response:true): a table of an outage would
	// otherwise show a refused request's microseconds as a speed-up. It is
	// sparse, so keeping it costs little.
	succeeded *hdrhistogram.PackedHistogram
}

func newAggregate() *Aggregate {
	return &Aggregate{hist: newHistogram()}
}

// newAggregateOfSuccesses is an aggregate that keeps the latency of its
// successful requests apart too: a target's, a phase's.
func newAggregateOfSuccesses() *Aggregate {
	a := newAggregate()
	a.succeeded = newPacked()
	return a
}

func (a *Aggregate) add(latency time.Duration, ok bool) {
	a.Requests++
	if !ok {
		a.Failures++
	}
	recordLatency(a.hist, latency)
	if ok && a.succeeded != nil {
		recordPacked(a.succeeded, latency)
	}
}

// Successes is the number of requests that succeeded.
func (a *Aggregate) Successes() int64 { return a.Requests - a.Failures }

// ErrorRate is the fraction of requests that failed, 0 when none were sent.
func (a *Aggregate) ErrorRate() float64 {
	if a.Requests == 0 {
		return 0
	}
	return float64(a.Failures) / float64(a.Requests)
}

// Quantile returns the latency below which the fraction q (0 <= q <= 1)
// of all requests, failed ones included, completed; 0 is the fastest.
func (a *Aggregate) Quantile(q float64) time.Duration {
	if a.Requests == 0 {
		return 0
	}
	return time.Duration(a.hist.ValueAtQuantile(q*100)) * time.Microsecond
}

// Mean returns the mean latency.
func (a *Aggregate) Mean() time.Duration {
	if a.Requests == 0 {
		return 0
	}
	return time.Duration(a.hist.Mean() * float64(time.Microsecond))
}

// Max returns the slowest request's latency.
func (a *Aggregate) Max() time.Duration {
	return time.Duration(a.hist.Max()) * time.Microsecond
}

// Latency returns the usual quantiles.
func (a *Aggregate) Latency() Latency {
	if a.Requests == 0 {
		return Latency{}
	}
	return Latency{
		P50:  a.Quantile(0.50),
		P90:  a.Quantile(0.90),
		P95:  a.Quantile(0.95),
		P99:  a.Quantile(0.99),
		Max:  a.Max(),
		Mean: a.Mean(),
	}
}

// SucceededLatency returns the usual quantiles of the successful requests
// alone; zero when none succeeded, or when the aggregate does not keep
// them apart (only targets and phases do).
func (a *Aggregate) SucceededLatency() Latency {
	h := a.succeeded
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	at := func(q float64) time.Duration { return time.Duration(h.ValueAtPercentile(q)) * time.Microsecond }
	return Latency{
		P50:  at(50),
		P90:  at(90),
		P95:  at(95),
		P99:  at(99),
		Max:  time.Duration(h.Max()) * time.Microsecond,
		Mean: time.Duration(h.Mean() * float64(time.Microsecond)),
	}
}

// Latency holds the quantiles a summary shows.
type Latency struct {
	P50, P90, P95, P99, Max, Mean time.Duration
}
