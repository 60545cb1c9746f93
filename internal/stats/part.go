package stats

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// PartLayout is the version of a Part's layout; it changes when a field
// changes meaning or goes away. 2 counts the connection modes by target.
const PartLayout = 2

// Part is what one shard's recorder kept, in a form that another process
// reads back and merges exactly with the other shards': histograms in
// hdrhistogram's standard V2 compressed encoding (base64), counts, and
// every window without a success. Times are offsets from Start, a
// wall-clock instant; shards start their load on a whole second, so their
// seconds line up.
type Part struct {
	Layout   int              `json:"layout"`
	Start    time.Time        `json:"start"`
	Elapsed  time.Duration    `json:"elapsed_ns"`
	Overall  PartAggregate    `json:"overall"`
	Targets  []PartTarget     `json:"targets"`
	Phases   []PartPhase      `json:"phases"`
	Modes    []PartMode       `json:"connections"`
	Versions []VersionSummary `json:"versions"`
	Codes    map[string]int64 `json:"status_codes"`
	Errors   []PartError      `json:"errors"`
	Seconds  []PartSecond     `json:"seconds"`
	Outage   PartWindows      `json:"outage"`
	Selected []PartSelected   `json:"selections"`
	First    time.Duration    `json:"first_failure_ns"`
	Last     time.Duration    `json:"last_failure_ns"`
}

// PartAggregate is an aggregate: counts and its latency histogram.
type PartAggregate struct {
	Requests int64  `json:"requests"`
	Failures int64  `json:"failures"`
	Latency  string `json:"latency,omitempty"` // microseconds, V2 compressed
	// Succeeded is the latency of the successful requests alone, for the
	// targets and phases that keep it.
	Succeeded string `json:"succeeded_latency,omitempty"`
}

// PartTarget is one target's share.
type PartTarget struct {
	Name string `json:"name"`
	PartAggregate
	Down PartWindows `json:"down"`
	// Modes is its share of each connection mode, in the order of
	// ModeNames.
	Modes []PartModeShare `json:"connections"`
}

// PartModeShare is one target's share of one connection mode.
type PartModeShare struct {
	Requests      int64       `json:"requests"`
	Failures      int64       `json:"failures"`
	SilentRetries int64       `json:"silent_retries"`
	Down          PartWindows `json:"down"`
}

// PartPhase is one phase.
type PartPhase struct {
	Name  string        `json:"name"`
	Start time.Duration `json:"start_ns"`
	End   time.Duration `json:"end_ns"`
	PartAggregate
}

// PartMode is one connection mode; its windows are its targets'.
type PartMode struct {
	Name string `json:"name"`
	PartAggregate
	SilentRetries int64 `json:"silent_retries"`
}

// PartError is a failure class's count and sample.
type PartError struct {
	Class  string `json:"class"`
	Count  int64  `json:"count"`
	Sample string `json:"sample"`
}

// PartWindows are a stream's windows without a success: every one when
// the part was recorded with KeepAllWindows (up to MaxKeptWindows).
type PartWindows struct {
	List    []Window      `json:"list"`
	Count   int64         `json:"count"`
	Total   time.Duration `json:"total_ns"`
	Longest time.Duration `json:"longest_ns"`
	Open    bool          `json:"open"`
}

// PartSecond is one second of the timeline.
type PartSecond struct {
	Requests      int64            `json:"requests"`
	Failures      int64            `json:"failures"`
	ByClass       map[string]int64 `json:"by_class,omitempty"`
	SilentRetries int64            `json:"silent_retries,omitempty"`
	Versions      []string         `json:"versions,omitempty"`
	Latency       string           `json:"latency,omitempty"` // of its successful requests
}

// PartSelected is one selection's figures.
type PartSelected struct {
	Selection
	PartAggregate
	Down    time.Duration        `json:"down_ns"`
	Elapsed time.Duration        `json:"elapsed_ns"`
	Seconds []PartSelectedSecond `json:"seconds,omitempty"`
}

// PartSelectedSecond is one second of a selection.
type PartSelectedSecond struct {
	Requests int64  `json:"requests"`
	Failures int64  `json:"failures"`
	Latency  string `json:"latency,omitempty"`
}

