package stats

import (
	"time"
)

// Summary is the finished analysis of a run.
type Summary struct {
	Start   time.Time
	Elapsed time.Duration // from the start to the moment the load stopped

	Overall *Aggregate
	Targets []TargetSummary
	Phases  []PhaseSummary
	Codes   []CodeCount  // by code; 0 means no answer
	Errors  []ErrorCount // most frequent first
	Seconds []Second     // by send time, from the start

	// Windows with no successful request, in time order (the longest
	// MaxWindows of them); the other fields cover every window.
	Windows         []Window
	WindowCount     int64
	Disrupted       time.Duration // all windows together
	LongestDowntime time.Duration // the longest window
	FirstFailure    time.Duration // since the start; meaningful when Overall.Failures > 0
	LastFailure     time.Duration
}

// TargetSummary is the share of one target.
type TargetSummary struct {
	Name string
	*Aggregate
}

// PhaseSummary is the share of one phase of the timeline.
type PhaseSummary struct {
	Name       string
	Start, End time.Duration // since the start of the load
	*Aggregate
	Downtime time.Duration // the longest window's overlap with the phase
}

// CodeCount is how often a status code was answered.
type CodeCount struct {
	Code  uint16
	Count int64
}

// ErrorCount is how often a failure class occurred, with one sample message.
type ErrorCount struct {
	Class  Class
	Count  int64
	Sample string
}

// The methods below let a summary be judged (verdict.Observed) on the
// whole run.

// Quantile returns the overall latency quantile q, 0 < q <= 1.
func (s *Summary) Quantile(q float64) time.Duration { return s.Overall.Quantile(q) }

// Mean returns the overall mean latency.
func (s *Summary) Mean() time.Duration { return s.Overall.Mean() }

// Max returns the slowest request's latency.
func (s *Summary) Max() time.Duration { return s.Overall.Max() }

// ErrorRate returns the overall fraction of failed requests.
func (s *Summary) ErrorRate() float64 { return s.Overall.ErrorRate() }

// Downtime returns the longest window without a successful request.
func (s *Summary) Downtime() time.Duration { return s.LongestDowntime }
