package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/stats"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// Limits that keep the summary far below GitHub's 1 MiB cap whatever the
// run: at most maxSample bytes per error message, maxWindowRows
// disruptions and maxStepRows steps listed.
const (
	maxSample     = 200
	maxWindowRows = 20
	maxStepRows   = 30
)

// WriteMarkdown writes the job summary. The first screen tells the story:
// the verdict, one sentence per finding, the thresholds, and the requests
// chart. Everything else is in collapsed sections, open only when it
// explains a failure.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	if r.Shard != nil {
		r.writeShard(&b)
		r.writeRequestChart(&b, r.timeline())
		r.writeGenerator(&b)
		_, err := io.WriteString(w, b.String())
		return err
	}
	r.writeHeadline(&b)
	r.writeFindings(&b)
	r.writeThresholds(&b)
	r.writeRequestChart(&b, r.timeline())
	r.writeShards(&b)
	r.writeRegression(&b)
	r.writePhases(&b)
	r.writeDisruptions(&b)
	r.writeLatency(&b)
	r.writeTargets(&b)
	r.writeStatuses(&b)
	r.writeConnections(&b)
	r.writeGenerator(&b)
	r.writeDeploySteps(&b)
	r.writeVersions(&b)
	r.writeReplay(&b)
	r.writeCompare(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

var verdictIcons = map[string]string{Pass: "✅", Fail: "❌", Inconclusive: "⚠️", Cancelled: "⏹️", Sharded: "🧩"}

// writeHeadline writes the verdict and, in one line, what was checked.
func (r *Report) writeHeadline(b *strings.Builder) {
	v := r.Verdict()
	fmt.Fprintf(b, "## %s Deploy load check — %s\n\n", verdictIcons[v], v)
	s := r.Summary
	var what string
	if d := r.Deploy; d != nil {
		what = "Deploy of " + escape(d.Workflow)
		if d.RunID != 0 {
			what += fmt.Sprintf(" ([run %d](%s)", d.RunID, d.URL)
			if d.Attempt > 1 {
				what += fmt.Sprintf(" attempt %d", d.Attempt)
			}
			if d.Job != "" {
				what += fmt.Sprintf(", job %q", d.Job)
			}
			switch {
			case d.Conclusion != "":
				what += fmt.Sprintf(": %s in %s)", d.Conclusion, span(d.Duration))
			default:
				what += ": " + or(d.Status, "not found") + ")"
			}
		}
		what += ", under "
	} else {
		what = "PR check: "
	}
	fmt.Fprintf(b, "%s%s on %s for %s · %s · %s.\n\n", what, r.loadText(), plural(int64(max(1, len(s.Targets))), "endpoint"),
		span(s.Elapsed), plural(s.Overall.Requests, "request")+", "+count(s.Overall.Failures)+" failed", r.origin())
}

// writeFindings tells what happened, one sentence each: the disruptions,
// then whatever else kept the check from passing.
func (r *Report) writeFindings(b *strings.Builder) {
	told, left := r.told()
	var lines []string
	for _, f := range told {
		lines = append(lines, r.sentence(f)+".")
	}
	if left > 0 {
		lines = append(lines, fmt.Sprintf("_and %s, listed under Disruptions._", plural(int64(left), "shorter disruption")))
	}
	for _, reason := range r.Reasons() {
		if r.tellsFinding(reason) {
			continue
		}
		lines = append(lines, "**"+escape(reason)+"**.")
	}
	if len(lines) == 0 {
		lines = append(lines, "No endpoint went down: every endpoint answered throughout.")
	}
	for _, line := range lines {
		fmt.Fprintf(b, "- %s\n", line)
	}
	b.WriteString("\n")
	if notes := r.deployNotes(); len(notes) > 0 {
		fmt.Fprintf(b, "> [!NOTE]\n> %s\n\n", strings.Join(notes, "\n> "))
	}
	if r.shortfall() || r.Health.BuildErrors > 0 {
		fmt.Fprintf(b, "> [!WARNING]\n> The load generator cannot vouch for these figures: %s. Give the runner more CPU or lower the rate.\n\n", escape(r.Health.Problem()))
	}
}

// deployNotes are what the reader should know of how the deploy run was
// found and followed.
func (r *Report) deployNotes() []string {
	d := r.Deploy
	if d == nil {
		return nil
	}
	var notes []string
	if d.ByElimination {
		notes = append(notes, "The deploy run was told apart only by being the lone new run after the dispatch. A run someone else dispatched at the same moment would have been refused, but only a correlation ID makes it certain: set input correlation-input to a workflow input that the workflow repeats in its run-name.")
	}
	if d.RateLimitWaits > 0 {
		notes = append(notes, fmt.Sprintf("GitHub's rate limits made the check wait %s, %s in all.", plural(int64(d.RateLimitWaits), "time"), span(d.RateLimitWaited)))
	}
	return notes
}

// tellsFinding reports whether a reason only repeats a finding told above.
func (r *Report) tellsFinding(reason string) bool {
	told, _ := r.told()
	for _, f := range told {
		if strings.HasPrefix(reason, r.sentence(f)) {
			return true
		}
	}
	return false
}

// writeThresholds lists every threshold as k6 does: ✓ or ✗, the
// expression, where it came from, and what was observed.
func (r *Report) writeThresholds(b *strings.Builder) {
	mismatch, judged := r.mismatchCheck()
	if len(r.Checks) == 0 && !judged {
		b.WriteString("_No thresholds set._\n\n")
		return
	}
	b.WriteString("**Thresholds**\n\n")
	for _, c := range r.Checks {
		mark := "✓"
		if !c.Pass {
			mark = "✗"
		}
		observed := r.value(c, c.Observed)
		if c.Window > 0 && !math.IsNaN(c.Observed) {
			observed += fmt.Sprintf(" in the worst %s window, from %s", span(c.Window), r.at(c.WindowStart))
		}
		if c.Metric == verdict.Downtime && c.Target == "" && len(r.Summary.Targets) > 1 {
			if f, ok := r.worstFinding(""); ok {
				observed += ", " + escape(r.what(f))
			}
		}
		fmt.Fprintf(b, "- %s `%s` (%s): %s\n", mark, code(c.String()), c.Source, observed)
	}
	b.WriteString(mismatch)
	b.WriteString("\n")
}

// details opens a collapsed section; open shows it expanded.
func details(b *strings.Builder, summary string, open bool) {
	attr := ""
	if open {
		attr = " open"
	}
	fmt.Fprintf(b, "<details%s><summary>%s</summary>\n\n", attr, summary)
}

func endDetails(b *strings.Builder) { b.WriteString("</details>\n\n") }

func (r *Report) writePhases(b *strings.Builder) {
	phases := r.Summary.Phases
	if len(phases) == 0 {
		return
	}
	var slowest time.Duration
	for _, p := range phases {
		slowest = max(slowest, p.Latency().P99)
	}
	u := unitFor(slowest)
	details(b, "Phases: "+phaseNames(phases), false)
	fmt.Fprintf(b, "| phase | from | to | requests | failed | error rate | p50 (%[1]s) | p95 (%[1]s) | p99 (%[1]s) | longest downtime |\n|---|---|---|---|---|---|---|---|---|---|\n", u.name())
	for _, p := range phases {
		l := p.Latency()
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p.Name, r.at(p.Start), r.at(p.End),
			count(p.Requests), count(p.Failures), percent(p.ErrorRate()), u.format(l.P50), u.format(l.P95), u.format(l.P99), span(p.Downtime))
	}
	b.WriteString("\n")
	endDetails(b)
}

