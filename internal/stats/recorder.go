// Package stats turns the stream of load results into the figures a deploy
// is judged by: latency quantiles from HDR histograms (overall, per target,
// per phase), status codes, failure classes, a per-second timeline and the
// windows in which no request succeeded. Memory is bounded whatever the run
// length: nothing is kept per request once it has been counted.
package stats

import (
	"cmp"
	"container/heap"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// MaxWindows bounds how many disruption windows a summary lists. Counts and
// totals cover every window; the list keeps the longest.
const MaxWindows = 100

// Recorder accumulates results. Add them with Record, as they arrive and in
// any order; finish with Close. Record and StartPhase may be called from
// different goroutines.
type Recorder struct {
	mu     sync.Mutex
	start  time.Time
	closed bool

	overall *Aggregate
	targets []*Aggregate
	names   []string
	phases  []*phase
	codes   map[uint16]int64
	errors  [numClasses]errorCount

	// Results arrive in completion order; the timeline and the downtime
	// windows need send order. vegeta numbers requests in send order, so a
	// heap keyed by that number restores it, holding at most the requests
	// that were in flight together.
	pending outcomes
	nextSeq uint64

	timeline timeline
	downtime downtime
	modes    [2]mode    // by Hit.Fresh: keep-alive, fresh
	byTarget []downtime // by target index

	opts     Options
	versions []versionCount
}

// Options tune a Recorder. The zero value works.
type Options struct {
	// VersionHeader names a response header that carries the version of
	// the server that answered, such as X-Version.
	VersionHeader string
	// VersionField names a field of a JSON answer that carries the version,
	// as a dotted path such as build.version; it is read when the header
	// is absent.
	VersionField string
	// DegradedErrorRate is the error rate above which a second counts as
	// degraded, from 0 to 1; 0 turns degraded seconds off.
	DegradedErrorRate float64
}

// Hit says what the load generator knows of a result beyond vegeta's
// fields.
type Hit struct {
	Target        int  // index into the target names, -1 if unknown
	Fresh         bool // sent on a fresh connection rather than a kept-alive one
	SilentRetried bool // net/http sent it again after a reused connection failed
}

// mode is the share of one connection mode.
type mode struct {
	aggregate *Aggregate
	downtime  downtime
	retries   int64
}

// maxVersions bounds the versions told apart; later ones count as "other".
const maxVersions = 32

type versionCount struct {
	name               string
	first, last        time.Duration
	requests, failures int64
}

type errorCount struct {
	count  int64
	sample string
}

type phase struct {
	name      string
	start     time.Duration
	aggregate *Aggregate
	downtime  time.Duration
}

// outcome is what the send-ordered analyses need of one request.
type outcome struct {
	seq     uint64
	sent    time.Duration // since the recorder's start
	latency time.Duration
	code    uint16
	class   Class
	fresh   bool
	retried bool
	version int8 // index into versions, -1 for none
	target  int  // -1 when unknown
}

// NewRecorder returns a recorder whose timeline starts at start, with one
// aggregate per target name.
func NewRecorder(start time.Time, targetNames []string, opts Options) *Recorder {
	r := &Recorder{
		start:   start,
		overall: newAggregate(),
		names:   slices.Clone(targetNames),
		codes:   make(map[uint16]int64),
		opts:    opts,
	}
	for range targetNames {
		r.targets = append(r.targets, newAggregate())
	}
	r.byTarget = make([]downtime, len(targetNames))
	for i := range r.modes {
		r.modes[i].aggregate = newAggregate()
	}
	r.timeline.hist = newHistogram()
	return r
}

// StartPhase begins a named phase now: every request sent from this moment
// on counts toward it. It returns the moment, so that the caller's timeline
// and the recorder's agree.
func (r *Recorder) StartPhase(name string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	r.phases = append(r.phases, &phase{name: name, start: now.Sub(r.start), aggregate: newAggregate()})
	return now
}

// Record counts one result.
func (r *Recorder) Record(res *vegeta.Result, hit Hit) {
	o := outcome{
		seq:     res.Seq,
		sent:    res.Timestamp.Sub(r.start),
		latency: res.Latency,
		code:    res.Code,
		class:   Classify(res.Code, res.Error),
		fresh:   hit.Fresh,
		retried: hit.SilentRetried,
		version: -1,
		target:  hit.Target,
	}
	ok := o.class == ClassNone
	version := r.versionOf(res)

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.overall.add(o.latency, ok)
	if hit.Target >= 0 && hit.Target < len(r.targets) {
		r.targets[hit.Target].add(o.latency, ok)
	}
	m := &r.modes[modeIndex(hit.Fresh)]
	m.aggregate.add(o.latency, ok)
	if hit.SilentRetried {
		m.retries++
	}
	if version != "" {
		o.version = r.countVersion(version, o.sent, ok)
	}
	if p := r.phaseAt(o.sent); p != nil {
		p.aggregate.add(o.latency, ok)
	}
	r.codes[o.code]++
	if !ok {
		e := &r.errors[o.class]
		if e.count == 0 {
			e.sample = res.Error
		}
		e.count++
	}

	// Most results come in send order: they skip the heap, and the
	// boxing container/heap costs.
	if r.pending.Len() == 0 && o.seq <= r.nextSeq {
		r.inOrder(o)
		return
	}
	heap.Push(&r.pending, o)
	for r.pending.Len() > 0 && r.pending[0].seq <= r.nextSeq {
		r.inOrder(heap.Pop(&r.pending).(outcome))
	}
}

// inOrder feeds the send-ordered analyses.
func (r *Recorder) inOrder(o outcome) {
	r.nextSeq = max(r.nextSeq, o.seq+1)
	r.timeline.add(o)
	if w, closed := r.downtime.add(o); closed {
		r.noteWindow(w)
	}
	r.modes[modeIndex(o.fresh)].downtime.add(o)
	if o.target >= 0 && o.target < len(r.byTarget) {
		r.byTarget[o.target].add(o)
	}
}

// versionsByFirstAnswer lists the versions in the order they first
// answered, and renumbers the timeline's version bits to match.
func (r *Recorder) versionsByFirstAnswer() []VersionSummary {
	order := make([]int, len(r.versions))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(r.versions[a].first, r.versions[b].first) })
	renumber := make([]int, len(order))
	out := make([]VersionSummary, len(order))
	for to, from := range order {
		renumber[from] = to
		v := r.versions[from]
		out[to] = VersionSummary{Name: v.name, First: v.first, Last: v.last, Requests: v.requests, Failures: v.failures}
	}
	for i := range r.timeline.seconds {
		sec := &r.timeline.seconds[i]
		var bits uint32
		for from, to := range renumber {
			if sec.Versions&(1<<uint(from)) != 0 {
				bits |= 1 << uint(to)
			}
		}
		sec.Versions = bits
	}
	return out
}