func encode(h *hdrhistogram.Histogram) string {
	if h == nil || h.TotalCount() == 0 {
		return ""
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

func encodePacked(h *hdrhistogram.PackedHistogram) string {
	if h == nil || h.TotalCount() == 0 {
		return ""
	}
	b, err := h.Encode()
	if err != nil {
		return ""
	}
	return string(b)
}

func (a *Aggregate) part() PartAggregate {
	return PartAggregate{Requests: a.Requests, Failures: a.Failures, Latency: encode(a.hist), Succeeded: encodePacked(a.succeeded)}
}

func (w Windows) part() PartWindows {
	return PartWindows{List: w.List, Count: w.Count, Total: w.Total, Longest: w.Longest, Open: w.Open}
}

// Part returns what a merge needs of the summary. The recorder must have
// kept its seconds (Options.KeepSeconds) for the timeline's latency, and
// every window (Options.KeepAllWindows) for an exact downtime.
func (s *Summary) Part() *Part {
	p := &Part{Layout: PartLayout, Start: s.Start, Elapsed: s.Elapsed, Overall: s.Overall.part(), Codes: map[string]int64{},
		Outage: s.Outage.part(), First: s.FirstFailure, Last: s.LastFailure, Versions: s.Versions}
	for _, t := range s.Targets {
		pt := PartTarget{Name: t.Name, PartAggregate: t.Aggregate.part(), Down: t.Down.part()}
		for _, m := range t.Modes {
			pt.Modes = append(pt.Modes, PartModeShare{Requests: m.Requests, Failures: m.Failures, SilentRetries: m.SilentRetries, Down: m.Down.part()})
		}
		p.Targets = append(p.Targets, pt)
	}
	for _, ph := range s.Phases {
		p.Phases = append(p.Phases, PartPhase{Name: ph.Name, Start: ph.Start, End: ph.End, PartAggregate: ph.Aggregate.part()})
	}
	for _, m := range s.Modes {
		p.Modes = append(p.Modes, PartMode{Name: m.Name, PartAggregate: m.Aggregate.part(), SilentRetries: m.SilentRetries})
	}
	for _, c := range s.Codes {
		p.Codes[strconv.Itoa(int(c.Code))] = c.Count
	}
	for _, e := range s.Errors {
		p.Errors = append(p.Errors, PartError{Class: e.Class.String(), Count: e.Count, Sample: e.Sample})
	}
	for _, sec := range s.Seconds {
		ps := PartSecond{Requests: sec.Requests, Failures: sec.Failures, SilentRetries: sec.SilentRetries, Latency: encodePacked(sec.latency)}
		for c, n := range sec.ByClass {
			if n > 0 {
				if ps.ByClass == nil {
					ps.ByClass = map[string]int64{}
				}
				ps.ByClass[Class(c).String()] = n
			}
		}
		for i, v := range s.Versions {
			if sec.Versions&(1<<uint(i)) != 0 {
				ps.Versions = append(ps.Versions, v.Name)
			}
		}
		p.Seconds = append(p.Seconds, ps)
	}
	for _, sel := range s.Selected {
		ps := PartSelected{Selection: sel.Selection, PartAggregate: PartAggregate{Requests: sel.Requests, Failures: sel.Failures, Latency: encodePacked(sel.latency)},
			Down: sel.Down, Elapsed: sel.elapsed}
		for _, sec := range sel.seconds {
			ps.Seconds = append(ps.Seconds, PartSelectedSecond{Requests: sec.requests, Failures: sec.failures, Latency: encodePacked(sec.latency)})
		}
		p.Selected = append(p.Selected, ps)
	}
	return p
}

// ErrPartLayout is wrapped by Merge's error for a part of another layout.
var ErrPartLayout = errors.New("report layout not understood")

// Merge joins the parts of one check that shards recorded into the
// summary a single recorder would have made of all their requests:
// histograms and counts merged exactly, the seconds summed where they line
// up, and each endpoint down only where it was down in every shard that
// asked it (the intersection of their windows without a success, which is
// where no shard got an answer). degraded is the degraded error rate.
func Merge(parts []*Part, degraded float64) (*Summary, error) {
	if len(parts) == 0 {
		return nil, errors.New("no parts to merge")
	}
	m := &merger{parts: parts}
	for i, p := range parts {
		if p.Layout != PartLayout {
			return nil, fmt.Errorf("part %d has layout %d, this build reads %d: %w", i+1, p.Layout, PartLayout, ErrPartLayout)
		}
	}
	return m.merge(degraded)
}

// merger merges parts.
type merger struct {
	parts []*Part
	start time.Time
	err   error
	// down holds every target's merged windows, by target index, before
	// the summary keeps the longest: phases and selections count the
	// windows within their span, as one recorder would.
	down [][]Window
}

// offset is how far part p started after the merged start.
func (m *merger) offset(p *Part) time.Duration { return p.Start.Sub(m.start) }

func (m *merger) merge(degraded float64) (*Summary, error) {
	m.start = m.parts[0].Start
	end := m.parts[0].Start.Add(m.parts[0].Elapsed)
	for _, p := range m.parts[1:] {
		if p.Start.Before(m.start) {
			m.start = p.Start
		}
		if e := p.Start.Add(p.Elapsed); e.After(end) {
			end = e
		}
	}
	s := &Summary{Start: m.start, Elapsed: end.Sub(m.start)}
	s.Overall = m.aggregate(func(p *Part) *PartAggregate { return &p.Overall })
	s.Targets = m.targets(s.Elapsed)
	s.Modes = m.modes(s.Targets)
	s.Outage = m.windows(func(p *Part) *PartWindows { return &p.Outage })
	s.Versions = m.versions()
	s.Codes, s.Errors = m.codes()
	s.Seconds = m.seconds(s.Versions)
	s.Phases = m.phases(s)
	s.Selected = m.selected(s.Elapsed)
	m.selectedDowntime(s)
	s.Degraded = degradedWindows(s.Seconds, degraded)
	s.FirstFailure, s.LastFailure = m.failures()
	return s, m.err
}

func (m *merger) fail(err error) {
	if m.err == nil {
		m.err = err
	}
}

// aggregate merges one aggregate of every part.
func (m *merger) aggregate(of func(*Part) *PartAggregate) *Aggregate {
	return m.aggregateInto(newAggregate(), of)
}

func (m *merger) aggregateInto(a *Aggregate, of func(*Part) *PartAggregate) *Aggregate {
	for _, p := range m.parts {
		pa := of(p)
		if pa == nil {
			continue
		}
		m.mergeInto(a, pa)
	}
	return a
}

func (m *merger) mergeInto(a *Aggregate, pa *PartAggregate) {
	a.Requests += pa.Requests
	a.Failures += pa.Failures
	if h, err := decodePacked(pa.Succeeded); err != nil {
		m.fail(fmt.Errorf("a latency histogram does not decode: %w", err))
	} else if h != nil && a.succeeded != nil {
		a.succeeded.Merge(h)
	}
	if pa.Latency == "" {
		return
	}
	h, err := hdrhistogram.Decode([]byte(pa.Latency))
	if err != nil {
		m.fail(fmt.Errorf("a latency histogram does not decode: %w", err))
		return
	}
	a.hist.Merge(h)
}

func decodePacked(s string) (*hdrhistogram.PackedHistogram, error) {
	if s == "" {
		return nil, nil
	}
	return hdrhistogram.DecodePacked([]byte(s))
}

// targets merges the targets by name, in the first part's order.
func (m *merger) targets(elapsed time.Duration) []TargetSummary {
	var names []string
	for _, p := range m.parts {
		for _, t := range p.Targets {
			if !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	out := make([]TargetSummary, 0, len(names))
	for _, name := range names {
		find := func(p *Part) *PartTarget {
			for i := range p.Targets {
				if p.Targets[i].Name == name {
					return &p.Targets[i]
				}
			}
			return nil
		}
		agg := m.aggregateInto(newAggregateOfSuccesses(), func(p *Part) *PartAggregate {
			if t := find(p); t != nil {
				return &t.PartAggregate
			}
			return nil
		})
		down, every := m.everyWindow(func(p *Part) *PartWindows {
			if t := find(p); t != nil && t.Requests > 0 {
				return &t.Down
			}
			return nil
		})
		m.down = append(m.down, every)
		t := TargetSummary{Name: name, Aggregate: agg, Down: down, elapsed: elapsed}
		for mode := range t.Modes {
			share := func(p *Part) *PartModeShare {
				if pt := find(p); pt != nil && mode < len(pt.Modes) {
					return &pt.Modes[mode]
				}
				return nil
			}
			for _, p := range m.parts {
				if pm := share(p); pm != nil {
					t.Modes[mode].Requests += pm.Requests
					t.Modes[mode].Failures += pm.Failures
					t.Modes[mode].SilentRetries += pm.SilentRetries
				}
			}
			t.Modes[mode].Down = m.windows(func(p *Part) *PartWindows {
				if pm := share(p); pm != nil && pm.Requests > 0 {
					return &pm.Down
				}
				return nil
			})
		}
		out = append(out, t)
	}
	return out
}

// modes merges the connection modes; their windows are the merged
// targets'.
func (m *merger) modes(targets []TargetSummary) []ModeSummary {
	var out []ModeSummary
	for i, name := range ModeNames {
		of := func(p *Part) *PartMode {
			if i < len(p.Modes) && p.Modes[i].Name == name {
				return &p.Modes[i]
			}
			return nil
		}
		mode := ModeSummary{Name: name}
		mode.Aggregate = m.aggregate(func(p *Part) *PartAggregate {
			if pm := of(p); pm != nil {
				return &pm.PartAggregate
			}
			return nil
		})
		for _, p := range m.parts {
			if pm := of(p); pm != nil {
				mode.SilentRetries += pm.SilentRetries
			}
		}
		mode.Down = modeDowntime(targets, i)
		out = append(out, mode)
	}
	return out
}

// windows intersects the windows of every part that has the stream: the
// stream was down only where it was down in all of them, from the last
// success any shard saw to the next (see mergeWindows).
func (m *merger) windows(of func(*Part) *PartWindows) Windows {
	out, _ := m.everyWindow(of)
	return out
}

// everyWindow is windows, and also every merged window in time order
// (the summary lists only the longest).
func (m *merger) everyWindow(of func(*Part) *PartWindows) (Windows, []Window) {
	var lists [][]Window
	open := true
	for _, p := range m.parts {
		w := of(p)
		if w == nil {
			continue
		}
		shifted := make([]Window, len(w.List))
		for i, win := range w.List {
			win.Start += m.offset(p)
			win.End += m.offset(p)
			win.After += m.offset(p)
			shifted[i] = win
		}
		slices.SortFunc(shifted, func(a, b Window) int { return cmp.Compare(a.Start, b.Start) })
		lists = append(lists, shifted)
		open = open && w.Open
	}
	if len(lists) == 0 {
		return Windows{}, nil
	}
	if len(lists) == 1 {
		// One shard: its windows as they were.
		var d downtime
		for _, w := range lists[0] {
			d.keep(w)
		}
		out := d.summary()
		out.Open = open
		return out, lists[0]
	}
	merged := mergeWindows(lists)
	var d downtime
	for _, w := range merged {
		d.keep(w)
	}
	out := d.summary()
	out.Open = open && len(merged) > 0 && merged[len(merged)-1].Open
	return out, merged
}

// span is a stretch in which no part got a success, with the window of
// each part that holds it (by index into that part's list).
type span struct {
	after, end time.Duration
	from       []int
}

// mergeWindows merges the parts' windows of one stream into the windows
// one recorder of the whole stream would have seen: the spans in which no
// part got a success, from the latest success before to the earliest
// after, that hold a failure.
//
// Within a part's window every request of that part failed, and they came
// at the window's own pace: Failures of them from Start, one every
// (End−Start)/Failures. So each part's failures inside a span are known,
// and the merged window starts at the first of them: the first request
// any part sent after the last success. A span that holds none is only
// the gap between two parts' successes, and no window.
func mergeWindows(lists [][]Window) []Window {
	spans := make([]span, len(lists[0]))
	for i, w := range lists[0] {
		spans[i] = span{after: w.After, end: w.End, from: []int{i}}
	}
	for _, next := range lists[1:] {
		var out []span
		i, j := 0, 0
		for i < len(spans) && j < len(next) {
			after, end := max(spans[i].after, next[j].After), min(spans[i].end, next[j].End)
			if after < end {
				out = append(out, span{after: after, end: end, from: append(slices.Clone(spans[i].from), j)})
			}
			if spans[i].end < next[j].End {
				i++
			} else {
				j++
			}
		}
		spans = out
	}

	var windows []Window
	for _, s := range spans {
		merged := Window{After: s.after, Start: -1, End: s.end, Open: true}
		for part, i := range s.from {
			own := lists[part][i]
			first, failures := failuresWithin(own, s.after, s.end)
			if failures == 0 {
				continue
			}
			if merged.Start < 0 || first < merged.Start {
				merged.Start = first
			}
			merged.Failures += failures
			merged.Classes = union(merged.Classes, own.Classes)
			merged.Codes = unionSorted(merged.Codes, own.Codes)
			merged.Open = merged.Open && own.Open
		}
		if merged.Failures > 0 {
			windows = append(windows, merged)
		}
	}
	return windows
}

// failuresWithin returns when the first of w's failures at or after from
// was sent and how many were sent from then until before to.
func failuresWithin(w Window, from, to time.Duration) (first time.Duration, failures int64) {
	if w.Failures <= 0 || w.End <= w.Start {
		return 0, 0
	}
	pace := float64(w.End-w.Start) / float64(w.Failures)
	// n-th failure (from 0) at w.Start + n·pace.
	lo := int64(0)
	if from > w.Start {
		lo = int64(math.Ceil(float64(from-w.Start) / pace))
	}
	hi := min(w.Failures, int64(math.Ceil(float64(to-w.Start)/pace)))
	if hi <= lo {
		return 0, 0
	}
	return w.Start + time.Duration(math.Round(float64(lo)*pace)), hi - lo
}

func union[T comparable](a, b []T) []T {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func unionSorted(a, b []uint16) []uint16 {
	out := union(a, b)
	slices.Sort(out)
	return out
}

func (m *merger) versions() []VersionSummary {
	var out []VersionSummary
	for _, p := range m.parts {
		for _, v := range p.Versions {
			v.First += m.offset(p)
			v.Last += m.offset(p)
			i := slices.IndexFunc(out, func(o VersionSummary) bool { return o.Name == v.Name })
			if i < 0 {
				out = append(out, v)
				continue
			}
			o := &out[i]
			o.First, o.Last = min(o.First, v.First), max(o.Last, v.Last)
			o.Requests += v.Requests
			o.Failures += v.Failures
		}
	}
	slices.SortStableFunc(out, func(a, b VersionSummary) int { return cmp.Compare(a.First, b.First) })
	return out
}

func (m *merger) codes() ([]CodeCount, []ErrorCount) {
	codes := map[uint16]int64{}
	var errs []ErrorCount
	for _, p := range m.parts {
		for raw, n := range p.Codes {
			c, err := strconv.ParseUint(raw, 10, 16)
			if err != nil {
				m.fail(fmt.Errorf("status code %q is not one", raw))
				continue
			}
			codes[uint16(c)] += n
		}
		for _, e := range p.Errors {
			class := classNamed(e.Class)
			i := slices.IndexFunc(errs, func(x ErrorCount) bool { return x.Class == class })
			if i < 0 {
				errs = append(errs, ErrorCount{Class: class, Count: e.Count, Sample: e.Sample})
				continue
			}
			errs[i].Count += e.Count
		}
	}
	var out []CodeCount
	for c, n := range codes {
		out = append(out, CodeCount{Code: c, Count: n})
	}
	slices.SortFunc(out, func(a, b CodeCount) int { return cmp.Compare(a.Code, b.Code) })
	slices.SortStableFunc(errs, func(a, b ErrorCount) int { return cmp.Compare(b.Count, a.Count) })
	return out, errs
}

func classNamed(name string) Class {
	for c := range numClasses {
		if c.String() == name {
			return c
		}
	}
	return ClassOther
}

// seconds sums the parts' seconds where they line up, merging their
// latency to read the quantiles again.
func (m *merger) seconds(versions []VersionSummary) []Second {
	var out []Second
	var hists []*hdrhistogram.Histogram
	for _, p := range m.parts {
		shift := int(m.offset(p).Round(time.Second) / time.Second)
		for i, ps := range p.Seconds {
			at := i + shift
			for len(out) <= at {
				out = append(out, Second{})
				hists = append(hists, nil)
			}
			sec := &out[at]
			sec.Requests += ps.Requests
			sec.Failures += ps.Failures
			sec.SilentRetries += ps.SilentRetries
			for name, n := range ps.ByClass {
				sec.ByClass[classNamed(name)] += n
			}
			for _, v := range ps.Versions {
				if j := slices.IndexFunc(versions, func(x VersionSummary) bool { return x.Name == v }); j >= 0 {
					sec.Versions |= 1 << uint(j)
				}
			}
			packed, err := decodePacked(ps.Latency)
			if err != nil {
				m.fail(fmt.Errorf("second %d's latency does not decode: %w", i, err))
				continue
			}
			if packed == nil {
				continue
			}
			if hists[at] == nil {
				hists[at] = newHistogram()
			}
			packed.MergeInto(hists[at])
		}
	}
	for i, h := range hists {
		if h == nil {
			continue
		}
		out[i].P50 = time.Duration(h.ValueAtQuantile(50)) * time.Microsecond
		out[i].P99 = time.Duration(h.ValueAtQuantile(99)) * time.Microsecond
		out[i].latency = newPacked()
		out[i].latency.MergeFrom(h)
		out[i].latencies = true
	}
	return out
}

// phases merges the phases by name; each spans from its earliest start
// to its latest end among the parts, and its downtime is recomputed from
// the merged windows.
func (m *merger) phases(s *Summary) []PhaseSummary {
	var out []PhaseSummary
	for _, p := range m.parts {
		for _, ph := range p.Phases {
			start, end := ph.Start+m.offset(p), ph.End+m.offset(p)
			i := slices.IndexFunc(out, func(o PhaseSummary) bool { return o.Name == ph.Name })
			if i < 0 {
				out = append(out, PhaseSummary{Name: ph.Name, Start: start, End: end, Aggregate: newAggregateOfSuccesses()})
				i = len(out) - 1
			}
			o := &out[i]
			o.Start, o.End = min(o.Start, start), max(o.End, end)
			m.mergeInto(o.Aggregate, &ph.PartAggregate)
		}
	}
	for i := range out {
		p := &out[i]
		for _, windows := range m.down {
			for _, w := range windows {
				p.Downtime = max(p.Downtime, min(w.End, p.End)-max(w.Start, p.Start))
			}
		}
		for _, w := range s.Outage.List {
			p.Outage = max(p.Outage, min(w.End, p.End)-max(w.Start, p.Start))
		}
	}
	return out
}

// selected merges the selections that every part kept alike.
func (m *merger) selected(elapsed time.Duration) []*Selected {
	var out []*Selected
	for _, p := range m.parts {
		for _, ps := range p.Selected {
			i := slices.IndexFunc(out, func(s *Selected) bool { return sameSelection(s.Selection, ps.Selection) })
			if i < 0 {
				out = append(out, &Selected{Selection: ps.Selection, elapsed: ps.Elapsed})
				i = len(out) - 1
			}
			m.mergeSelected(out[i], p, &ps)
		}
	}
	return out
}

// selectedDowntime sets each selection's downtime from the merged windows
// of its targets within its phase, as one recorder counts it
// (noteSelectedWindow). The shards' own figures will not do: a shard's
// window runs from its own first failure to its own next success, which
// can come several of the merged schedule's requests after the first
// success any shard got.
func (m *merger) selectedDowntime(s *Summary) {
	for _, sel := range s.Selected {
		sel.Down = 0
		from, to := time.Duration(0), time.Duration(math.MaxInt64)
		if sel.Phase != "" {
			i := slices.IndexFunc(s.Phases, func(p PhaseSummary) bool { return p.Name == sel.Phase })
			if i < 0 {
				continue
			}
			from = s.Phases[i].Start
			if i+1 < len(s.Phases) {
				to = s.Phases[i+1].Start
			}
		}
		for target, windows := range m.down {
			if sel.Targets != nil && !slices.Contains(sel.Targets, target) {
				continue
			}
			for _, w := range windows {
				sel.Down = max(sel.Down, min(w.End, to)-max(w.Start, from))
			}
		}
	}
}

func sameSelection(a, b Selection) bool {
	return slices.Equal(a.Targets, b.Targets) && a.Phase == b.Phase && a.Successful == b.Successful && a.PerSecond == b.PerSecond
}

func (m *merger) mergeSelected(s *Selected, p *Part, ps *PartSelected) {
	s.Requests += ps.Requests
	s.Failures += ps.Failures
	s.Down = max(s.Down, ps.Down)
	s.elapsed = max(s.elapsed, ps.Elapsed)
	if h, err := decodePacked(ps.Latency); err != nil {
		m.fail(err)
	} else if h != nil {
		if s.latency == nil {
			s.latency = newPacked()
		}
		s.latency.Merge(h)
	}
	shift := int(m.offset(p).Round(time.Second) / time.Second)
	for i, sec := range ps.Seconds {
		at := i + shift
		for len(s.seconds) <= at {
			s.seconds = append(s.seconds, selectedSecond{})
		}
		dst := &s.seconds[at]
		dst.requests += sec.Requests
		dst.failures += sec.Failures
		h, err := decodePacked(sec.Latency)
		if err != nil {
			m.fail(err)
			continue
		}
		if h != nil {
			if dst.latency == nil {
				dst.latency = newPacked()
			}
			dst.latency.Merge(h)
		}
	}
}

func (m *merger) failures() (first, last time.Duration) {
	found := false
	for _, p := range m.parts {
		if p.Overall.Failures == 0 {
			continue
		}
		f, l := p.First+m.offset(p), p.Last+m.offset(p)
		if !found || f < first {
			first = f
		}
		if !found || l > last {
			last = l
		}
		found = true
	}
	return first, last
}