func phaseNames(phases []stats.PhaseSummary) string {
	names := make([]string, len(phases))
	for i, p := range phases {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func (r *Report) writeDisruptions(b *strings.Builder) {
	all := r.findings()
	if len(all) == 0 {
		return
	}
	details(b, fmt.Sprintf("Disruptions (%d)", len(all)), false)
	b.WriteString("| endpoints | from | to | lasted | failed requests | how | deploy step | recovered |\n|---|---|---|---|---|---|---|---|\n")
	rows := all
	if len(rows) > maxWindowRows {
		rows = rows[:0:0]
		told, _ := r.told()
		rows = append(rows, told...)
		for _, f := range all {
			if len(rows) == maxWindowRows {
				break
			}
			if !containsFinding(rows, f) {
				rows = append(rows, f)
			}
		}
		sortFindings(rows)
	}
	for _, f := range rows {
		recovered := "yes"
		if f.Open {
			recovered = "**no**"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", escape(r.what(f)), r.at(f.Start), r.at(f.End), span(f.Duration()),
			count(f.Failures), escape(failureVerb(f.Classes, f.Codes)), escape(or(strings.Join(f.Steps, ", "), "—")), recovered)
	}
	if len(rows) < len(all) {
		fmt.Fprintf(b, "\n_%d of %d disruptions listed: the longest, then the earliest._\n", len(rows), len(all))
	}
	if s := r.Summary; len(s.Targets) > 1 {
		if s.Outage.Count == 0 {
			b.WriteString("\nThe whole API was never down: some endpoint answered throughout.\n")
		} else {
			fmt.Fprintf(b, "\nThe whole API was down (every endpoint failing, none answering) for %s at the longest.\n", span(s.Outage.Longest))
		}
	}
	b.WriteString("\n")
	endDetails(b)
}

func containsFinding(list []Finding, f Finding) bool {
	for _, g := range list {
		if g.Start == f.Start && g.End == f.End {
			return true
		}
	}
	return false
}

func sortFindings(list []Finding) {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].Start < list[j-1].Start; j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

func (r *Report) writeLatency(b *strings.Builder) {
	l := r.Summary.Overall.Latency()
	details(b, fmt.Sprintf("Latency: p95 %s, p99 %s", latency(l.P95), latency(l.P99)), false)
	r.writeLatencyChart(b, r.timeline())
	u := unitFor(l.Max)
	fmt.Fprintf(b, "All requests, failed ones included, in %[1]s:\n\n| p50 | p90 | p95 | p99 | max | mean |\n|---|---|---|---|---|---|\n", u.name())
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n\n", u.format(l.P50), u.format(l.P90), u.format(l.P95), u.format(l.P99), u.format(l.Max), u.format(l.Mean))
	endDetails(b)
}

func (r *Report) writeTargets(b *strings.Builder) {
	s := r.Summary
	if len(s.Targets) == 0 {
		return
	}
	// Targets with thresholds of their own get a verdict column, and the
	// section opens by itself when one of them failed.
	judged, passed, open := map[string]bool{}, map[string]bool{}, false
	for _, c := range r.Checks {
		if c.Target == "" {
			continue
		}
		if !judged[c.Target] {
			judged[c.Target], passed[c.Target] = true, true
		}
		if !c.Pass {
			passed[c.Target], open = false, true
		}
	}
	var slowest time.Duration
	for _, t := range s.Targets {
		slowest = max(slowest, t.Latency().P99)
	}
	u := unitFor(slowest)
	details(b, fmt.Sprintf("Per endpoint (%d)", len(s.Targets)), open)
	header := fmt.Sprintf("| endpoint | requests | failed | error rate | p50 (%[1]s) | p95 (%[1]s) | p99 (%[1]s) | longest downtime |", u.name())
	rule := "|---|---|---|---|---|---|---|---|"
	if len(judged) > 0 {
		header += " thresholds |"
		rule += "---|"
	}
	b.WriteString(header + "\n" + rule + "\n")
	for _, t := range s.Targets {
		l := t.Latency()
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s | %s | %s |", code(t.Name), count(t.Requests), count(t.Failures),
			percent(t.ErrorRate()), u.format(l.P50), u.format(l.P95), u.format(l.P99), span(t.Down.Longest))
		if len(judged) > 0 {
			switch {
			case !judged[t.Name]:
				b.WriteString(" |")
			case passed[t.Name]:
				b.WriteString(" ✓ |")
			default:
				b.WriteString(" ✗ |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	endDetails(b)
}

func (r *Report) writeStatuses(b *strings.Builder) {
	s := r.Summary
	details(b, fmt.Sprintf("Status codes and errors: %s failed", percent(s.Overall.ErrorRate())), false)
	b.WriteString("| status | requests |\n|---|---|\n")
	for _, c := range statusOrder(s.Codes) {
		name := statusMeaning(c.Code)
		if c.Code >= 200 && c.Code < 400 {
			name = fmt.Sprintf("%d", c.Code)
		}
		fmt.Fprintf(b, "| %s | %s |\n", name, count(c.Count))
	}
	b.WriteString("\n")
	if len(s.Errors) > 0 {
		b.WriteString("| failure | requests | sample |\n|---|---|---|\n")
		for _, e := range s.Errors {
			fmt.Fprintf(b, "| %s | %s | `%s` |\n", classMeaning(e.Class), count(e.Count), code(sample(e.Sample)))
		}
		b.WriteString("\n")
	}
	endDetails(b)
}

// statusOrder lists the answers first and "no answer" last.
func statusOrder(codes []stats.CodeCount) []stats.CodeCount {
	var out, none []stats.CodeCount
	for _, c := range codes {
		if c.Code == 0 {
			none = append(none, c)
		} else {
			out = append(out, c)
		}
	}
	return append(out, none...)
}

// writeConnections compares kept-alive and fresh connections; it opens
// when they disagree, which is what a server that drains badly looks like.
func (r *Report) writeConnections(b *strings.Builder) {
	modes := r.Summary.Modes
	if len(modes) < 2 || modes[1].Requests == 0 {
		return
	}
	keep, fresh := modes[0], modes[1]
	differ := keep.Down.Longest != fresh.Down.Longest && (keep.Failures == 0) != (fresh.Failures == 0) || keep.SilentRetries > 0
	summary := "Connections: kept-alive and fresh clients saw the same"
	if differ {
		summary = "Connections: kept-alive and fresh clients saw different things"
	}
	details(b, summary, differ && !r.Passed())
	b.WriteString("A deploy that drains badly shows only on new connections: clients that reuse a connection retry an idempotent request on a new one without a word when the server closed theirs. A share of the requests goes each on a new connection to see what a new client sees.\n\n")
	b.WriteString("| connections | requests | failed | error rate | longest downtime | silent retries |\n|---|---|---|---|---|---|\n")
	for _, m := range modes {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", m.Name, count(m.Requests), count(m.Failures),
			percent(m.ErrorRate()), span(m.Down.Longest), count(m.SilentRetries))
	}
	b.WriteString("\n")
	endDetails(b)
}

func (r *Report) writeGenerator(b *strings.Builder) {
	h := r.Health
	if problem := h.Problem(); problem != "" {
		details(b, "Load generator: <b>could not vouch for the figures</b>", true)
		fmt.Fprintf(b, "%s.\n\n", escape(problem))
	} else {
		details(b, "Load generator: kept its schedule", false)
	}
	fmt.Fprintf(b, "It sent %s of the %s requests its schedule asked for (%s held, %s achieved against %s asked); send lag p50 %s, p99 %s, max %s; %s left over %s late. It vouches for its figures when it holds %s of its schedule with a send lag p99 under %s.\n\n",
		count(int64(h.Sent)), count(int64(h.Planned)), percent(h.Held()), perSecond(h.AchievedRate()), rateText(h.Rate),
		latency(h.LagP50), latency(h.LagP99), latency(h.LagMax), plural(int64(h.Late), "request"), latency(load.LateAfter),
		percent(load.MinHeld), latency(load.MaxLagP99))
	endDetails(b)
}

func (r *Report) writeDeploySteps(b *strings.Builder) {
	d := r.Deploy
	if d == nil || len(d.Steps) == 0 {
		return
	}
	details(b, fmt.Sprintf("Deploy run: %s on the load's timeline", plural(int64(len(d.Steps)), "step")), false)
	b.WriteString("| job | step | from | to | conclusion | failed requests |\n|---|---|---|---|---|---|\n")
	for i, st := range d.Steps {
		if i == maxStepRows {
			fmt.Fprintf(b, "\n_%d more steps not listed._\n", len(d.Steps)-maxStepRows)
			break
		}
		end := "—"
		if st.End > 0 {
			end = r.at(st.End)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", escape(st.Job), escape(st.Name), r.at(st.Start), end,
			escape(or(st.Conclusion, "—")), count(r.failuresBetween(st.Start, st.End)))
	}
	b.WriteString("\n")
	endDetails(b)
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
		if at+time.Second > start && at <= end {
			n += sec.Failures
		}
	}
	return n
}

func (r *Report) writeVersions(b *strings.Builder) {
	s := r.Summary
	if len(s.Versions) == 0 {
		return
	}
	summary := "Versions: " + code(s.Versions[0].Name) + " answered throughout"
	old, next, ok := s.CutOver()
	if ok {
		overlap := "no overlap"
		if next.First < old.Last {
			overlap = "both answered for " + span(old.Last-next.First)
		}
		summary = fmt.Sprintf("Versions: %s first answered at %s, %s last at %s; %s", code(next.Name), r.at(next.First), code(old.Name), r.at(old.Last), overlap)
	}
	details(b, summary, false)
	b.WriteString("| version | first answer | last answer | answers | failed |\n|---|---|---|---|---|\n")
	for _, v := range s.Versions {
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", code(v.Name), r.at(v.First), r.at(v.Last), count(v.Requests), count(v.Failures))
	}
	b.WriteString("\n")
	endDetails(b)
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