func modeIndex(fresh bool) int {
	if fresh {
		return 1
	}
	return 0
}

// versionOf reads the version that answered res, from the header or the
// JSON field; "" when neither is there.
func (r *Recorder) versionOf(res *vegeta.Result) string {
	if r.opts.VersionHeader != "" && res.Headers != nil {
		if v := res.Headers.Get(r.opts.VersionHeader); v != "" {
			return v
		}
	}
	if r.opts.VersionField == "" || len(res.Body) == 0 || res.Body[0] != '{' {
		return ""
	}
	var doc map[string]any
	if json.Unmarshal(res.Body, &doc) != nil {
		return ""
	}
	var value any = doc
	for _, key := range strings.Split(r.opts.VersionField, ".") {
		obj, ok := value.(map[string]any)
		if !ok {
			return ""
		}
		value = obj[key]
	}
	switch v := value.(type) {
	case string:
		return v
	case float64, bool:
		return fmt.Sprint(v)
	}
	return ""
}

// countVersion counts an answer of version, returning its index.
func (r *Recorder) countVersion(name string, sent time.Duration, ok bool) int8 {
	i := slices.IndexFunc(r.versions, func(v versionCount) bool { return v.name == name })
	if i < 0 {
		if len(r.versions) == maxVersions-1 {
			name = "other"
			i = slices.IndexFunc(r.versions, func(v versionCount) bool { return v.name == name })
		}
		if i < 0 {
			r.versions = append(r.versions, versionCount{name: name, first: sent, last: sent})
			i = len(r.versions) - 1
		}
	}
	v := &r.versions[i]
	v.first, v.last = min(v.first, sent), max(v.last, sent)
	v.requests++
	if !ok {
		v.failures++
	}
	return int8(i)
}

