package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// Limits that keep the summary far below GitHub's 1 MiB cap whatever the
// run: at most maxSample bytes per error message, maxWindowRows windows and
// maxStepRows steps listed.
const (
	maxSample     = 200
	maxWindowRows = 20
	maxStepRows   = 30
)

// WriteMarkdown writes the job summary: the verdict first, then the figures
// that explain it.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	r.writeVerdict(&b)
	r.writeDeploy(&b)
	r.writeChart(&b)
	r.writeThresholds(&b)
	r.writeWindows(&b)
	r.writeModes(&b)
	r.writeVersions(&b)
	r.writePhases(&b)
	r.writeLatency(&b)
	r.writeTargets(&b)
	r.writeCodes(&b)
	r.writeErrors(&b)
	r.writeGenerator(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) writeVerdict(b *strings.Builder) {
	s := r.Summary
	icon := "✅"
	if !r.Passed() {
		icon = "❌"
	}
	title := "Deploy load check"
	if r.Title != "" {
		title += ": " + r.Title
	}
	fmt.Fprintf(b, "## %s %s — %s\n\n", icon, title, r.Verdict())
	reasons := r.Reasons()
	for _, reason := range reasons {
		fmt.Fprintf(b, "- **%s**\n", escape(reason))
	}
	if len(reasons) > 0 {
		b.WriteString("\n")
	}
	lat := s.Overall.Latency()
	fmt.Fprintf(b, "**%d requests** at %d/%s over %s · error rate **%s** · p95 **%s** · p99 **%s** · longest downtime **%s**\n\n",
		s.Overall.Requests, r.Health.Rate.Freq, r.Health.Rate.Per, dur(s.Elapsed.Round(time.Millisecond)),
		verdict.FormatPercent(s.Overall.ErrorRate()), dur(lat.P95), dur(lat.P99), dur(s.Outage.Longest))
	if warning := r.generatorWarning(); warning != "" {
		fmt.Fprintf(b, "> [!WARNING]\n> %s\n\n", warning)
	}
}

// generatorWarning says when the load did not follow its schedule: a
// generator that fell behind sends fewer requests into an outage and so
// cannot vouch for the deploy.
func (r *Report) generatorWarning() string {
	h := r.Health
	if h.BuildErrors > 0 {
		return fmt.Sprintf("%d requests could not be built and were sent as failures; the first: %s", h.BuildErrors, escape(h.BuildError))
	}
	if h.Planned == 0 || h.Reliable() {
		return ""
	}
	return fmt.Sprintf("The load generator fell behind: it sent %d of %d scheduled requests (%s) and 1%% of requests left more than %s late (send lag p99; the limit is %s). Figures below under-state what real clients would have seen; give the runner more CPU or lower the rate.",
		h.Sent, h.Planned, verdict.FormatPercent(h.Held()), dur(h.LagP99), dur(load.MaxLagP99))
}

func (r *Report) writeDeploy(b *strings.Builder) {
	d := r.Deploy
	if d == nil {
		return
	}
	b.WriteString("### Deploy run\n\n| workflow | run | status | conclusion | dispatched | duration |\n|---|---|---|---|---|---|\n")
	run := "not found"
	if d.RunID != 0 {
		run = fmt.Sprintf("[#%d](%s)", d.RunID, d.URL)
	}
	conclusion := d.Conclusion
	if conclusion == "" {
		conclusion = "—"
	}
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s after the load started | %s |\n\n", escape(d.Workflow), run, escape(d.Status),
		escape(conclusion), clock(d.Dispatched), dur(d.Duration.Round(time.Second)))
	if len(d.Steps) == 0 {
		return
	}
	b.WriteString("<details><summary>Deploy steps on the load's timeline</summary>\n\n| job | step | start | end | conclusion | failed requests |\n|---|---|---|---|---|---|\n")
	for i, st := range d.Steps {
		if i == maxStepRows {
			fmt.Fprintf(b, "\n_%d more steps not listed._\n", len(d.Steps)-maxStepRows)
			break
		}
		end := "—"
		if st.End > 0 {
			end = r.at(st.End)
		}
		failed := "—"
		if st.End == 0 || st.End > st.Start {
			failed = strconv.FormatInt(r.failuresBetween(st.Start, st.End), 10)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", escape(st.Job), escape(st.Name), r.at(st.Start), end, escape(st.Conclusion), failed)
	}
	b.WriteString("\n</details>\n\n")
}

