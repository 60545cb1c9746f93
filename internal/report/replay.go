package report

import (
	"cmp"
	"fmt"
	"html"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/zerodowntime/deploy-load-check/internal/compare"
	"github.com/zerodowntime/deploy-load-check/internal/redact"
	"github.com/zerodowntime/deploy-load-check/internal/targets/replay"
	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

// Replay is what replaying a recording sent and what it skipped.
type Replay struct {
	File   string
	Format string
	// Speed is the multiple of the recorded pace the requests were sent
	// at; 0 when they were sent in order at the rate.
	Speed float64
	// Headers are the recorded headers sent beside the usual ones
	// (replay-headers); credentials among them were sent as recorded.
	Headers []string
	// Patterns is how many endpoint patterns the figures are kept under;
	// Capped says requests beyond them count under "other".
	Patterns int
	Capped   bool
	Requests uint64            // requests handed to the load
	Cycles   int               // times the file was started again
	Skipped  map[string]uint64 // by method: not replayed, on the first pass
	// OtherHost counts requests recorded on another host, Bad the lines
	// that were not requests, with a few of them, on the first pass over
	// the file.
	OtherHost  uint64
	Bad        uint64
	BadSamples []replay.BadLine
}

// SkippedTotal counts the recorded requests not replayed for their method.
func (r *Replay) SkippedTotal() uint64 {
	var n uint64
	for _, c := range r.Skipped {
		n += c
	}
	return n
}

// Compare is what comparing answers found: staging's with the baseline's,
// and the old version's with the new one's across the cut-over.
type Compare struct {
	BaselineURL string   // "" when answers were compared only across the cut-over
	Sample      float64  // share of each endpoint pattern's requests sampled
	Headers     []string // the headers compared, beside the status and body
	// Judged says MaxMismatchRate limits the baseline's mismatch rate.
	Judged          bool
	MaxMismatchRate float64
	// Baseline is nil without a baseline.
	Baseline *compare.Summary
	// NotCompared are the endpoint patterns replayed none of whose
	// answers was compared with the baseline's.
	NotCompared []string
	// BaselineFailed counts sampled requests the baseline gave no answer
	// to (a transport error or a timeout), twice being needed; BaselineError
	// is the first such error.
	BaselineFailed uint64
	BaselineError  string
	// Unanswered counts sampled requests staging gave no answer to: those
	// are the load's failures, judged with it.
	Unanswered uint64
	// Skipped counts sampled answers not compared because the comparisons
	// could not keep up, or the run ended before they were done.
	Skipped uint64
	// CutOver is nil unless a version header or field told versions apart.
	CutOver *CutOver
}

// CutOver compares the answers of the old and the new version of the API
// under load to the same request.
type CutOver struct {
	Old, New string // New is "" when no other version answered
	// Kept is how many of the old version's answers were kept to compare
	// the new version's with, at most KeptPerEndpoint an endpoint.
	Kept            int
	KeptPerEndpoint int
	// Inferred counts the answers compared that carried no version and
	// took the latest one staging showed; Unversioned those that came
	// before any version was shown, and were not compared.
	Inferred    uint64
	Unversioned uint64
	// NotCompared are the endpoint patterns replayed none of whose
	// answers was compared across the cut-over; empty until a new
	// version answered.
	NotCompared []string
	Summary     compare.Summary
}

// mismatchFailed reports whether the baseline's answers differed more than
// max-mismatch-rate allows. A limit with nothing compared fails too, and
// so does one with an endpoint replayed but never compared: the check
// cannot vouch for answers it never saw.
func (r *Report) mismatchFailed() bool {
	c := r.Compare
	if c == nil || !c.Judged || c.Baseline == nil {
		return false
	}
	return c.Baseline.Compared == 0 || c.Baseline.MismatchRate > c.MaxMismatchRate || len(c.NotCompared) > 0
}

// mismatchReason says why the answers failed the check, naming the
// endpoints and fields that differed most.
func (r *Report) mismatchReason() string {
	c := r.Compare
	s := c.Baseline
	limit := "max-mismatch-rate " + percent(c.MaxMismatchRate)
	if s.Compared == 0 {
		why := "no sampled request got answers from both staging and the baseline"
		if c.BaselineFailed > 0 {
			why = fmt.Sprintf("the baseline did not answer %s", plural(int64(c.BaselineFailed), "sampled request"))
		}
		return fmt.Sprintf("no answer was compared with the baseline (%s), so the check cannot vouch for the answers (%s)", why, limit)
	}
	var never string
	if n := len(c.NotCompared); n > 0 {
		were, their, them := "were", "their", "them"
		if n == 1 {
			were, their, them = "was", "its", "it"
		}
		never = fmt.Sprintf("%s %s replayed but none of %s answers was compared with the baseline (%s), so the check cannot vouch for %s",
			plural(int64(n), "endpoint"), were, their, patternList(c.NotCompared, 3), them)
	}
	if s.MismatchRate <= c.MaxMismatchRate {
		return fmt.Sprintf("%s (%s)", never, limit)
	}
	reason := fmt.Sprintf("%s of %s compared with the baseline (%s) differed, above %s: %s",
		count(int64(s.Mismatched)), plural(int64(s.Compared), "answer"), percent(s.MismatchRate), limit, strings.Join(differedWhere(s, 3), "; "))
	if never != "" {
		reason += "; " + never
	}
	return reason
}

// differedWhere names up to n endpoint and field pairs that differed,
// the most frequent first: `GET /v1/search` in $.total (7 answers).
func differedWhere(s *compare.Summary, n int) []string {
	type pair struct {
		endpoint string
		field    compare.Field
	}
	var pairs []pair
	for _, e := range s.Endpoints {
		for _, f := range e.Fields {
			pairs = append(pairs, pair{e.Pattern, f})
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(b.field.Mismatched, a.field.Mismatched) })
	var out []string
	for i, p := range pairs {
		if i == n {
			out = append(out, fmt.Sprintf("and %d more", len(pairs)-n))
			break
		}
		out = append(out, fmt.Sprintf("%s answered differently in %s (%s)", p.endpoint, p.field.Field, plural(int64(p.field.Mismatched), "answer")))
	}
	return out
}

// patternList names up to n endpoint patterns: `GET /a`, `GET /b` and 2 more.
func patternList(patterns []string, n int) string {
	var names []string
	for i, p := range patterns {
		if i == n {
			names = append(names, fmt.Sprintf("%d more", len(patterns)-n))
			break
		}
		names = append(names, p)
	}
	return strings.Join(names, ", ")
}

// mismatchCheck is the max-mismatch-rate line of the thresholds list.
func (r *Report) mismatchCheck() (line string, ok bool) {
	c := r.Compare
	if c == nil || !c.Judged || c.Baseline == nil {
		return "", false
	}
	mark, observed := "✓", percent(c.Baseline.MismatchRate)
	if r.mismatchFailed() {
		mark = "✗"
	}
	if c.Baseline.Compared == 0 {
		observed = "nothing compared"
	} else if n := len(c.NotCompared); n > 0 {
		observed += fmt.Sprintf(", and %s never compared", plural(int64(n), "endpoint"))
	}
	return fmt.Sprintf("- %s `mismatch_rate<=%s` (max-mismatch-rate): %s\n", mark, verdict.FormatPercent(c.MaxMismatchRate), observed), true
}

// mismatchRateOutput is the mismatch-rate output: "" without a baseline.
func (r *Report) mismatchRateOutput() string {
	if r.Compare == nil || r.Compare.Baseline == nil {
		return ""
	}
	return strconv.FormatFloat(r.Compare.Baseline.MismatchRate, 'f', -1, 64)
}

// Limits that keep the comparison sections short whatever was found.
const (
	maxCompareRows = 30 // endpoint and field rows
	maxNoiseRows   = 20
	maxBadRows     = replay.MaxBadSamples
)

// writeReplay writes what the recording sent and skipped, collapsed.
func (r *Report) writeReplay(b *strings.Builder, open bool) {
	rp := r.Replay
	if rp == nil {
		return
	}
	pace := "in order at " + rateText(r.Health.Rate)
	if rp.Speed > 0 {
		pace = "at " + speedText(rp.Speed) + " the recorded pace"
	}
	// The summary line is HTML, where Markdown is not read.
	details(b, fmt.Sprintf("Replay: %s from <code>%s</code>, %s skipped", plural(int64(rp.Requests), "request"), html.EscapeString(rp.File), count(int64(rp.SkippedTotal()+rp.OtherHost+rp.Bad))), open)
	fmt.Fprintf(b, "The recording (%s) was sent %s", escape(rp.Format), pace)
	switch rp.Cycles {
	case 0:
		b.WriteString(", once through or less")
	case 1:
		b.WriteString(", started again once when the run outlasted it")
	default:
		fmt.Fprintf(b, ", started again %d times when the run outlasted it", rp.Cycles)
	}
	endpoints := plural(int64(rp.Patterns), "endpoint pattern")
	if rp.Capped {
		endpoints += ", and `other` for the rest"
	}
	fmt.Fprintf(b, ". Its paths are grouped into %s for the per-endpoint figures. %s\n\n", endpoints, credentialsText(rp.Headers))
	b.WriteString("| not replayed (first pass over the file) | recorded requests |\n|---|---|\n")
	methods := make([]string, 0, len(rp.Skipped))
	for m := range rp.Skipped {
		methods = append(methods, m)
	}
	slices.Sort(methods)
	for _, m := range methods {
		fmt.Fprintf(b, "| %s (method not in replay-methods) | %s |\n", escape(m), count(int64(rp.Skipped[m])))
	}
	if len(methods) == 0 {
		b.WriteString("| other methods (not in replay-methods) | 0 |\n")
	}
	fmt.Fprintf(b, "| on another host | %s |\n| lines that are not requests | %s |\n\n", count(int64(rp.OtherHost)), count(int64(rp.Bad)))
	if len(rp.BadSamples) > 0 {
		b.WriteString("| line | why | as read |\n|---|---|---|\n")
		for i, bad := range rp.BadSamples {
			if i == maxBadRows {
				break
			}
			fmt.Fprintf(b, "| %d | %s | `%s` |\n", bad.Line, escape(bad.Reason), code(bad.Text))
		}
		b.WriteString("\n")
	}
	endDetails(b)
}

// credentialsText says which recorded credentials were sent.
func credentialsText(headers []string) string {
	var sent []string
	for _, h := range headers {
		if redact.Secret(h) {
			sent = append(sent, "`"+code(h)+"`")
		}
	}
	if len(sent) == 0 {
		return "Recorded credentials and cookies were not sent."
	}
	return fmt.Sprintf("Recorded %s headers were sent as recorded (replay-headers), their values never shown; other credentials and cookies were not sent.", strings.Join(sent, ", "))
}

// comparedText names what is compared: the status, the headers chosen
// and the body.
func comparedText(headers []string) string {
	parts := []string{"Status"}
	for _, h := range headers {
		parts = append(parts, "`"+code(h)+"`")
	}
	parts = append(parts, "the body")
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// writeBaselineCompare writes what comparing staging's answers with the
// baseline's found.
func (r *Report) writeBaselineCompare(b *strings.Builder, open bool) {
	c := r.Compare
	if c == nil || c.Baseline == nil {
		return
	}
	s := c.Baseline
	summary := fmt.Sprintf("Answers compared with the baseline: %s of %s differed (%s)", count(int64(s.Mismatched)), count(int64(s.Compared)), percent(s.MismatchRate))
	if r.mismatchFailed() {
		summary = "Answers compared with the baseline: <b>" + strings.TrimPrefix(summary, "Answers compared with the baseline: ") + "</b>"
	}
	details(b, summary, open)
	fmt.Fprintf(b, "A sample of %s of each endpoint's replayed requests (its first one always) was also sent to %s, twice: fields that differ between the baseline's own two answers (a clock, a request id) are learnt as noise and ignored. %s are compared, JSON field by field. This traffic is not counted in the figures above.\n\n",
		percent(c.Sample), "`"+code(c.BaselineURL)+"`", comparedText(c.Headers))
	writeTally(b, s, "baseline", "staging")
	var notes []string
	if len(c.NotCompared) > 0 {
		notes = append(notes, fmt.Sprintf("Replayed, but none of their answers compared with the baseline's: %s.", patternCodes(c.NotCompared, maxCompareRows)))
	}
	if c.BaselineFailed > 0 {
		notes = append(notes, fmt.Sprintf("The baseline did not answer %s (the first: `%s`); those were not compared.", plural(int64(c.BaselineFailed), "sampled request"), code(sample(c.BaselineError))))
	}
	if c.Unanswered > 0 {
		notes = append(notes, fmt.Sprintf("Staging did not answer %s; the load's figures count those.", plural(int64(c.Unanswered), "sampled request")))
	}
	if c.Skipped > 0 {
		notes = append(notes, fmt.Sprintf("%s were not compared: the comparisons could not keep up, or the run ended first.", plural(int64(c.Skipped), "sampled answer")))
	}
	for _, n := range notes {
		b.WriteString(n + "\n\n")
	}
	endDetails(b)
}

// writeCutOverCompare writes what comparing the old version's answers
// with the new one's found.
func (r *Report) writeCutOverCompare(b *strings.Builder, open bool) {
	if r.Compare == nil || r.Compare.CutOver == nil {
		return
	}
	k := r.Compare.CutOver
	s := &k.Summary
	var summary string
	switch {
	case k.Old == "":
		summary = "Answers across the cut-over: no version was told"
	case k.New == "":
		summary = fmt.Sprintf("Answers across the cut-over: only <code>%s</code> answered", html.EscapeString(k.Old))
	default:
		summary = fmt.Sprintf("Answers across the cut-over: %s of %s answers of <code>%s</code> differed from <code>%s</code>'s", count(int64(s.Mismatched)), count(int64(s.Compared)), html.EscapeString(k.New), html.EscapeString(k.Old))
	}
	details(b, summary, open)
	fmt.Fprintf(b, "Answers of the old version to a sample of the requests (%s, up to %d an endpoint) were kept and compared with the new version's answers to the same requests, as with a baseline.\n\n", plural(int64(k.Kept), "answer"), k.KeptPerEndpoint)
	if s.Compared > 0 {
		writeTally(b, s, or(k.Old, "old"), or(k.New, "new"))
	}
	if k.Inferred > 0 {
		fmt.Fprintf(b, "%s of the new version carried no version and took the latest one staging showed; those teach no noise.\n\n", plural(int64(k.Inferred), "answer"))
	}
	if k.Unversioned > 0 {
		fmt.Fprintf(b, "%s came before any answer showed a version, and were not compared.\n\n", plural(int64(k.Unversioned), "sampled answer"))
	}
	if len(k.NotCompared) > 0 {
		fmt.Fprintf(b, "Replayed, but none of their answers compared across the cut-over: %s.\n\n", patternCodes(k.NotCompared, maxCompareRows))
	}
	endDetails(b)
}

// writeTally writes the comparisons by endpoint and field, one pair of
// sample answers, and the noise ignored.
func writeTally(b *strings.Builder, s *compare.Summary, baseline, candidate string) {
	b.WriteString("| endpoint | compared | differed | fields that differed |\n|---|---|---|---|\n")
	for i, e := range s.Endpoints {
		if i == maxCompareRows {
			fmt.Fprintf(b, "\n_%d more endpoints not listed._\n", len(s.Endpoints)-maxCompareRows)
			break
		}
		var fields []string
		for _, f := range e.Fields {
			fields = append(fields, "`"+code(f.Field)+"`")
		}
		if e.OtherFields > 0 {
			fields = append(fields, "others")
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", code(e.Pattern), count(int64(e.Compared)), count(int64(e.Mismatched)), or(strings.Join(fields, ", "), "—"))
	}
	b.WriteString("\n")
	var rows int
	var first *compare.Field
	var firstEndpoint string
	for _, e := range s.Endpoints {
		for i := range e.Fields {
			f := &e.Fields[i]
			if rows == 0 {
				b.WriteString(fmt.Sprintf("| endpoint | field | how | answers | %s | %s |\n|---|---|---|---|---|---|\n", escape(baseline), escape(candidate)))
				first, firstEndpoint = f, e.Pattern
			}
			if rows == maxCompareRows {
				break
			}
			rows++
			fmt.Fprintf(b, "| `%s` | `%s` | %s | %s | %s | %s |\n", code(e.Pattern), code(f.Field), f.Kind, count(int64(f.Mismatched)),
				valueCell(f.Example.Baseline), valueCell(f.Example.Candidate))
		}
	}
	if rows > 0 {
		b.WriteString("\n")
	}
	// The sample pair and the noise ignored are long: collapsed within,
	// so the tables that explain the mismatch fit the first screen.
	if first != nil {
		details(b, fmt.Sprintf("One pair of answers to <code>%s</code> that differed in <code>%s</code>", html.EscapeString(firstEndpoint), html.EscapeString(first.Field)), false)
		b.WriteString("Trimmed, credentials masked.\n\n")
		writeSampleAnswer(b, baseline, first.Sample.Baseline)
		writeSampleAnswer(b, candidate, first.Sample.Candidate)
		endDetails(b)
	}
	if len(s.Noise) > 0 {
		details(b, fmt.Sprintf("Differences ignored (%d)", len(s.Noise)), false)
		b.WriteString("| endpoint | field | why | answers |\n|---|---|---|---|\n")
		for i, n := range s.Noise {
			if i == maxNoiseRows {
				fmt.Fprintf(b, "\n_%d more not listed._\n", len(s.Noise)-maxNoiseRows)
				break
			}
			why := or(n.From, "compare-ignore")
			if n.Learnt {
				why = "learnt: it differed between two answers to the same request"
			}
			fmt.Fprintf(b, "| `%s` | `%s` | %s | %s |\n", code(n.Pattern), code(n.Rule), why, count(int64(n.Ignored)))
		}
		b.WriteString("\n")
		endDetails(b)
	}
}

// patternCodes writes up to n names as code, and how many more there are.
func patternCodes(names []string, n int) string {
	var out []string
	for i, name := range names {
		if i == n {
			out = append(out, fmt.Sprintf("and %d more", len(names)-n))
			break
		}
		out = append(out, "`"+code(name)+"`")
	}
	return strings.Join(out, ", ")
}

func valueCell(v string) string {
	if v == "" {
		return "—"
	}
	return "`" + code(sample(v)) + "`"
}

// writeSampleAnswer writes one side of a sample pair as a code block.
func writeSampleAnswer(b *strings.Builder, side string, a compare.SampleAnswer) {
	var text strings.Builder
	fmt.Fprintf(&text, "%d %s\n", a.Status, http.StatusText(a.Status))
	names := make([]string, 0, len(a.Header))
	for name := range a.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(&text, "%s: %s\n", name, a.Header[name])
	}
	if a.Body != "" {
		text.WriteString("\n" + a.Body + "\n")
	}
	fence := "```"
	for strings.Contains(text.String(), fence) {
		fence += "`"
	}
	fmt.Fprintf(b, "%s:\n\n%s\n%s%s\n\n", escape(side), fence, text.String(), fence)
}

func speedText(speed float64) string {
	return strconv.FormatFloat(speed, 'f', -1, 64) + "×"
}

// loadText says what load was sent, for the headline: the rate, or a
// recording replayed.
func (r *Report) loadText() string {
	rp := r.Replay
	switch {
	case rp == nil:
		return rateText(r.Health.Rate)
	case rp.Speed > 0:
		return "a recording replayed at " + speedText(rp.Speed) + " its pace"
	}
	return "a recording replayed at " + rateText(r.Health.Rate)
}

// jsonReplay is the replay in the JSON report; absent without one.
type jsonReplay struct {
	File          string            `json:"file"`
	Format        string            `json:"format"`
	Speed         float64           `json:"speed"`
	Patterns      int               `json:"endpoint_patterns"`
	Capped        bool              `json:"other_patterns"`
	Requests      uint64            `json:"requests"`
	Cycles        int               `json:"cycles"`
	Skipped       map[string]uint64 `json:"skipped_methods"`
	OtherHost     uint64            `json:"other_host"`
	BadLines      uint64            `json:"bad_lines"`
	BadLineSample []jsonBadLine     `json:"bad_line_samples"`
}

type jsonBadLine struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
	Text   string `json:"text"`
}

// jsonCompare is the comparisons in the JSON report; absent without any.
type jsonCompare struct {
	BaselineURL     string           `json:"baseline_url"`
	Sample          float64          `json:"sample"`
	Headers         []string         `json:"headers"`
	MaxMismatchRate *float64         `json:"max_mismatch_rate"` // null when not judged
	Pass            bool             `json:"pass"`
	Baseline        *compare.Summary `json:"baseline"` // null without a baseline
	NotCompared     []string         `json:"not_compared"`
	BaselineFailed  uint64           `json:"baseline_failed"`
	BaselineError   string           `json:"baseline_error,omitempty"`
	Unanswered      uint64           `json:"unanswered"`
	Skipped         uint64           `json:"skipped"`
	CutOver         *jsonCutOver     `json:"cut_over"` // null without a version input
}

type jsonCutOver struct {
	Old         string          `json:"old_version"`
	New         string          `json:"new_version"`
	Kept        int             `json:"kept_answers"`
	Inferred    uint64          `json:"inferred_versions"`
	Unversioned uint64          `json:"unversioned"`
	NotCompared []string        `json:"not_compared"`
	Summary     compare.Summary `json:"answers"`
}

func (r *Report) jsonReplay() *jsonReplay {
	rp := r.Replay
	if rp == nil {
		return nil
	}
	out := &jsonReplay{File: rp.File, Format: rp.Format, Speed: rp.Speed, Patterns: rp.Patterns, Capped: rp.Capped, Requests: rp.Requests,
		Cycles: rp.Cycles, Skipped: map[string]uint64{}, OtherHost: rp.OtherHost, BadLines: rp.Bad, BadLineSample: []jsonBadLine{}}
	for m, n := range rp.Skipped {
		out.Skipped[m] = n
	}
	for _, bad := range rp.BadSamples {
		out.BadLineSample = append(out.BadLineSample, jsonBadLine{Line: bad.Line, Reason: bad.Reason, Text: bad.Text})
	}
	return out
}

func (r *Report) jsonCompare() *jsonCompare {
	c := r.Compare
	if c == nil {
		return nil
	}
	out := &jsonCompare{BaselineURL: c.BaselineURL, Sample: c.Sample, Headers: stringsOrEmpty(c.Headers), NotCompared: stringsOrEmpty(c.NotCompared), Pass: !r.mismatchFailed(), Baseline: c.Baseline,
		BaselineFailed: c.BaselineFailed, BaselineError: c.BaselineError, Unanswered: c.Unanswered, Skipped: c.Skipped}
	if c.Judged {
		limit := c.MaxMismatchRate
		out.MaxMismatchRate = &limit
	}
	if k := c.CutOver; k != nil {
		out.CutOver = &jsonCutOver{Old: k.Old, New: k.New, Kept: k.Kept, Inferred: k.Inferred, Unversioned: k.Unversioned, NotCompared: stringsOrEmpty(k.NotCompared), Summary: k.Summary}
	}
	return out
}

// stringsOrEmpty writes an empty list as [] rather than null.
func stringsOrEmpty(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
