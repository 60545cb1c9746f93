package report

import (
	"fmt"
	"io"
	"math"
	"slices"
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
// the verdict, one sentence per finding, a merge's shards, the thresholds,
// and the requests chart. Everything else is in collapsed sections, open
// only when it explains a failure. A shard's job writes a short summary
// of its own share.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	if r.Shard != nil {
		r.writeShard(&b)
		r.writeRequestChart(&b, r.timeline())
		r.writeGenerator(&b, r.Health.Problem() != "")
		_, err := io.WriteString(w, b.String())
		return err
	}
	r.writeHeadline(&b)
	r.writeFindings(&b)
	r.writeShards(&b)
	r.writeThresholds(&b)
	// The section that explains the first finding comes first, open; the
	// rest follow collapsed, so the open part fits one screen.
	lead := r.lead()
	r.writeSection(&b, lead, true)
	for s := range numSections {
		if s != lead {
			r.writeSection(&b, s, false)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// section is one part of the summary below the thresholds, in the order
// they are written.
type section int

const (
	requestsSection section = iota
	shardsSection
	regressionSection
	phasesSection
	disruptionsSection
	latencySection
	targetsSection
	statusesSection
	connectionsSection
	generatorSection
	deployStepsSection
	versionsSection
	replaySection
	compareSection
	cutOverSection
	numSections
	// noSection is the lead when what explains the first finding is
	// already open above the sections: the shards' table.
	noSection = numSections
)

// writeSection writes one section, open or collapsed; a section with
// nothing to show writes nothing.
func (r *Report) writeSection(b *strings.Builder, s section, open bool) {
	switch s {
	case requestsSection:
		r.writeRequests(b, open)
	case shardsSection:
		r.writeShardDetails(b, open)
	case regressionSection:
		r.writeRegression(b, open)
	case phasesSection:
		r.writePhases(b, open)
	case disruptionsSection:
		r.writeDisruptions(b, open)
	case latencySection:
		r.writeLatency(b, open)
	case targetsSection:
		r.writeTargets(b, open)
	case statusesSection:
		r.writeStatuses(b, open)
	case connectionsSection:
		r.writeConnections(b, open)
	case generatorSection:
		r.writeGenerator(b, open)
	case deployStepsSection:
		r.writeDeploySteps(b, open)
	case versionsSection:
		r.writeVersions(b, open)
	case replaySection:
		r.writeReplay(b, open)
	case compareSection:
		r.writeBaselineCompare(b, open)
	case cutOverSection:
		r.writeCutOverCompare(b, open)
	}
}

// lead is the section that explains the first finding: the requests chart
// for a disruption, errors, a deploy that failed or a check that did not
// finish; the latency, the per-endpoint figures, the comparison with the
// head, the load generator or the answers compared when one of them is
// what failed first. A pass shows the requests chart; a shard that fell
// behind, none: the shards' table above the thresholds explains it.
func (r *Report) lead() section {
	if r.Passed() || r.Cancelled || r.Deploy.Failed() || r.Inconclusive != "" || len(r.findings()) > 0 {
		return requestsSection
	}
	var first *verdict.Check
	for i, c := range r.Checks {
		if !c.Pass && (first == nil || c.Metric == verdict.Downtime && first.Metric != verdict.Downtime) {
			first = &r.Checks[i]
		}
	}
	switch {
	case first != nil && !latencyMetric(first.Metric):
		return requestsSection
	case first != nil && (first.Target != "" || first.Group != ""):
		return targetsSection
	case first != nil:
		return latencySection
	case len(r.regressionReasons()) > 0:
		return regressionSection
	case len(r.shardReasons()) > 0:
		return noSection
	case r.shortfall():
		return generatorSection
	case r.mismatchFailed():
		return compareSection
	}
	return requestsSection
}

// latencyMetric reports whether a metric is a latency.
func latencyMetric(m verdict.Metric) bool {
	switch m {
	case verdict.Quantile, verdict.Mean, verdict.Median, verdict.Max, verdict.Min:
		return true
	}
	return false
}

// writeRequests writes the requests chart: bare on the first screen, or
// collapsed when something else explains the first finding.
func (r *Report) writeRequests(b *strings.Builder, open bool) {
	if open {
		r.writeRequestChart(b, r.timeline())
		return
	}
	s := r.Summary
	details(b, fmt.Sprintf("Requests each second: %s sent, %s failed", count(s.Overall.Requests), count(s.Overall.Failures)), false)
	r.writeRequestChart(b, r.timeline())
	endDetails(b)
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
	load := r.loadText()
	if len(r.Shards) > 0 {
		load += fmt.Sprintf(" split over %d shards", len(r.Shards))
	}
	fmt.Fprintf(b, "%s%s on %s for %s · %s · %s.\n\n", what, load, plural(int64(max(1, len(s.Targets))), "endpoint"),
		span(s.Elapsed), plural(s.Overall.Requests, "request")+", "+count(s.Overall.Failures)+" failed", r.origin())
}

// writeFindings tells what happened, one sentence each: the disruptions,
// then whatever else kept the check from passing.
func (r *Report) writeFindings(b *strings.Builder) {
	told, left := r.told()
	var lines []string
	for _, f := range told {
		lines = append(lines, r.markdownSentence(f)+".")
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
	if h := r.Health; r.shortfall() || h.BuildErrors > 0 {
		fmt.Fprintf(b, "> [!WARNING]\n> The load generator cannot vouch for these figures: %s.%s\n\n", escape(h.Problem()), generatorAdvice(h))
	}
}

// generatorAdvice says what to do about each reason the load generator
// could not vouch for its figures.
func generatorAdvice(h load.Health) string {
	var advice string
	if h.BuildErrors > 0 {
		advice += " Fix the target or the template the error names: every request that could not be built counts as a failure."
	}
	if h.FellBehind() {
		advice += " Give the runner more CPU or lower the rate."
	}
	return advice
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
			observed += " " + r.windowText(c)
		}
		if c.Metric == verdict.Downtime && c.Target == "" && len(r.Summary.Targets) > 1 {
			if f, ok := r.worstFinding(""); ok {
				observed += ", " + r.whatMarkdown(f)
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

func (r *Report) writePhases(b *strings.Builder, open bool) {
	phases := r.Summary.Phases
	if len(phases) == 0 {
		return
	}
	var slowest, longest time.Duration
	for _, p := range phases {
		slowest = max(slowest, p.SucceededLatency().P99)
		longest = max(longest, p.Downtime)
	}
	u, d := unitFor(slowest), spanUnitFor(longest)
	details(b, "Phases: "+phaseNames(phases), open)
	fmt.Fprintf(b, "%s\n\n| phase | from | to | requests | failed | error rate | p50 (%[2]s) | p95 (%[2]s) | p99 (%[2]s) | longest downtime (%[3]s) |\n|---|---|---|---|---|---|---|---|---|---|\n",
		succeededCaption, u.name(), d.name())
	for _, p := range phases {
		p50, p95, p99 := succeededCells(u, p.Aggregate)
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p.Name, r.at(p.Start), r.at(p.End),
			count(p.Requests), count(p.Failures), percent(p.ErrorRate()), p50, p95, p99, d.format(p.Downtime))
	}
	b.WriteString("\n")
	endDetails(b)
}

// succeededCaption says what the latency columns of the phases and the
// endpoints count.
const succeededCaption = "_Latency columns: successful requests only (k6's `expected_response:true`), — where none succeeded._"

// succeededCells writes the p50, p95 and p99 of an aggregate's successful
// requests in the table's unit, — when none succeeded.
func succeededCells(u latencyUnit, a *stats.Aggregate) (p50, p95, p99 string) {
	if a.Successes() == 0 {
		return "—", "—", "—"
	}
	l := a.SucceededLatency()
	return u.format(l.P50), u.format(l.P95), u.format(l.P99)
}

func phaseNames(phases []stats.PhaseSummary) string {
	names := make([]string, len(phases))
	for i, p := range phases {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

func (r *Report) writeDisruptions(b *strings.Builder, open bool) {
	all := r.findings()
	if len(all) == 0 {
		return
	}
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
		inTimeOrder(rows)
	}
	var longest time.Duration
	for _, f := range rows {
		longest = max(longest, f.Duration())
	}
	d := spanUnitFor(longest)
	details(b, fmt.Sprintf("Disruptions (%d)", len(all)), open)
	fmt.Fprintf(b, "From and to are those of the longest window of one endpoint in each disruption, the span max-downtime judges.\n\n| endpoints | from | to | lasted (%s) | failed requests | how | deploy step | recovered |\n|---|---|---|---|---|---|---|---|\n", d.name())
	for _, f := range rows {
		recovered := "yes"
		if f.Open {
			recovered = "**no**"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.whatMarkdown(f), r.at(f.Start), r.at(f.End), d.format(f.Duration()),
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
	return slices.ContainsFunc(list, func(g Finding) bool { return g.first == f.first && g.last == f.last })
}

func (r *Report) writeLatency(b *strings.Builder, open bool) {
	l := r.Summary.Overall.Latency()
	title := fmt.Sprintf("Latency: p95 %s, p99 %s", latency(l.P95), latency(l.P99))
	if r.latencyFailed() {
		title = fmt.Sprintf("Latency: <b>p95 %s, p99 %s</b>", latency(l.P95), latency(l.P99))
	}
	details(b, title, open)
	r.writeLatencyChart(b, r.timeline())
	u := unitFor(l.Max)
	fmt.Fprintf(b, "All requests, failed ones included, as the thresholds judge them, in %[1]s:\n\n| p50 | p90 | p95 | p99 | max | mean |\n|---|---|---|---|---|---|\n", u.name())
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n\n", u.format(l.P50), u.format(l.P90), u.format(l.P95), u.format(l.P99), u.format(l.Max), u.format(l.Mean))
	endDetails(b)
}

// latencyFailed reports whether a latency threshold failed.
func (r *Report) latencyFailed() bool {
	return slices.ContainsFunc(r.Checks, func(c verdict.Check) bool { return !c.Pass && latencyMetric(c.Metric) })
}

func (r *Report) writeTargets(b *strings.Builder, open bool) {
	s := r.Summary
	if len(s.Targets) == 0 {
		return
	}
	// Targets with thresholds of their own get a verdict column.
	judged, passed := map[string]bool{}, map[string]bool{}
	for _, c := range r.Checks {
		if c.Target == "" {
			continue
		}
		if !judged[c.Target] {
			judged[c.Target], passed[c.Target] = true, true
		}
		if !c.Pass {
			passed[c.Target] = false
		}
	}
	var slowest, longest time.Duration
	for _, t := range s.Targets {
		slowest = max(slowest, t.SucceededLatency().P99)
		longest = max(longest, t.Down.Longest)
	}
	u, d := unitFor(slowest), spanUnitFor(longest)
	title := fmt.Sprintf("Per endpoint (%d)", len(s.Targets))
	if slices.ContainsFunc(s.Targets, func(t stats.TargetSummary) bool { return judged[t.Name] && !passed[t.Name] }) {
		title = fmt.Sprintf("Per endpoint (%d): <b>a threshold of an endpoint failed</b>", len(s.Targets))
	}
	details(b, title, open)
	header := fmt.Sprintf("| endpoint | requests | failed | error rate | p50 (%[1]s) | p95 (%[1]s) | p99 (%[1]s) | longest downtime (%[2]s) |", u.name(), d.name())
	rule := "|---|---|---|---|---|---|---|---|"
	if len(judged) > 0 {
		header += " thresholds |"
		rule += "---|"
	}
	b.WriteString(succeededCaption + "\n\n" + header + "\n" + rule + "\n")
	for _, t := range s.Targets {
		p50, p95, p99 := succeededCells(u, t.Aggregate)
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s | %s | %s |", code(t.Name), count(t.Requests), count(t.Failures),
			percent(t.ErrorRate()), p50, p95, p99, d.format(t.Down.Longest))
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

func (r *Report) writeStatuses(b *strings.Builder, open bool) {
	s := r.Summary
	details(b, fmt.Sprintf("Status codes and errors: %s failed", percent(s.Overall.ErrorRate())), open)
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
			fmt.Fprintf(b, "| %s | %s | `%s` |\n", classMeaning(e.Class, s.Codes), count(e.Count), code(sample(e.Sample)))
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

// writeConnections compares kept-alive and fresh connections endpoint by
// endpoint; its title says when they disagree, which is what a server that
// drains badly looks like. An endpoint that fails on both kinds alike is
// down, not draining badly, and does not count.
func (r *Report) writeConnections(b *strings.Builder, open bool) {
	s := r.Summary
	modes := s.Modes
	if len(modes) < 2 || modes[1].Requests == 0 {
		return
	}
	differences := r.connectionDifferences()
	summary := "Connections: kept-alive and fresh clients saw the same"
	if len(differences) > 0 {
		summary = "Connections: <b>kept-alive and fresh clients saw different things</b>"
	}
	longest := max(modes[0].Down.Longest, modes[1].Down.Longest)
	d := spanUnitFor(longest)
	details(b, summary, open)
	b.WriteString("A deploy that drains badly shows only on new connections: clients that reuse a connection retry an idempotent request on a new one without a word when the server closed theirs. A share of each endpoint's requests goes each on a new connection to see what a new client sees; the two kinds are compared endpoint by endpoint.\n\n")
	for _, line := range differences {
		fmt.Fprintf(b, "- %s\n", line)
	}
	if len(differences) > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "Longest downtime is the longest one endpoint's requests on such connections got no successful answer.\n\n| endpoint | connections | requests | failed | error rate | longest downtime (%s) | silent retries |\n|---|---|---|---|---|---|---|\n", d.name())
	if len(s.Targets) != 1 {
		every := "all endpoints"
		if len(s.Targets) > 1 {
			every = fmt.Sprintf("all %d endpoints", len(s.Targets))
		}
		for _, m := range modes {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", every, m.Name, count(m.Requests), count(m.Failures),
				percent(m.ErrorRate()), d.format(m.Down.Longest), count(m.SilentRetries))
		}
	}
	for _, t := range s.Targets {
		for i, m := range t.Modes {
			fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s | %s |\n", code(t.Name), stats.ModeNames[i], count(m.Requests), count(m.Failures),
				percent(m.ErrorRate()), d.format(m.Down.Longest), count(m.SilentRetries))
		}
	}
	b.WriteString("\n")
	endDetails(b)
}

// connectionConfidence is the confidence at which kept-alive and fresh
// connections are told apart, over every endpoint compared together.
const connectionConfidence = 0.99

// connectionDifferences says, one line each, where kept-alive and fresh
// clients saw different things: silent retries on kept-alive connections,
// and each endpoint whose error rate on one kind of connection was
// significantly above the other's, by Fisher's exact test or the pooled
// z-test, each direction of each endpoint at a share of the 1% left
// (Bonferroni), so that an endpoint that fails now and then, on either
// kind, is not called different by chance.
func (r *Report) connectionDifferences() []string {
	s := r.Summary
	var out []string
	if retries := s.Modes[0].SilentRetries; retries > 0 {
		var where []string
		for _, t := range s.Targets {
			if t.Modes[0].SilentRetries > 0 {
				where = append(where, "`"+code(t.Name)+"`")
			}
		}
		were := "were"
		if retries == 1 {
			were = "was"
		}
		line := fmt.Sprintf("%s on kept-alive connections %s sent again on a new one without a word, after the server closed theirs", plural(retries, "request"), were)
		if len(where) > 0 {
			line += ": " + andList(where)
		}
		out = append(out, line+".")
	}
	var compared []stats.TargetSummary
	for _, t := range s.Targets {
		if t.Modes[0].Requests > 0 && t.Modes[1].Requests > 0 {
			compared = append(compared, t)
		}
	}
	if len(compared) == 0 {
		return out
	}
	test, err := verdict.NewBaseline(verdict.WithMinRequests(2),
		verdict.WithConfidence(1-(1-connectionConfidence)/float64(2*len(compared))))
	if err != nil {
		return out
	}
	for _, t := range compared {
		keep := verdict.Sample{Name: "kept-alive", Requests: t.Modes[0].Requests, Failures: t.Modes[0].Failures}
		fresh := verdict.Sample{Name: "fresh", Requests: t.Modes[1].Requests, Failures: t.Modes[1].Failures}
		for _, shift := range []verdict.ErrorShift{test.Errors(keep, fresh), test.Errors(fresh, keep)} {
			if shift.Decision != verdict.Regression {
				continue
			}
			out = append(out, fmt.Sprintf("`%s`: %s connections failed %s of %s, %s ones %s of %s (%s, %s).",
				code(t.Name), shift.Candidate, percent(shift.CandidateRate), plural(shift.CandidateRequests, "request"),
				shift.Baseline, percent(shift.BaselineRate), count(shift.BaselineRequests), shift.Test, pValue(shift.PValue)))
		}
	}
	return out
}

func (r *Report) writeGenerator(b *strings.Builder, open bool) {
	h := r.Health
	if problem := h.Problem(); problem != "" {
		details(b, "Load generator: <b>could not vouch for the figures</b>", open)
		fmt.Fprintf(b, "%s.\n\n", escape(problem))
	} else {
		details(b, "Load generator: kept its schedule", open)
	}
	fmt.Fprintf(b, "It sent %s of the %s requests its schedule asked for (%s held, %s achieved against %s asked); send lag p50 %s, p99 %s, max %s; %s left over %s late. It vouches for its figures when it holds %s of its schedule with a send lag p99 under %s.\n\n",
		count(int64(h.Sent)), count(int64(h.Planned)), percent(h.Held()), perSecond(h.AchievedRate()), rateText(h.Rate),
		latency(h.LagP50), latency(h.LagP99), latency(h.LagMax), plural(int64(h.Late), "request"), latency(load.LateAfter),
		percent(load.MinHeld), latency(load.MaxLagP99))
	endDetails(b)
}

func (r *Report) writeDeploySteps(b *strings.Builder, open bool) {
	d := r.Deploy
	if d == nil || len(d.Steps) == 0 {
		return
	}
	details(b, fmt.Sprintf("Deploy run: %s on the load's timeline", plural(int64(len(d.Steps)), "step")), open)
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

func (r *Report) writeVersions(b *strings.Builder, open bool) {
	s := r.Summary
	if len(s.Versions) == 0 {
		return
	}
	summary := "Versions: " + htmlCode(s.Versions[0].Name) + " answered throughout"
	old, next, ok := s.CutOver()
	if ok {
		overlap := "no overlap"
		if next.First < old.Last {
			overlap = "both answered for " + span(old.Last-next.First)
		}
		summary = fmt.Sprintf("Versions: %s first answered at %s, %s last at %s; %s", htmlCode(next.Name), r.at(next.First), htmlCode(old.Name), r.at(old.Last), overlap)
	}
	details(b, summary, open)
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