// failuresBetween counts failures in the seconds that overlap start to end;
// GitHub gives step times to the second.
func (r *Report) failuresBetween(start, end time.Duration) int64 {
	if end <= 0 {
		end = r.Summary.Elapsed
	}
	var n int64
	for i, sec := range r.Summary.Seconds {
		at := time.Duration(i) * time.Second
		if at+time.Second > start && at < end {
			n += sec.Failures
		}
	}
	return n
}

func (r *Report) writeThresholds(b *strings.Builder) {
	if len(r.Checks) == 0 {
		b.WriteString("_No thresholds set._\n\n")
		return
	}
	b.WriteString("### Thresholds\n\n| threshold | limit | observed | result |\n|---|---|---|---|\n")
	for _, c := range r.Checks {
		result := "✅ pass"
		if !c.Pass {
			result = "❌ fail"
		}
		fmt.Fprintf(b, "| `%s` (%s) | %s %s | %s | %s |\n", code(checkName(c)), c.Source, c.Op, c.Format(c.Limit), c.Format(c.Observed), result)
	}
	b.WriteString("\n")
}

func (r *Report) writeWindows(b *strings.Builder) {
	s := r.Summary
	if s.Outage.Count == 0 && len(s.Degraded) == 0 {
		return
	}
	b.WriteString("### Disruption\n\n")
	if s.Outage.Count > 0 {
		fmt.Fprintf(b, "%s without a successful response, %s in all; the first failure at %s, the last at %s.\n\n",
			plural(s.Outage.Count, "window"), dur(s.Outage.Total), r.at(s.FirstFailure), r.at(s.LastFailure))
		withSteps := r.Deploy != nil && len(r.Deploy.Steps) > 0
		if withSteps {
			b.WriteString("| start | end | duration | failed requests | failures | status codes | deploy step |\n|---|---|---|---|---|---|---|\n")
		} else {
			b.WriteString("| start | end | duration | failed requests | failures | status codes |\n|---|---|---|---|---|---|\n")
		}
		for _, w := range r.windowRows() {
			end := r.at(w.End)
			if w.Open {
				end += " (load stopped)"
			}
			var classes, codes []string
			for _, c := range w.Classes {
				classes = append(classes, c.String())
			}
			for _, c := range w.Codes {
				codes = append(codes, statusText(c))
			}
			fmt.Fprintf(b, "| %s | %s | %s | %d | %s | %s |", r.at(w.Start), end, dur(w.Duration()), w.Failures,
				strings.Join(classes, ", "), strings.Join(codes, ", "))
			if withSteps {
				fmt.Fprintf(b, " %s |", escape(strings.Join(r.Deploy.stepsAt(w.Start), ", ")))
			}
			b.WriteString("\n")
		}
		if listed := len(r.windowRows()); int64(listed) < s.Outage.Count {
			fmt.Fprintf(b, "\n_The %d longest of %d windows are listed._\n", listed, s.Outage.Count)
		}
		b.WriteString("\n")
	}
	if len(s.Degraded) > 0 {
		b.WriteString("Seconds above the degraded error rate:\n\n| from | to | requests | failed | worst second |\n|---|---|---|---|---|\n")
		for i, d := range s.Degraded {
			if i == maxWindowRows {
				fmt.Fprintf(b, "\n_%d more not listed._\n", len(s.Degraded)-maxWindowRows)
				break
			}
			fmt.Fprintf(b, "| %s | %s | %d | %d | %s |\n", r.at(d.Start), r.at(d.End), d.Requests, d.Failures, verdict.FormatPercent(d.WorstRate))
		}
		b.WriteString("\n")
	}
}

