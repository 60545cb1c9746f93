package report

import (
	"fmt"
	"html"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

// The summary's one vocabulary: rates per second, percentages with two
// decimals, latencies in one unit per table, spans and moments in seconds
// with one decimal, status codes named for what they mean.

// rateText writes a rate per second: 50/s, 0.5/s.
func rateText(r vegeta.Rate) string {
	if r.Per <= 0 {
		return "0/s"
	}
	return trimFloat(float64(r.Freq)/r.Per.Seconds(), 1) + "/s"
}

// perSecond writes a measured rate: 49.8/s.
func perSecond(f float64) string { return trimFloat(f, 1) + "/s" }

// percent writes a fraction as a percentage with two decimals: 0.48%,
// 100.00%.
func percent(f float64) string {
	if math.IsNaN(f) {
		return "—"
	}
	return strconv.FormatFloat(f*100, 'f', 2, 64) + "%"
}

// Span writes a length of time as the summary does, for reasons written
// elsewhere: 20 ms, 3.0 s, 2 min 05 s.
func Span(d time.Duration) string { return span(d) }

// span writes a length of time: 20 ms, 3.0 s, 2 min 05 s.
func span(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10) + " ms"
	case d < 100*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%d min %02d s", int(d/time.Minute), int(d%time.Minute/time.Second))
}

// spanUnit is the unit of one table column of spans: seconds when the
// longest is a second or more, milliseconds otherwise.
type spanUnit time.Duration

func spanUnitFor(longest time.Duration) spanUnit {
	if longest >= time.Second {
		return spanUnit(time.Second)
	}
	return spanUnit(time.Millisecond)
}

func (u spanUnit) name() string { return latencyUnit(u).name() }

// format writes d in the unit, without the unit's name: 3.00, 0.32, 320;
// a span too short to show in seconds is <0.01, not a zero.
func (u spanUnit) format(d time.Duration) string {
	if time.Duration(u) == time.Millisecond {
		return count(d.Round(time.Millisecond).Milliseconds())
	}
	if d > 0 && d < 5*time.Millisecond {
		return "<0.01"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
}

// latencyUnit is the unit of one table's latencies: milliseconds, or
// seconds when the slowest value is 10 s or more.
type latencyUnit time.Duration

func unitFor(slowest time.Duration) latencyUnit {
	if slowest >= 10*time.Second {
		return latencyUnit(time.Second)
	}
	return latencyUnit(time.Millisecond)
}

func (u latencyUnit) name() string {
	if time.Duration(u) == time.Second {
		return "s"
	}
	return "ms"
}

// format writes d in the unit, without the unit's name: 12.3, 0.41, 1.25;
// a latency too short to show is <0.01, not a zero.
func (u latencyUnit) format(d time.Duration) string {
	v := float64(d) / float64(u)
	switch {
	case d > 0 && v < 0.005:
		return "<0.01"
	case time.Duration(u) == time.Second:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// latency writes one latency with its unit, for sentences: 12.3 ms, 1.25 s,
// and under 10 µs in microseconds, so that a limit of 1us reads 1 µs, not
// 0.00 ms.
func latency(d time.Duration) string {
	switch {
	case d == 0:
		return "0 ms"
	case d > 0 && d < 10*time.Microsecond:
		return trimFloat(float64(d)/float64(time.Microsecond), 2) + " µs"
	}
	u := unitFor(d)
	if d >= time.Second {
		u = latencyUnit(time.Second)
	}
	return u.format(d) + " " + u.name()
}

// trimFloat writes f with at most decimals decimals, dropping trailing
// zeros: 50, 49.8.
func trimFloat(f float64, decimals int) string {
	return strconv.FormatFloat(math.Round(f*math.Pow10(decimals))/math.Pow10(decimals), 'f', -1, 64)
}

// statusMeaning names a status code for what it means to a client: 429 is
// rate limiting, not a client error.
func statusMeaning(code uint16) string {
	switch code {
	case 0:
		return "no answer"
	case http.StatusTooManyRequests:
		return "rate limited (429)"
	case http.StatusServiceUnavailable:
		return "unavailable (503)"
	case http.StatusBadGateway:
		return "bad gateway (502)"
	case http.StatusGatewayTimeout:
		return "gateway timeout (504)"
	case http.StatusInternalServerError:
		return "server error (500)"
	}
	if text := http.StatusText(int(code)); text != "" {
		return fmt.Sprintf("%s (%d)", strings.ToLower(text), code)
	}
	return strconv.Itoa(int(code))
}

// failureVerb says what happened to requests that failed with the classes
// and codes of a window: "were refused", "answered bad gateway (502)".
func failureVerb(classes []stats.Class, codes []uint16) string {
	var parts []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	for _, c := range classes {
		switch c {
		case stats.ClassRefused:
			add("were refused")
		case stats.ClassReset:
			add("were reset")
		case stats.ClassClosed:
			add("were cut off")
		case stats.ClassTimeout:
			add("timed out")
		case stats.ClassTLS:
			add("failed the TLS handshake")
		case stats.ClassDNS:
			add("did not resolve")
		case stats.Class4xx, stats.Class5xx:
			var answers []string
			for _, code := range codes {
				if (c == stats.Class5xx && code >= 500) || (c == stats.Class4xx && code >= 400 && code < 500) {
					answers = append(answers, statusMeaning(code))
				}
			}
			add("answered " + orList(answers))
		default:
			add("failed")
		}
	}
	if len(parts) == 0 {
		return "failed"
	}
	return orList(parts)
}

// classMeaning explains a failure class in a few words; an answer's
// class is named by its status codes, as the status table names them:
// rate limited (429), unavailable (503).
func classMeaning(c stats.Class, codes []stats.CodeCount) string {
	if c != stats.Class4xx && c != stats.Class5xx {
		return c.Meaning()
	}
	var names []string
	for _, code := range codes {
		if (c == stats.Class5xx && code.Code >= 500) || (c == stats.Class4xx && code.Code >= 400 && code.Code < 500) {
			names = append(names, statusMeaning(code.Code))
		}
	}
	if len(names) == 0 {
		return c.Meaning()
	}
	return orList(names)
}

// orList joins words as a reader would: a, b or c.
func orList(words []string) string { return joinWords(words, " or ") }

// andList joins words as a reader would: a, b and c.
func andList(words []string) string { return joinWords(words, " and ") }

func joinWords(words []string, last string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + last + words[len(words)-1]
}

// plural writes a count with its noun: 1 request, 3 requests, 1,204
// requests.
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return count(n) + " " + noun + "s"
}

// count writes a whole number with thousands separated: 1,204.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// escape makes text safe inside a Markdown table cell or list item; a
// dollar sign is escaped because GitHub reads two of them as math.
func escape(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "$", `\$`)
	return strings.ReplaceAll(s, "|", `\|`)
}

// htmlCode writes text as code inside HTML, such as a section's
// <summary>, where Markdown's code spans do not work.
func htmlCode(s string) string { return "<code>" + html.EscapeString(s) + "</code>" }

// code makes text safe inside a code span in a table cell.
func code(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`), "`", "'")
}

// sample shortens an error message for the summary.
func sample(s string) string {
	if len(s) > maxSample {
		s = s[:maxSample] + "…"
	}
	return s
}
