package stats

import (
	"cmp"
	"container/heap"
	"slices"
	"time"
)

// MaxWindows bounds how many windows a summary lists per stream (the whole
// API, each endpoint). Counts and totals cover every window; the list keeps
// the longest. A shard keeps up to MaxKeptWindows, so that the merge of
// the shards finds where all of them were down.
const (
	MaxWindows     = 100
	MaxKeptWindows = 10_000
)

// Window is a span in which a stream of requests (one endpoint's, or all of
// them) got no successful answer: from the send time of the first failure
// of a streak to the send time of the stream's next success (or the end of
// the load, if none came). Times are since the start of the load.
type Window struct {
	Start, End time.Duration
	// After is the send time of the stream's last success before the
	// window (0 when none came before): a shard's windows are merged on
	// the gaps between successes, which is where no shard got an answer.
	After    time.Duration
	Failures int64
	Classes  []Class  // failure classes seen, most frequent first
	Codes    []uint16 // status codes seen, 0 for no answer
	Open     bool     // no success came before the load stopped: never recovered
}

// Duration is how long the window lasted.
func (w Window) Duration() time.Duration { return w.End - w.Start }

// Windows sums up the windows of one stream of requests.
type Windows struct {
	List    []Window // the longest MaxWindows, in time order
	Count   int64    // every window
	Total   time.Duration
	Longest time.Duration
	// Open is true when the stream was still failing when the load
	// stopped: it never recovered.
	Open bool
}

// LongestWindow returns the longest listed window; ok is false when there
// is none.
func (w Windows) LongestWindow() (longest Window, ok bool) {
	for _, win := range w.List {
		if !ok || win.Duration() > longest.Duration() {
			longest, ok = win, true
		}
	}
	return longest, ok
}

// downtime tracks failure streaks of one stream in send order.
type downtime struct {
	// every, when above zero, is how many targets a streak must have
	// failed to count: the whole API is down only when each of its
	// endpoints was asked and failed, not when one failure happened to
	// be followed by another endpoint's success a request later.
	every        int
	failed       map[int]bool // targets failed in the current streak
	limit        int          // windows kept; 0 is MaxWindows
	inStreak     bool
	current      Window
	classCounts  [numClasses]int64
	codes        map[uint16]bool
	kept         windowHeap
	count        int64
	total        time.Duration
	longest      time.Duration
	failures     int64
	firstFailure time.Duration
	lastFailure  time.Duration
	lastSent     time.Duration
	lastSuccess  time.Duration
	open         bool // closed by the end of the load, not by a success
}

// add counts o and returns the window it closed, if any: a window that
// did not fail every target it must is not one.
func (d *downtime) add(o outcome) (Window, bool) {
	d.lastSent = max(d.lastSent, o.sent)
	if o.ok() {
		defer func() { d.lastSuccess = o.sent }()
		if !d.inStreak {
			return Window{}, false
		}
		return d.finish(o.sent, false)
	}
	if d.failures == 0 {
		d.firstFailure = o.sent
	}
	d.failures++
	d.lastFailure = o.sent
	if !d.inStreak {
		d.inStreak = true
		d.current = Window{Start: o.sent, After: d.lastSuccess}
		d.classCounts = [numClasses]int64{}
		d.codes = make(map[uint16]bool)
		if d.every > 0 {
			d.failed = make(map[int]bool, d.every)
		}
	}
	if d.every > 0 {
		d.failed[o.target] = true
	}
	d.current.Failures++
	d.classCounts[o.class]++
	d.codes[o.code] = true
	return Window{}, false
}

// close ends an open streak at end, returning it.
func (d *downtime) close(end time.Duration) (Window, bool) {
	if !d.inStreak {
		return Window{}, false
	}
	w, counted := d.finish(max(end, d.lastSent), true)
	d.open = counted
	return w, counted
}

func (d *downtime) finish(end time.Duration, open bool) (Window, bool) {
	d.inStreak = false
	if d.every > 0 && len(d.failed) < d.every {
		return Window{}, false
	}
	w := d.current
	w.End, w.Open = end, open
	for c := range numClasses {
		if d.classCounts[c] > 0 {
			w.Classes = append(w.Classes, c)
		}
	}
	slices.SortStableFunc(w.Classes, func(a, b Class) int { return cmp.Compare(d.classCounts[b], d.classCounts[a]) })
	for code := range d.codes {
		w.Codes = append(w.Codes, code)
	}
	slices.Sort(w.Codes)
	d.keep(w)
	return w, true
}

// keep counts a finished window and keeps it among the longest.
func (d *downtime) keep(w Window) {
	d.count++
	d.total += w.Duration()
	d.longest = max(d.longest, w.Duration())
	heap.Push(&d.kept, w)
	if limit := cmp.Or(d.limit, MaxWindows); d.kept.Len() > limit {
		heap.Pop(&d.kept)
	}
}

func (d *downtime) summary() Windows {
	list := slices.Clone([]Window(d.kept))
	slices.SortFunc(list, func(a, b Window) int { return cmp.Compare(a.Start, b.Start) })
	return Windows{List: list, Count: d.count, Total: d.total, Longest: d.longest, Open: d.open}
}

// windowHeap is a min-heap by duration, so the shortest is dropped first.
type windowHeap []Window

func (h windowHeap) Len() int           { return len(h) }
func (h windowHeap) Less(i, j int) bool { return h[i].Duration() < h[j].Duration() }
func (h windowHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *windowHeap) Push(x any)        { *h = append(*h, x.(Window)) }
func (h *windowHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	return w
}