// windowRows returns the longest windows, at most maxWindowRows, in time
// order.
func (r *Report) windowRows() []stats.Window {
	ws := slices.Clone(r.Summary.Outage.List)
	if len(ws) > maxWindowRows {
		slices.SortStableFunc(ws, func(a, b stats.Window) int { return cmp.Compare(b.Duration(), a.Duration()) })
		ws = ws[:maxWindowRows]
		slices.SortFunc(ws, func(a, b stats.Window) int { return cmp.Compare(a.Start, b.Start) })
	}
	return ws
}

func (r *Report) writeModes(b *strings.Builder) {
	modes := r.Summary.Modes
	if len(modes) < 2 || modes[1].Requests == 0 {
		return
	}
	b.WriteString("### Connections\n\nKept-alive connections can hide a server that drains badly: net/http silently resends an idempotent request on a new connection when a reused one was closed. Fresh connections see what a new client sees.\n\n")
	b.WriteString("| connections | requests | errors | error rate | p95 | p99 | longest downtime | silent retries |\n|---|---|---|---|---|---|---|---|\n")
	for _, m := range modes {
		l := m.Latency()
		fmt.Fprintf(b, "| %s | %d | %d | %s | %s | %s | %s | %d |\n", m.Name, m.Requests, m.Failures,
			verdict.FormatPercent(m.ErrorRate()), dur(l.P95), dur(l.P99), dur(m.Down.Longest), m.SilentRetries)
	}
	b.WriteString("\n")
}

func (r *Report) writeVersions(b *strings.Builder) {
	s := r.Summary
	if len(s.Versions) == 0 {
		return
	}
	b.WriteString("### Versions\n\n")
	if old, next, ok := s.CutOver(); ok {
		fmt.Fprintf(b, "`%s` first answered at %s; `%s` last answered at %s", code(next.Name), r.at(next.First), code(old.Name), r.at(old.Last))
		if next.First < old.Last {
			fmt.Fprintf(b, ": both answered for %s.\n\n", dur(old.Last-next.First))
		} else {
			fmt.Fprintf(b, ": no overlap.\n\n")
		}
	}
	b.WriteString("| version | first answer | last answer | answers | failed answers |\n|---|---|---|---|---|\n")
	for _, v := range s.Versions {
		fmt.Fprintf(b, "| `%s` | %s | %s | %d | %d |\n", code(v.Name), r.at(v.First), r.at(v.Last), v.Requests, v.Failures)
	}
	b.WriteString("\n")
}

func (r *Report) writePhases(b *strings.Builder) {
	phases := r.Summary.Phases
	if len(phases) == 0 {
		return
	}
	b.WriteString("### Phases\n\n| phase | span | requests | errors | error rate | p95 | p99 | downtime |\n|---|---|---|---|---|---|---|---|\n")
	for _, p := range phases {
		l := p.Latency()
		fmt.Fprintf(b, "| %s | %s – %s | %d | %d | %s | %s | %s | %s |\n", p.Name, r.at(p.Start), r.at(p.End),
			p.Requests, p.Failures, verdict.FormatPercent(p.ErrorRate()), dur(l.P95), dur(l.P99), dur(p.Downtime))
	}
	b.WriteString("\n")
}

func (r *Report) writeLatency(b *strings.Builder) {
	l := r.Summary.Overall.Latency()
	b.WriteString("### Latency\n\n| p50 | p90 | p95 | p99 | max | mean |\n|---|---|---|---|---|---|\n")
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n\n", dur(l.P50), dur(l.P90), dur(l.P95), dur(l.P99), dur(l.Max), dur(l.Mean))
}

