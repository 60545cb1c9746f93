package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

// Finding is one disruption as a user reads it: which endpoints got no
// successful answer, for how long, how, during which deploy step, and
// whether they recovered. Windows of several endpoints that overlap in
// time are one finding.
type Finding struct {
	Targets []string // the endpoints, in the order of the targets
	All     bool     // every endpoint (and there is more than one)
	// Start and End are those of the finding's longest window, one
	// endpoint's: its length is the finding's one figure, the one
	// max-downtime judges and downtime-s reports. Windows of endpoints
	// asked in turn start and end a request apart, so the span of all of
	// them would overstate it.
	Start, End time.Duration
	Failures   int64
	Classes    []stats.Class
	Codes      []uint16
	Open       bool     // still failing when the load stopped
	Steps      []string // deploy steps running when its longest window began
	// first and last span every window of the finding; windows that
	// overlap it join it.
	first, last time.Duration
}

// Duration is how long the finding lasted: its longest window.
func (f Finding) Duration() time.Duration { return f.End - f.Start }

// findings are the disruptions of the run in time order: every endpoint's
// windows without a success, overlapping ones merged. A run whose results
// were not told apart by target has the whole API's windows.
func (r *Report) findings() []Finding {
	s := r.Summary
	type tagged struct {
		stats.Window
		target int
	}
	var windows []tagged
	for i, t := range s.Targets {
		for _, w := range t.Down.List {
			windows = append(windows, tagged{w, i})
		}
	}
	if len(s.Targets) == 0 {
		for _, w := range s.Outage.List {
			windows = append(windows, tagged{w, -1})
		}
	}
	slices.SortStableFunc(windows, func(a, b tagged) int { return cmp.Compare(a.Start, b.Start) })

	var out []Finding
	var targets map[int]bool
	for _, w := range windows {
		if n := len(out); n > 0 && w.Start <= out[n-1].last {
			f := &out[n-1]
			f.last = max(f.last, w.End)
			if w.Duration() > f.Duration() {
				f.Start, f.End = w.Start, w.End
			}
			f.Failures += w.Failures
			f.Open = f.Open || w.Open
			f.Classes = union(f.Classes, w.Classes)
			f.Codes = union(f.Codes, w.Codes)
			targets[w.target] = true
			r.nameTargets(f, targets)
			continue
		}
		targets = map[int]bool{w.target: true}
		f := Finding{Start: w.Start, End: w.End, first: w.Start, last: w.End, Failures: w.Failures, Open: w.Open,
			Classes: slices.Clone(w.Classes), Codes: slices.Clone(w.Codes)}
		r.nameTargets(&f, targets)
		out = append(out, f)
	}
	for i := range out {
		out[i].Steps = r.Deploy.stepsAt(out[i].Start)
	}
	return out
}

func (r *Report) nameTargets(f *Finding, targets map[int]bool) {
	f.Targets = f.Targets[:0]
	for i, t := range r.Summary.Targets {
		if targets[i] {
			f.Targets = append(f.Targets, t.Name)
		}
	}
	f.All = len(r.Summary.Targets) > 1 && len(f.Targets) == len(r.Summary.Targets) || len(r.Summary.Targets) == 0
}

// union appends to a what b holds that a does not, keeping a's order.
func union[T comparable](a, b []T) []T {
	for _, x := range b {
		if !slices.Contains(a, x) {
			a = append(a, x)
		}
	}
	return a
}

// maxFindings bounds the findings told in words; the table of disruptions
// lists more.
const maxFindings = 5

// told returns the findings the summary tells in words: the longest
// maxFindings, in time order, and how many shorter ones were left out.
func (r *Report) told() (told []Finding, left int) {
	all := r.findings()
	if len(all) <= maxFindings {
		return all, 0
	}
	told = longestFirst(all)[:maxFindings]
	inTimeOrder(told)
	return told, len(all) - maxFindings
}

// longestFirst returns the findings longest first, the earlier first
// among equals.
func longestFirst(findings []Finding) []Finding {
	out := slices.Clone(findings)
	slices.SortStableFunc(out, func(a, b Finding) int { return cmp.Compare(b.Duration(), a.Duration()) })
	return out
}

