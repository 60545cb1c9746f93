package verdict

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Names are what a threshold may limit itself to.
type Names struct {
	Targets []string // the targets, by name
	Groups  []string // the groups targets were put in (# @group)
	// Phases are the phases of the run, in order: head, deploy and tail
	// when a deploy is dispatched, none otherwise.
	Phases []string
	// Any takes any target or group as named, for thresholds read before
	// the targets are known (a merge of shards' reports): the caller
	// checks them later.
	Any bool
}

// MaxWindow bounds the window of a threshold: longer is the whole run.
const MaxWindow = time.Hour

// apply limits t to the scope: k6's tags {target:NAME}, {group:NAME},
// {phase:NAME} and {expected_response:true}, and a window [10s].
func (sc scope) apply(t *Threshold, names Names) error {
	for _, tg := range sc.tags {
		written := "{" + tg.key + ":" + tg.value + "}"
		switch tg.key {
		case "target":
			if t.Target != "" && t.Target != tg.value {
				return fmt.Errorf("scope %q is on target %q's line; name one target", written, t.Target)
			}
			if !names.Any && !slices.Contains(names.Targets, tg.value) {
				return fmt.Errorf("scope %q: no target is named %q; the targets are %s", written, tg.value, quoteAll(names.Targets))
			}
			t.Target = tg.value
		case "group":
			if !names.Any && !slices.Contains(names.Groups, tg.value) {
				return fmt.Errorf("scope %q: no target is in a group named %q; put targets in one with a \"# @group %s\" line before them (the groups are %s)", written, tg.value, tg.value, quoteAll(names.Groups))
			}
			t.Group = tg.value
		case "phase":
			if len(names.Phases) == 0 {
				return fmt.Errorf("scope %q: a run without a deploy has no phases; set workflow or event-type to dispatch one, or drop the scope", written)
			}
			if !slices.Contains(names.Phases, tg.value) {
				return fmt.Errorf("scope %q: no phase is named %q; the phases are %s", written, tg.value, quoteAll(names.Phases))
			}
			t.Phase = tg.value
		case "expected_response":
			switch tg.value {
			case "true":
				t.Successful = true
			case "false":
				return fmt.Errorf("scope %q: the latency of failed requests alone is not kept; limit failures with http_req_failed: rate<0.01", written)
			default:
				return fmt.Errorf("scope %q: want {expected_response:true}, the latency of successful requests", written)
			}
		case "name", "url":
			return fmt.Errorf("scope %q: this check tags requests by target; write {target:NAME} with a target's name, or start the line with the name", written)
		default:
			return fmt.Errorf("scope %q: requests carry no %q tag here; a threshold may take {target:NAME}, {group:NAME}, {phase:head|deploy|tail} and {expected_response:true}", written, tg.key)
		}
	}
	if t.Target != "" && t.Group != "" {
		return fmt.Errorf("scope {group:%s} with target %q: limit a target or a group, not both", t.Group, t.Target)
	}
	if t.Successful && !latencyMetric(t.Metric) {
		return fmt.Errorf("scope {expected_response:true} limits latency; %s is not one", t.Name())
	}
	if !sc.hasWindow {
		return nil
	}
	return sc.applyWindow(t)
}

// applyWindow reads the window of a threshold: whole seconds, on a metric
// a window can judge.
func (sc scope) applyWindow(t *Threshold) error {
	written := "[" + sc.window + "]"
	d, err := time.ParseDuration(sc.window)
	if err != nil {
		if n, numErr := strconv.Atoi(sc.window); numErr == nil && n > 0 {
			d = time.Duration(n) * time.Second
		} else {
			return fmt.Errorf("window %q is not a duration; want whole seconds such as [10s] or [1m]", written)
		}
	}
	switch {
	case d < time.Second || d%time.Second != 0:
		return fmt.Errorf("window %q: want whole seconds, 1s or more, such as [10s]", written)
	case d > MaxWindow:
		return fmt.Errorf("window %q is longer than %s; drop the window to limit the whole run", written, MaxWindow)
	case t.Metric == Downtime:
		return fmt.Errorf("window %q: downtime is already the longest window without a success; drop the window", written)
	case t.Metric != Quantile && t.Metric != Median && t.Metric != Max && t.Metric != ErrorRate:
		return fmt.Errorf("window %q: a window judges p(N), med, max or error_rate, not %s", written, t.Name())
	}
	t.Window = d
	return nil
}

func latencyMetric(m Metric) bool {
	switch m {
	case Quantile, Median, Min, Mean, Max:
		return true
	}
	return false
}