func (r *Report) writeTargets(b *strings.Builder) {
	// Targets with thresholds of their own get a verdict, and the table
	// opens by itself when one of them failed.
	judged := map[string]bool{}
	passed := map[string]bool{}
	open := ""
	for _, c := range r.Checks {
		if c.Target == "" {
			continue
		}
		if !judged[c.Target] {
			judged[c.Target], passed[c.Target] = true, true
		}
		if !c.Pass {
			passed[c.Target], open = false, " open"
		}
	}
	fmt.Fprintf(b, "<details%s><summary>Per target (%d)</summary>\n\n| target | verdict | requests | errors | error rate | p50 | p95 | p99 | max | downtime |\n|---|---|---|---|---|---|---|---|---|---|\n", open, len(r.Summary.Targets))
	for _, t := range r.Summary.Targets {
		l := t.Latency()
		v := "—"
		if judged[t.Name] {
			v = "✅ pass"
			if !passed[t.Name] {
				v = "❌ fail"
			}
		}
		fmt.Fprintf(b, "| `%s` | %s | %d | %d | %s | %s | %s | %s | %s | %s |\n", code(t.Name), v, t.Requests, t.Failures,
			verdict.FormatPercent(t.ErrorRate()), dur(l.P50), dur(l.P95), dur(l.P99), dur(l.Max), dur(t.Down.Longest))
	}
	b.WriteString("\n</details>\n\n")
}

// checkName is a threshold's metric with its target, if any.
func checkName(c verdict.Check) string {
	if c.Target != "" {
		return c.Target + ": " + c.Name()
	}
	return c.Name()
}

func (r *Report) writeCodes(b *strings.Builder) {
	b.WriteString("### Status codes\n\n| status | count |\n|---|---|\n")
	for _, c := range r.Summary.Codes {
		fmt.Fprintf(b, "| %s | %d |\n", statusText(c.Code), c.Count)
	}
	b.WriteString("\n")
}

func (r *Report) writeErrors(b *strings.Builder) {
	if len(r.Summary.Errors) == 0 {
		return
	}
	b.WriteString("### Errors\n\n| class | meaning | count | sample |\n|---|---|---|---|\n")
	for _, e := range r.Summary.Errors {
		fmt.Fprintf(b, "| %s | %s | %d | `%s` |\n", e.Class, e.Class.Meaning(), e.Count, code(sample(e.Sample)))
	}
	b.WriteString("\n")
}

func (r *Report) writeGenerator(b *strings.Builder) {
	h := r.Health
	verdictWord := "kept its schedule"
	if !h.Reliable() {
		verdictWord = "**fell behind**"
	}
	fmt.Fprintf(b, "### Load generator\n\nThe generator %s (it must send %s of its schedule with a send lag p99 under %s).\n\n", verdictWord, verdict.FormatPercent(load.MinHeld), dur(load.MaxLagP99))
	fmt.Fprintf(b, "| rate asked | achieved | scheduled | sent | held | not sent | late (>%s) | send lag p50 | send lag p99 | send lag max |\n|---|---|---|---|---|---|---|---|---|---|\n", dur(load.LateAfter))
	fmt.Fprintf(b, "| %d/%s | %.1f/s | %d | %d | %s | %d | %d | %s | %s | %s |\n\n",
		h.Rate.Freq, h.Rate.Per, h.AchievedRate(), h.Planned, h.Sent, verdict.FormatPercent(h.Held()), h.Unsent(), h.Late, dur(h.LagP50), dur(h.LagP99), dur(h.LagMax))
}

// plural writes a count with its noun: 1 window, 3 windows.
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}

// clock writes a duration as m:ss.s.
func clock(d time.Duration) string {
	d = d.Round(100 * time.Millisecond)
	return fmt.Sprintf("%d:%04.1f", int(d/time.Minute), (d % time.Minute).Seconds())
}

func sample(s string) string {
	if len(s) > maxSample {
		s = s[:maxSample] + "…"
	}
	return s
}

// escape makes text safe inside a Markdown table cell.
func escape(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// code makes text safe inside a code span in a table cell.
func code(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`), "`", "'")
}