// inTimeOrder sorts findings by the start of their first window.
func inTimeOrder(findings []Finding) {
	slices.SortStableFunc(findings, func(a, b Finding) int { return cmp.Compare(a.first, b.first) })
}

// what names the endpoints of a finding: GET /a, GET /a and GET /b, all 3
// endpoints, the API.
func (r *Report) what(f Finding) string { return r.whatWith(f, false) }

// whatMarkdown is what for the job summary: the endpoints' names in code
// spans, so that a name with * or _ in it reads as written.
func (r *Report) whatMarkdown(f Finding) string { return r.whatWith(f, true) }

func (r *Report) whatWith(f Finding, markdown bool) string {
	switch {
	case len(r.Summary.Targets) == 0:
		return "the API"
	case f.All && len(r.Summary.Targets) == 2:
		return "both endpoints"
	case f.All:
		return fmt.Sprintf("all %d endpoints", len(r.Summary.Targets))
	case len(f.Targets) > 3:
		return fmt.Sprintf("%d of %d endpoints", len(f.Targets), len(r.Summary.Targets))
	}
	if !markdown {
		return andList(f.Targets)
	}
	names := make([]string, len(f.Targets))
	for i, name := range f.Targets {
		names[i] = "`" + code(name) + "`"
	}
	return andList(names)
}

// sentence tells a finding in one sentence: "151 requests to GET
// /v1/images were refused for 3.0 s, T+4.0 to T+7.1, during step
// "Deploy"; recovered".
func (r *Report) sentence(f Finding) string { return r.tell(f, false) }

// markdownSentence is sentence for the job summary: the endpoints' names
// in code spans, the steps' escaped.
func (r *Report) markdownSentence(f Finding) string { return r.tell(f, true) }

func (r *Report) tell(f Finding, markdown bool) string {
	var b strings.Builder
	verb := failureVerb(f.Classes, f.Codes)
	if f.Failures == 1 {
		verb = strings.ReplaceAll(verb, "were ", "was ")
	}
	fmt.Fprintf(&b, "%s to %s %s for %s, %s to %s", plural(f.Failures, "request"), r.whatWith(f, markdown), verb,
		span(f.Duration()), r.at(f.Start), r.at(f.End))
	if len(f.Steps) > 0 {
		steps := fmt.Sprintf(", during step %q", strings.Join(f.Steps, `", "`))
		if markdown {
			steps = escape(steps)
		}
		b.WriteString(steps)
	}
	b.WriteString("; ")
	b.WriteString(r.recovery(f))
	return b.String()
}

// recovery says whether the endpoints answered again before the load
// stopped.
func (r *Report) recovery(f Finding) string {
	if !f.Open {
		return "recovered"
	}
	if d := r.Deploy; d != nil && d.Dispatched > 0 && r.Summary.Elapsed > d.Dispatched {
		return fmt.Sprintf("never recovered: still failing when the load stopped, %s after the deploy began", span(r.Summary.Elapsed-d.Dispatched))
	}
	return "never recovered: still failing when the load stopped"
}

// Recovered reports whether every endpoint that stopped answering answered
// again before the load stopped.
func (r *Report) Recovered() bool {
	if r.Summary.Outage.Open {
		return false
	}
	for _, t := range r.Summary.Targets {
		if t.Down.Open {
			return false
		}
	}
	return true
}

// at writes a moment of the run: since the dispatch when there was one,
// since the start of the load otherwise: T+4.0, T−12.5, T+2:05.3.
func (r *Report) at(t time.Duration) string {
	if d := r.Deploy; d != nil && d.Dispatched > 0 {
		t -= d.Dispatched
	}
	t = t.Round(100 * time.Millisecond)
	sign := "+"
	if t < 0 {
		sign, t = "−", -t
	}
	if t < time.Minute {
		return fmt.Sprintf("T%s%.1f", sign, t.Seconds())
	}
	return fmt.Sprintf("T%s%d:%04.1f", sign, int(t/time.Minute), (t % time.Minute).Seconds())
}

// origin says what T is, for the reader.
func (r *Report) origin() string {
	if d := r.Deploy; d != nil && d.Dispatched > 0 {
		return "T is the dispatch of the deploy"
	}
	return "T is the start of the load"
}
