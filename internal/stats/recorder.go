// Package stats turns the stream of load results into the figures a deploy
// is judged by: latency quantiles from HDR histograms (overall, per target,
// per phase), status codes, failure classes, a per-second timeline and the
// windows in which requests got no successful answer, per endpoint and for
// the whole API. Memory is bounded whatever the run length: nothing is kept
// per request once it has been counted.
//
// The Recorder is split by concern: this file restores send order and hands
// each result to the analyses; timeline.go keeps the per-second figures,
// downtime.go the windows without a success, phases.go the phases of the
// deploy timeline and versions.go the versions that answered.
package stats

import (
	"cmp"
	"container/heap"
	"slices"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Recorder accumulates results. Add them with Record, as they arrive and in
// any order; finish with Close. Record and StartPhase may be called from
// different goroutines.
type Recorder struct {
	mu     sync.Mutex
	start  time.Time
	closed bool
	opts   Options

	overall *Aggregate
	targets []*Aggregate
	names   []string
	codes   map[uint16]int64
	errors  [numClasses]errorCount
	modes   [2]mode // by Hit.Fresh: keep-alive, fresh
	// byTargetMode is each target's share of each mode, by target index
	// then mode: kept-alive and fresh requests are compared endpoint by
	// endpoint, as the fresh ones go to every endpoint.
	byTargetMode [][2]targetMode

	// Results arrive in completion order; the timeline and the downtime
	// windows need send order. vegeta numbers requests in send order, so a
	// heap keyed by that number restores it, holding at most the requests
	// that were in flight together.
	pending outcomes
	nextSeq uint64

	timeline timeline
	phases   phases
	versions versions
	outage   downtime   // windows in which every endpoint failed and none answered
	byTarget []downtime // windows in which one endpoint did not, by target index
	selected []*Selected
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
	// Selections are the parts of the requests to keep figures of besides
	// the whole run, its targets and its phases; Summary.Selected holds
	// them in the same order.
	Selections []Selection
	// Secrets are values that must never show in the summary, such as the
	// secret inputs': a version header or field that echoes one shows it
	// masked.
	Secrets []string
	// ForMerge keeps what Summary.Part needs for an exact merge with other
	// shards: each second's latency, and up to MaxKeptWindows windows per
	// stream instead of MaxWindows.
	ForMerge bool
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
	retries   int64
}

// targetMode is one target's share of one connection mode.
type targetMode struct {
	requests, failures, retries int64
	downtime                    downtime
}

type errorCount struct {
	count  int64
	sample string
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

func (o *outcome) ok() bool { return o.class == ClassNone }

// NewRecorder returns a recorder whose timeline starts at start, with one
// aggregate per target name.
func NewRecorder(start time.Time, targetNames []string, opts Options) *Recorder {
	r := &Recorder{
		start:        start,
		opts:         opts,
		overall:      newAggregate(),
		names:        slices.Clone(targetNames),
		codes:        make(map[uint16]int64),
		byTarget:     make([]downtime, len(targetNames)),
		byTargetMode: make([][2]targetMode, len(targetNames)),
		outage:       downtime{every: len(targetNames)},
	}
	for range targetNames {
		r.targets = append(r.targets, newAggregateOfSuccesses())
	}
	for i := range r.modes {
		r.modes[i].aggregate = newAggregate()
	}
	r.versions.name = newVersionNamer(opts)
	r.timeline.hist = newHistogram()
	r.timeline.keep = opts.ForMerge
	if opts.ForMerge {
		r.outage.limit = MaxKeptWindows
		for i := range r.byTarget {
			r.byTarget[i].limit = MaxKeptWindows
		}
		for i := range r.byTargetMode {
			for m := range r.byTargetMode[i] {
				r.byTargetMode[i][m].downtime.limit = MaxKeptWindows
			}
		}
	}
	for _, sel := range opts.Selections {
		sel.Targets = slices.Clone(sel.Targets)
		r.selected = append(r.selected, &Selected{Selection: sel})
	}
	return r
}

// StartPhase begins the phase called name at the moment at: every request
// sent from then on counts toward it. Phases must start in time order.
func (r *Recorder) StartPhase(name string, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.phases.start(name, at.Sub(r.start))
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
	ok := o.ok()
	version := versionOf(res, r.opts)

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.overall.add(o.latency, ok)
	if hit.Target >= 0 && hit.Target < len(r.targets) {
		r.targets[hit.Target].add(o.latency, ok)
		tm := &r.byTargetMode[hit.Target][modeIndex(hit.Fresh)]
		tm.requests++
		if !ok {
			tm.failures++
		}
		if hit.SilentRetried {
			tm.retries++
		}
	}
	m := &r.modes[modeIndex(hit.Fresh)]
	m.aggregate.add(o.latency, ok)
	if hit.SilentRetried {
		m.retries++
	}
	if version != "" {
		o.version = r.versions.count(version, o.sent, ok)
	}
	phaseName := ""
	if p := r.phases.at(o.sent); p != nil {
		p.aggregate.add(o.latency, ok)
		phaseName = p.name
	}
	for _, s := range r.selected {
		if s.holds(o.target, phaseName) {
			s.add(&o)
		}
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
	if w, closed := r.outage.add(o); closed {
		r.phases.noteOutage(w)
	}
	if o.target >= 0 && o.target < len(r.byTarget) {
		r.byTargetMode[o.target][modeIndex(o.fresh)].downtime.add(o)
		if w, closed := r.byTarget[o.target].add(o); closed {
			r.phases.noteDowntime(w)
			r.noteSelectedWindow(o.target, w)
		}
	}
}

func modeIndex(fresh bool) int {
	if fresh {
		return 1
	}
	return 0
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
	if w, open := r.outage.close(elapsed); open {
		r.phases.noteOutage(w)
	}
	for i := range r.byTargetMode {
		for m := range r.byTargetMode[i] {
			r.byTargetMode[i][m].downtime.close(elapsed)
		}
	}
	for i := range r.byTarget {
		if w, open := r.byTarget[i].close(elapsed); open {
			r.phases.noteDowntime(w)
			r.noteSelectedWindow(i, w)
		}
	}
	r.timeline.close()

	s := &Summary{
		Start:        r.start,
		Elapsed:      elapsed,
		Overall:      r.overall,
		Seconds:      r.timeline.seconds,
		Outage:       r.outage.summary(),
		FirstFailure: r.outage.firstFailure,
		LastFailure:  r.outage.lastFailure,
	}
	for i, name := range r.names {
		t := TargetSummary{Name: name, Aggregate: r.targets[i], Down: r.byTarget[i].summary(), elapsed: elapsed}
		for m := range t.Modes {
			tm := &r.byTargetMode[i][m]
			t.Modes[m] = ModeShare{Requests: tm.requests, Failures: tm.failures, SilentRetries: tm.retries, Down: tm.downtime.summary()}
		}
		s.Targets = append(s.Targets, t)
	}
	for i, name := range ModeNames {
		m := &r.modes[i]
		s.Modes = append(s.Modes, ModeSummary{Name: name, Aggregate: m.aggregate, SilentRetries: m.retries, Down: modeDowntime(s.Targets, i)})
	}
	s.Versions = r.versions.byFirstAnswer(s.Seconds)
	s.Degraded = degradedWindows(s.Seconds, r.opts.DegradedErrorRate)
	s.Phases = r.phases.summaries(elapsed)
	for _, sel := range r.selected {
		sel.elapsed = elapsed
		if i := r.phases.index(sel.Phase); sel.Phase != "" && i >= 0 {
			sel.elapsed = min(r.phases.end(i), elapsed) - r.phases[i].start
		}
		s.Selected = append(s.Selected, sel)
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
