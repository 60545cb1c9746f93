package stats

import (
	"time"
)

// Summary is the finished analysis of a run.
type Summary struct {
	Start   time.Time
	Elapsed time.Duration // from the start to the moment the load stopped

	Overall  *Aggregate
	Targets  []TargetSummary
	Phases   []PhaseSummary
	Modes    []ModeSummary    // keep-alive, then fresh connections
	Versions []VersionSummary // in the order they first answered
	Degraded []Degraded       // runs of seconds above the degraded error rate
	Codes    []CodeCount      // by code; 0 means no answer
	Errors   []ErrorCount     // most frequent first
	Seconds  []Second         // by send time, from the start
	Selected []*Selected      // one for each of Options.Selections, in order

	// Outage is the windows in which no endpoint got a successful answer
	// and every one of them was asked and failed: the whole API was down.
	// Each target's own windows are in Targets.
	Outage       Windows
	FirstFailure time.Duration // since the start; meaningful when Overall.Failures > 0
	LastFailure  time.Duration
}

// TargetSummary is the share of one target (an endpoint of the API).
type TargetSummary struct {
	Name string
	*Aggregate
	// Down is the windows in which no request to this target succeeded.
	Down Windows
	// Modes is the target's share of each connection mode, in the order
	// of ModeNames.
	Modes   [2]ModeShare
	elapsed time.Duration
}

// ModeNames are the connection modes, in the order of Summary.Modes and
// TargetSummary.Modes: requests on kept-alive connections, and requests
// each on a fresh one.
var ModeNames = [2]string{"keep-alive", "fresh"}

// ModeShare is one endpoint's requests on one connection mode.
type ModeShare struct {
	Requests, Failures, SilentRetries int64
	// Down is the windows in which none of the endpoint's requests on
	// this mode succeeded.
	Down Windows
}

// ErrorRate is the share of the requests that failed; 0 without requests.
func (m ModeShare) ErrorRate() float64 {
	if m.Requests == 0 {
		return 0
	}
	return float64(m.Failures) / float64(m.Requests)
}

// RequestCount is how many requests the target was sent.
func (t *TargetSummary) RequestCount() int64 { return t.Requests }

// RequestRate is the target's requests a second over the load.
func (t *TargetSummary) RequestRate() float64 { return rate(t.Requests, t.elapsed) }

// RequestCount is how many requests were sent.
func (s *Summary) RequestCount() int64 { return s.Overall.Requests }

// RequestRate is the requests a second over the load.
func (s *Summary) RequestRate() float64 { return rate(s.Overall.Requests, s.Elapsed) }

func rate(n int64, over time.Duration) float64 {
	if over <= 0 {
		return 0
	}
	return float64(n) / over.Seconds()
}

// Downtime returns the target's longest span without a success.
func (t *TargetSummary) Downtime() time.Duration { return t.Down.Longest }

// Target returns the share of the target called name, or nil.
func (s *Summary) Target(name string) *TargetSummary {
	for i := range s.Targets {
		if s.Targets[i].Name == name {
			return &s.Targets[i]
		}
	}
	return nil
}

// WorstTarget returns the target with the longest downtime (the first of
// them on a tie), or nil when no target has any.
func (s *Summary) WorstTarget() *TargetSummary {
	var worst *TargetSummary
	for i := range s.Targets {
		t := &s.Targets[i]
		if t.Down.Longest > 0 && (worst == nil || t.Down.Longest > worst.Down.Longest) {
			worst = t
		}
	}
	return worst
}

// PhaseSummary is the share of one phase of the timeline.
type PhaseSummary struct {
	Name       string
	Start, End time.Duration // since the start of the load
	*Aggregate
	// Downtime is the longest overlap with the phase of a window in which
	// one endpoint got no successful answer; Outage, of a window in which
	// none did.
	Downtime, Outage time.Duration
}

// ModeSummary is the share of one connection mode: requests on kept-alive
// connections, or each on a fresh connection.
type ModeSummary struct {
	Name string
	*Aggregate
	SilentRetries int64
	// Down is the windows in which one endpoint's requests on this mode
	// got no successful answer, every endpoint's together (see
	// TargetSummary.Modes): its Longest is the longest any endpoint went
	// without a success on such connections, as the endpoints' downtime is.
	Down Windows
}

// modeDowntime puts together the windows of mode (an index into ModeNames)
// of every target.
func modeDowntime(targets []TargetSummary, mode int) Windows {
	var out Windows
	var d downtime
	for _, t := range targets {
		w := t.Modes[mode].Down
		out.Count += w.Count
		out.Total += w.Total
		out.Longest = max(out.Longest, w.Longest)
		out.Open = out.Open || w.Open
		for _, win := range w.List {
			d.keep(win)
		}
	}
	out.List = d.summary().List
	return out
}

// VersionSummary is what one version of the server answered, as told by
// the version header. Times are send times since the start.
type VersionSummary struct {
	Name               string
	First, Last        time.Duration
	Requests, Failures int64
}

// CutOver returns the version that answered first (old) and the one that
// answered last (new). ok is false when only one version answered.
func (s *Summary) CutOver() (old, new VersionSummary, ok bool) {
	if len(s.Versions) < 2 {
		return VersionSummary{}, VersionSummary{}, false
	}
	old, new = s.Versions[0], s.Versions[0]
	for _, v := range s.Versions[1:] {
		if v.Last > new.Last {
			new = v
		}
	}
	return old, new, old.Name != new.Name
}

// Degraded is a run of whole seconds whose error rate was above the
// degraded level. Times are since the start.
type Degraded struct {
	Start, End         time.Duration
	Requests, Failures int64
	WorstRate          float64
}

func degradedWindows(seconds []Second, level float64) []Degraded {
	if level <= 0 {
		return nil
	}
	var out []Degraded
	var current *Degraded
	for i, sec := range seconds {
		rate := 0.0
		if sec.Requests > 0 {
			rate = float64(sec.Failures) / float64(sec.Requests)
		}
		if sec.Requests == 0 || rate <= level {
			current = nil
			continue
		}
		at := time.Duration(i) * time.Second
		if current == nil {
			out = append(out, Degraded{Start: at})
			current = &out[len(out)-1]
		}
		current.End = at + time.Second
		current.Requests += sec.Requests
		current.Failures += sec.Failures
		current.WorstRate = max(current.WorstRate, rate)
	}
	return out
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

// Quantile returns the overall latency quantile q, 0 <= q <= 1 (0 is the
// fastest request).
func (s *Summary) Quantile(q float64) time.Duration { return s.Overall.Quantile(q) }

// Mean returns the overall mean latency.
func (s *Summary) Mean() time.Duration { return s.Overall.Mean() }

// Max returns the slowest request's latency.
func (s *Summary) Max() time.Duration { return s.Overall.Max() }

// ErrorRate returns the overall fraction of failed requests.
func (s *Summary) ErrorRate() float64 { return s.Overall.ErrorRate() }

// Downtime returns the longest span in which one endpoint got no
// successful answer: the worst endpoint's, or the whole API's when the
// results were not told apart by target.
func (s *Summary) Downtime() time.Duration {
	if len(s.Targets) == 0 {
		return s.Outage.Longest
	}
	var longest time.Duration
	for _, t := range s.Targets {
		longest = max(longest, t.Down.Longest)
	}
	return longest
}
