package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/load"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// maxSample bounds a sample error message in the summary.
const maxSample = 200

// WriteMarkdown writes the job summary: the verdict first, then the figures
// that explain it.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	r.writeVerdict(&b)
	r.writeDeploy(&b)
	r.writeThresholds(&b)
	r.writeLatency(&b)
	r.writePhases(&b)
	r.writeTargets(&b)
	r.writeWindows(&b)
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
	for _, reason := range r.Reasons() {
		fmt.Fprintf(b, "- **%s**\n", escape(reason))
	}
	if len(r.Reasons()) > 0 {
		b.WriteString("\n")
	}
	lat := s.Overall.Latency()
	fmt.Fprintf(b, "**%d requests** at %d/%s over %s · error rate **%s** · p95 **%s** · p99 **%s** · longest downtime **%s**\n\n",
		s.Overall.Requests, r.Health.Rate.Freq, r.Health.Rate.Per, dur(s.Elapsed.Round(time.Millisecond)),
		verdict.FormatPercent(s.Overall.ErrorRate()), dur(lat.P95), dur(lat.P99), dur(s.LongestDowntime))
	if warning := r.generatorWarning(); warning != "" {
		fmt.Fprintf(b, "> [!WARNING]\n> %s\n\n", warning)
	}
}

// generatorWarning says when the load did not follow its schedule: a
// generator that fell behind sends fewer requests into an outage and so
// cannot vouch for the deploy.
func (r *Report) generatorWarning() string {
	h := r.Health
	if h.Planned == 0 || (h.Held() >= 0.99 && h.LagP99 <= 100*time.Millisecond) {
		return ""
	}
	return fmt.Sprintf("The load generator fell behind: it sent %d of %d scheduled requests (%s) and requests left up to %s late (p99). Figures below under-state what a real client would have seen.",
		h.Sent, h.Planned, verdict.FormatPercent(h.Held()), dur(h.LagP99))
}

func (r *Report) writeDeploy(b *strings.Builder) {
	d := r.Deploy
	if d == nil {
		return
	}
	b.WriteString("### Deploy run\n\n| workflow | run | status | conclusion | duration |\n|---|---|---|---|---|\n")
	run := "not found"
	if d.RunID != 0 {
		run = fmt.Sprintf("[#%d](%s)", d.RunID, d.URL)
	}
	conclusion := d.Conclusion
	if conclusion == "" {
		conclusion = "—"
	}
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n\n", escape(d.Workflow), run, escape(d.Status), escape(conclusion), dur(d.Duration.Round(time.Second)))
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
		fmt.Fprintf(b, "| `%s` (%s) | %s %s | %s | %s |\n", c.Name(), c.Source, escape(string(c.Op)), c.Format(c.Limit), c.Format(c.Observed), result)
	}
	b.WriteString("\n")
}

func (r *Report) writeLatency(b *strings.Builder) {
	l := r.Summary.Overall.Latency()
	b.WriteString("### Latency\n\n| p50 | p90 | p95 | p99 | max | mean |\n|---|---|---|---|---|---|\n")
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n\n", dur(l.P50), dur(l.P90), dur(l.P95), dur(l.P99), dur(l.Max), dur(l.Mean))
}

func (r *Report) writePhases(b *strings.Builder) {
	phases := r.Summary.Phases
	if len(phases) == 0 {
		return
	}
	b.WriteString("### Phases\n\n| phase | span | requests | errors | error rate | p95 | p99 | downtime |\n|---|---|---|---|---|---|---|---|\n")
	for _, p := range phases {
		l := p.Latency()
		fmt.Fprintf(b, "| %s | %s – %s | %d | %d | %s | %s | %s | %s |\n", p.Name, clock(p.Start), clock(p.End),
			p.Requests, p.Failures, verdict.FormatPercent(p.ErrorRate()), dur(l.P95), dur(l.P99), dur(p.Downtime))
	}
	b.WriteString("\n")
}

func (r *Report) writeTargets(b *strings.Builder) {
	b.WriteString("### Targets\n\n| target | requests | errors | error rate | p50 | p95 | p99 | max |\n|---|---|---|---|---|---|---|---|\n")
	for _, t := range r.Summary.Targets {
		l := t.Latency()
		fmt.Fprintf(b, "| `%s` | %d | %d | %s | %s | %s | %s | %s |\n", code(t.Name), t.Requests, t.Failures,
			verdict.FormatPercent(t.ErrorRate()), dur(l.P50), dur(l.P95), dur(l.P99), dur(l.Max))
	}
	b.WriteString("\n")
}

func (r *Report) writeWindows(b *strings.Builder) {
	s := r.Summary
	if s.WindowCount == 0 {
		return
	}
	fmt.Fprintf(b, "### Downtime windows\n\n%d window(s) without a successful response, %s in all; times are since the load started.\n\n",
		s.WindowCount, dur(s.Disrupted))
	b.WriteString("| start | end | duration | failed requests | failures | status codes |\n|---|---|---|---|---|---|\n")
	for _, w := range s.Windows {
		end := clock(w.End)
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
		fmt.Fprintf(b, "| %s | %s | %s | %d | %s | %s |\n", clock(w.Start), end, dur(w.Duration()), w.Failures,
			strings.Join(classes, ", "), strings.Join(codes, ", "))
	}
	if int64(len(s.Windows)) < s.WindowCount {
		fmt.Fprintf(b, "\n_The %d longest of %d windows are listed._\n", len(s.Windows), s.WindowCount)
	}
	b.WriteString("\n")
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
	fmt.Fprintf(b, "### Load generator\n\n| rate asked | scheduled | sent | held | not sent | late (>%s) | send lag p50 | send lag p99 | send lag max |\n|---|---|---|---|---|---|---|---|---|\n", dur(load.LateAfter))
	fmt.Fprintf(b, "| %d/%s | %d | %d | %s | %d | %d | %s | %s | %s |\n\n",
		h.Rate.Freq, h.Rate.Per, h.Planned, h.Sent, verdict.FormatPercent(h.Held()), h.Unsent(), h.Late, dur(h.LagP50), dur(h.LagP99), dur(h.LagMax))
}

// clock writes a time since the start as m:ss.s.
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
	return escape(strings.ReplaceAll(s, "`", "'"))
}