func (r *Recorder) noteWindow(w Window) {
	for i, p := range r.phases {
		end := time.Duration(1<<63 - 1)
		if i+1 < len(r.phases) {
			end = r.phases[i+1].start
		}
		overlap := min(w.End, end) - max(w.Start, p.start)
		p.downtime = max(p.downtime, overlap)
	}
}

func (r *Recorder) phaseAt(sent time.Duration) *phase {
	for i := len(r.phases) - 1; i >= 0; i-- {
		if sent >= r.phases[i].start {
			return r.phases[i]
		}
	}
	return nil
}

// Close finishes the analyses at end, the moment the load stopped, and
// returns the summary. Results recorded after Close are ignored.
func (r *Recorder) Close(end time.Time) *Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	// A request whose result never came would hold the rest back forever.
	for r.pending.Len() > 0 {
		r.inOrder(heap.Pop(&r.pending).(outcome))
	}
	elapsed := end.Sub(r.start)
	if w, open := r.downtime.close(elapsed); open {
		r.noteWindow(w)
	}
	for i := range r.modes {
		r.modes[i].downtime.close(elapsed)
	}
	for i := range r.byTarget {
		r.byTarget[i].close(elapsed)
	}
	r.timeline.close()

	s := &Summary{
		Start:           r.start,
		Elapsed:         elapsed,
		Overall:         r.overall,
		Seconds:         r.timeline.seconds,
		Windows:         r.downtime.windows(),
		WindowCount:     r.downtime.count,
		Disrupted:       r.downtime.total,
		LongestDowntime: r.downtime.longest,
		FirstFailure:    r.downtime.firstFailure,
		LastFailure:     r.downtime.lastFailure,
	}
	for i, name := range r.names {
		s.Targets = append(s.Targets, TargetSummary{Name: name, Aggregate: r.targets[i], LongestDowntime: r.byTarget[i].longest})
	}
	for i, name := range []string{"keep-alive", "fresh"} {
		m := &r.modes[i]
		s.Modes = append(s.Modes, ModeSummary{
			Name: name, Aggregate: m.aggregate, SilentRetries: m.retries,
			LongestDowntime: m.downtime.longest, WindowCount: m.downtime.count, Disrupted: m.downtime.total,
		})
	}
	s.Versions = r.versionsByFirstAnswer()
	s.Degraded = degradedWindows(s.Seconds, r.opts.DegradedErrorRate)
	for i, p := range r.phases {
		ps := PhaseSummary{Name: p.name, Start: p.start, End: elapsed, Aggregate: p.aggregate, Downtime: p.downtime}
		if i+1 < len(r.phases) {
			ps.End = r.phases[i+1].start
		}
		s.Phases = append(s.Phases, ps)
	}
	for code, n := range r.codes {
		s.Codes = append(s.Codes, CodeCount{Code: code, Count: n})
	}
	slices.SortFunc(s.Codes, func(a, b CodeCount) int { return cmp.Compare(a.Code, b.Code) })
	for class, e := range r.errors {
		if e.count > 0 {
			s.Errors = append(s.Errors, ErrorCount{Class: Class(class), Count: e.count, Sample: e.sample})
		}
	}
	slices.SortStableFunc(s.Errors, func(a, b ErrorCount) int { return cmp.Compare(b.Count, a.Count) })
	return s
}