// scopeText writes a threshold's scope and window as the input reads them:
// {phase:deploy,group:browse}[10s]. The target is written as the line's
// prefix instead.
func (t Threshold) scopeText() string {
	var tags []string
	if t.Group != "" {
		tags = append(tags, "group:"+t.Group)
	}
	if t.Phase != "" {
		tags = append(tags, "phase:"+t.Phase)
	}
	if t.Successful {
		tags = append(tags, "expected_response:true")
	}
	var b strings.Builder
	if len(tags) > 0 {
		b.WriteString("{" + strings.Join(tags, ",") + "}")
	}
	if t.Window > 0 {
		b.WriteString("[" + strconv.FormatInt(int64(t.Window/time.Second), 10) + "s]")
	}
	return b.String()
}

// Seconds is an Observed that kept its figures second by second, so that
// a threshold over a window is judged on its worst window. Second i covers
// the i-th second of the load.
type Seconds interface {
	Observed
	SecondCount() int
	// SecondLatency is the latency of second i's requests (nil when none
	// was sent in it), in microseconds.
	SecondLatency(i int) *hdrhistogram.PackedHistogram
	// SecondRequests are second i's requests and failed requests.
	SecondRequests(i int) (requests, failures int64)
}

// Phased is a Seconds of one phase of the load: its seconds are indexed
// from the start of the load, as every Seconds', and the phase covers the
// seconds from first up to (not including) end, the first and the last
// of them in part. A window of a phase lies within it: none holds seconds
// from before the phase began, empty of its requests, to pass as a full
// window.
type Phased interface {
	Seconds
	PhaseSeconds() (first, end int)
}

// span is the seconds a threshold's windows lie within: a phase's, or
// the whole run's.
func span(s Seconds) (first, end int) {
	n := s.SecondCount()
	p, ok := s.(Phased)
	if !ok {
		return 0, n
	}
	first, end = p.PhaseSeconds()
	first = max(0, first)
	return first, max(first, end)
}

// worstWindow judges the threshold's metric over every window of its
// length within the run, or within its phase, and returns the worst value,
// when that window began and how long it was: the window, or less when the
// run (or the phase) was shorter and was judged as one window, all of it.
// An Observed that did not keep its seconds is not measured.
func (t Threshold) worstWindow(o Observed) (worst float64, start, length time.Duration) {
	s, ok := o.(Seconds)
	if !ok {
		return math.NaN(), 0, 0
	}
	first, end := span(s)
	window := int(t.Window / time.Second)
	length = time.Duration(min(window, end-first)) * time.Second
	if t.Metric == ErrorRate {
		worst, start = worstErrorRate(s, window, first, end)
		return worst, start, length
	}
	q := 1.0
	switch t.Metric {
	case Quantile:
		q = t.Percentile / 100
	case Median:
		q = 0.5
	}
	if q <= 0 {
		return math.NaN(), 0, 0
	}
	w, err := NewWindowedQuantile(window, q)
	if err != nil {
		return math.NaN(), 0, 0
	}
	for i := first; i < end; i++ {
		var second *hdrhistogram.PackedHistogram
		if i < s.SecondCount() {
			second = s.SecondLatency(i)
		}
		if err := w.AddPacked(second); err != nil {
			return math.NaN(), 0, 0
		}
	}
	worstLatency, at := w.Worst()
	if at < 0 {
		return math.NaN(), 0, 0
	}
	return worstLatency.Seconds(), time.Duration(first+at) * time.Second, length
}

// worstErrorRate returns the highest error rate of any window of window
// seconds from second first up to end that saw requests, and when it
// began; a span shorter than the window is one window.
func worstErrorRate(s Seconds, window, first, end int) (float64, time.Duration) {
	requestsOf := func(i int) (int64, int64) {
		if i < s.SecondCount() {
			return s.SecondRequests(i)
		}
		return 0, 0
	}
	var requests, failures int64
	worst, start := math.NaN(), time.Duration(0)
	for i := first; i < end; i++ {
		r, f := requestsOf(i)
		requests, failures = requests+r, failures+f
		if i-window >= first {
			r, f := requestsOf(i - window)
			requests, failures = requests-r, failures-f
		}
		if (i-first >= window-1 || i == end-1) && requests > 0 {
			if rate := float64(failures) / float64(requests); math.IsNaN(worst) || rate > worst {
				worst, start = rate, time.Duration(max(first, i-window+1))*time.Second
			}
		}
	}
	return worst, start
}
