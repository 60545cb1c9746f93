package stats

import (
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Selection is a part of the requests the recorder keeps figures of, for
// a threshold or a comparison limited to it: those sent to some targets
// (every target when Targets is nil) during one phase (the whole run when
// Phase is ""), their latency counting successful requests alone when
// Successful. PerSecond keeps the figures second by second too, for
// windows.
type Selection struct {
	Targets    []int
	Phase      string
	Successful bool
	PerSecond  bool
}

// Selected is what a Selection kept. Its latency histogram is sparse, so
// many selections cost little.
type Selected struct {
	Selection
	Requests, Failures int64
	latency            *hdrhistogram.PackedHistogram
	// Down is the longest span in which one of its targets got no
	// successful answer, within its phase.
	Down    time.Duration
	seconds []selectedSecond
	elapsed time.Duration // of its phase, or of the run
}

type selectedSecond struct {
	requests, failures int64
	latency            *hdrhistogram.PackedHistogram
}

func newPacked() *hdrhistogram.PackedHistogram {
	return hdrhistogram.NewPacked(1, histogramMax, histogramSigFigs)
}

// holds reports whether a request to target sent during phase is one of
// the selection's.
func (s *Selected) holds(target int, phase string) bool {
	if s.Phase != "" && s.Phase != phase {
		return false
	}
	return s.Targets == nil || slices.Contains(s.Targets, target)
}

func (s *Selected) add(o *outcome) {
	if s.latency == nil {
		s.latency = newPacked()
	}
	s.Requests++
	if !o.ok() {
		s.Failures++
	}
	counted := o.ok() || !s.Successful
	if counted {
		recordPacked(s.latency, o.latency)
	}
	if !s.PerSecond {
		return
	}
	i := max(0, int(o.sent/time.Second))
	for len(s.seconds) <= i {
		s.seconds = append(s.seconds, selectedSecond{})
	}
	sec := &s.seconds[i]
	sec.requests++
	if !o.ok() {
		sec.failures++
	}
	if counted {
		if sec.latency == nil {
			sec.latency = newPacked()
		}
		recordPacked(sec.latency, o.latency)
	}
}

func recordPacked(h *hdrhistogram.PackedHistogram, latency time.Duration) {
	us := (latency + time.Microsecond/2).Microseconds()
	_ = h.RecordValue(min(max(us, 1), histogramMax))
}

// ErrorRate is the fraction of its requests that failed.
func (s *Selected) ErrorRate() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Failures) / float64(s.Requests)
}

// Quantile returns the latency below which the fraction q of its
// (counted) requests completed.
func (s *Selected) Quantile(q float64) time.Duration {
	if s.latency == nil || s.latency.TotalCount() == 0 {
		return 0
	}
	return time.Duration(s.latency.ValueAtPercentile(q*100)) * time.Microsecond
}

// Mean returns the mean latency.
func (s *Selected) Mean() time.Duration {
	if s.latency == nil || s.latency.TotalCount() == 0 {
		return 0
	}
	return time.Duration(s.latency.Mean() * float64(time.Microsecond))
}

// Max returns the slowest request's latency.
func (s *Selected) Max() time.Duration {
	if s.latency == nil || s.latency.TotalCount() == 0 {
		return 0
	}
	return time.Duration(s.latency.Max()) * time.Microsecond
}

// Downtime returns the longest span one of its targets got no success.
func (s *Selected) Downtime() time.Duration { return s.Down }

// RequestCount is how many requests it holds.
func (s *Selected) RequestCount() int64 { return s.Requests }

// RequestRate is its requests a second over its phase, or the run.
func (s *Selected) RequestRate() float64 { return rate(s.Requests, s.elapsed) }

// Latency returns its latency histogram, in microseconds; nil when it
// holds nothing. The histogram must not be changed.
func (s *Selected) Latency() *hdrhistogram.PackedHistogram { return s.latency }

// SecondCount is how many seconds it kept (with PerSecond).
func (s *Selected) SecondCount() int { return len(s.seconds) }

// SecondLatency is the latency of second i, nil when none was counted.
func (s *Selected) SecondLatency(i int) *hdrhistogram.PackedHistogram { return s.seconds[i].latency }

// SecondRequests are second i's requests and failed requests.
func (s *Selected) SecondRequests(i int) (requests, failures int64) {
	return s.seconds[i].requests, s.seconds[i].failures
}

// LatencyBetween merges the latency of the seconds from first up to (not
// including) last into a histogram, for comparing parts of a phase; nil
// when they hold nothing.
func (s *Selected) LatencyBetween(first, last int) (*hdrhistogram.Histogram, int64, int64) {
	var merged *hdrhistogram.Histogram
	var requests, failures int64
	for i := max(0, first); i < min(last, len(s.seconds)); i++ {
		sec := s.seconds[i]
		requests, failures = requests+sec.requests, failures+sec.failures
		if sec.latency == nil {
			continue
		}
		if merged == nil {
			merged = newHistogram()
		}
		sec.latency.MergeInto(merged)
	}
	return merged, requests, failures
}

// noteWindow counts a target's window without a success toward the
// selections that hold the target, within their phase.
func (r *Recorder) noteSelectedWindow(target int, w Window) {
	for _, s := range r.selected {
		if s.Targets != nil && !slices.Contains(s.Targets, target) {
			continue
		}
		from, to := time.Duration(0), time.Duration(1<<63-1)
		if s.Phase != "" {
			i := r.phases.index(s.Phase)
			if i < 0 {
				continue
			}
			from, to = r.phases[i].start, r.phases.end(i)
		}
		s.Down = max(s.Down, min(w.End, to)-max(w.Start, from))
	}
}