// outcomes is a min-heap by sequence number.
type outcomes []outcome

func (h outcomes) Len() int           { return len(h) }
func (h outcomes) Less(i, j int) bool { return h[i].seq < h[j].seq }
func (h outcomes) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *outcomes) Push(x any)        { *h = append(*h, x.(outcome)) }
func (h *outcomes) Pop() any {
	old := *h
	o := old[len(old)-1]
	*h = old[:len(old)-1]
	return o
}

// timeline keeps one bucket per second of send time. Requests come in send
// order, so only the current second needs a live histogram.
type timeline struct {
	seconds []Second
	hist    *hdrhistogram.Histogram
}

// Second is one second of the run, by send time.
type Second struct {
	Requests      int64
	Failures      int64
	ByClass       [numClasses]int64
	SilentRetries int64
	Versions      uint32 // bit i set: Summary.Versions[i] answered in this second
	P50, P99      time.Duration
	latencies     bool
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
	if o.class != ClassNone {
		s.Failures++
		s.ByClass[o.class]++
	}
	if o.retried {
		s.SilentRetries++
	}
	if o.version >= 0 {
		s.Versions |= 1 << uint(o.version)
	}
	if i == len(t.seconds)-1 {
		recordLatency(t.hist, o.latency)
		s.latencies = true
	}
}

func (t *timeline) finishSecond() {
	if n := len(t.seconds); n > 0 && t.seconds[n-1].latencies {
		last := &t.seconds[n-1]
		last.P50 = time.Duration(t.hist.ValueAtQuantile(50)) * time.Microsecond
		last.P99 = time.Duration(t.hist.ValueAtQuantile(99)) * time.Microsecond
	}
	t.hist.Reset()
}

func (t *timeline) close() { t.finishSecond() }

// Window is a span in which no request succeeded: from the send time of the
// first failure of a streak to the send time of the next success (or the
// end of the load, if none came). Times are since the start of the load.
type Window struct {
	Start, End time.Duration
	Failures   int64
	Classes    []Class  // failure classes seen, most frequent first
	Codes      []uint16 // status codes seen, 0 for no answer
	Open       bool     // no success came before the load stopped
}

// Duration is how long the window lasted.
func (w Window) Duration() time.Duration { return w.End - w.Start }

// downtime tracks failure streaks in send order.
type downtime struct {
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
}

func (d *downtime) add(o outcome) (Window, bool) {
	d.lastSent = max(d.lastSent, o.sent)
	if o.class == ClassNone {
		if !d.inStreak {
			return Window{}, false
		}
		return d.finish(o.sent, false), true
	}
	if d.failures == 0 {
		d.firstFailure = o.sent
	}
	d.failures++
	d.lastFailure = o.sent
	if !d.inStreak {
		d.inStreak = true
		d.current = Window{Start: o.sent}
		d.classCounts = [numClasses]int64{}
		d.codes = make(map[uint16]bool)
	}
	d.current.Failures++
	d.classCounts[o.class]++
	d.codes[o.code] = true
	return Window{}, false
}

func (d *downtime) close(end time.Duration) (Window, bool) {
	if !d.inStreak {
		return Window{}, false
	}
	return d.finish(max(end, d.lastSent), true), true
}

func (d *downtime) finish(end time.Duration, open bool) Window {
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
	d.inStreak = false
	d.count++
	d.total += w.Duration()
	d.longest = max(d.longest, w.Duration())
	heap.Push(&d.kept, w)
	if d.kept.Len() > MaxWindows {
		heap.Pop(&d.kept)
	}
	return w
}

// windows returns the kept windows in time order.
func (d *downtime) windows() []Window {
	ws := slices.Clone([]Window(d.kept))
	slices.SortFunc(ws, func(a, b Window) int { return cmp.Compare(a.Start, b.Start) })
	return ws
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
