package stats

import (
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// timeline keeps one bucket per second of send time. Requests come in send
// order, so only the current second needs a live histogram.
type timeline struct {
	seconds []Second
	hist    *hdrhistogram.Histogram
	keep    bool // keep each second's latency, for a merge
}

// Second is one second of the run, by send time.
type Second struct {
	Requests      int64
	Failures      int64
	ByClass       [numClasses]int64
	SilentRetries int64
	Versions      uint32 // bit i set: Summary.Versions[i] answered in this second
	// P50 and P99 are the latency of the second's successful requests
	// (k6's expected_response:true): a refused request fails in
	// microseconds, and counting it would show an outage as a speed-up.
	// Both are zero in a second without a success.
	P50, P99  time.Duration
	latencies bool
	latency   *hdrhistogram.PackedHistogram // kept for a merge
}

func (t *timeline) add(o outcome) {
	i := int(o.sent / time.Second)
	if i < 0 {
		i = 0
	}
	for len(t.seconds) <= i {
		t.finishSecond()
		t.seconds = append(t.seconds, Second{})
	}
	s := &t.seconds[i]
	s.Requests++
	if !o.ok() {
		s.Failures++
		s.ByClass[o.class]++
	}
	if o.retried {
		s.SilentRetries++
	}
	if o.version >= 0 {
		s.Versions |= 1 << uint(o.version)
	}
	if o.ok() && i == len(t.seconds)-1 {
		recordLatency(t.hist, o.latency)
		s.latencies = true
	}
}

func (t *timeline) finishSecond() {
	if n := len(t.seconds); n > 0 && t.seconds[n-1].latencies {
		last := &t.seconds[n-1]
		last.P50 = time.Duration(t.hist.ValueAtQuantile(50)) * time.Microsecond
		last.P99 = time.Duration(t.hist.ValueAtQuantile(99)) * time.Microsecond
		if t.keep {
			last.latency = newPacked()
			last.latency.MergeFrom(t.hist)
		}
	}
	t.hist.Reset()
}

func (t *timeline) close() { t.finishSecond() }
