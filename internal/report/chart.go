package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxPoints bounds the chart: GitHub renders Mermaid in the job summary,
// and a chart of more than about 120 points is unreadable and slow.
const maxPoints = 120

// maxLabels bounds the x-axis labels that show: Mermaid writes every
// label of a bar chart side by side, so more than about a dozen overlap.
const maxLabels = 12

// Chart colours, in the order of the series that use them. Each keeps a
// contrast of 3:1 or more on GitHub's light page (#ffffff) and on the
// chart background of Mermaid's dark theme (#333333, on the #0d1117
// page), so no theme is pinned. GitHub draws no legend for xychart: the
// captions name the colours, so the names must stay true.
const (
	sentColour      = "#e5534b" // red: every request sent; what shows above the blue failed
	succeededColour = "#2f81f7" // blue
	p99Colour       = "#a371f7" // purple
	p50Colour       = "#1b9e9e" // teal
	deployColour    = "#bf8700" // gold: the strip under the zero line while the deploy ran
)

// Series values that are not data. Mermaid draws a bar of value 0 from the
// foot of the plot to the zero line, a few pixels high: drawn last, such
// bars make a strip under the data that hides none of it, which marks the
// deploy. A negative value below the axis' range gives a bar of negative
// height, which the browser does not draw: an empty column for a span with
// nothing to show, where a 0 would draw a stub that reads as data.
const (
	stripValue = 0
	noBar      = -1 // times the axis' top
)

// point is a span of the timeline: one second, or several when the run is
// too long to chart second by second.
type point struct {
	// start of the span in whole seconds since the start of the load, and
	// how much of the load it covers (less than its seconds at the end).
	start, end int
	covered    time.Duration
	// sent and succeeded are requests per second over covered.
	sent, succeeded float64
	// p50 and p99 are the slowest second's, of successful requests only;
	// hasLatency is false when no request succeeded in the span.
	p50, p99   time.Duration
	hasLatency bool
	deploying  bool
}

// timeline is what both charts draw.
type timeline struct {
	points []point
	step   int // seconds per point, but for the first and the last
	// origin is the whole second that reads 0 on the x-axis: the one
	// nearest the dispatch, or the start of the load.
	origin int
	deploy bool
}

// niceSeconds are the spans a point may cover and the distances between
// labels, so that labels read 0, 5, 10 or 0, 30, 60.
var niceSeconds = []int{1, 2, 3, 5, 10, 15, 20, 30, 60, 120, 180, 300, 600, 900, 1800, 3600}

// timeline cuts the load's seconds into at most maxPoints spans, with
// edges on whole multiples of the span from the origin.
func (r *Report) timeline() timeline {
	s := r.Summary
	tl := timeline{deploy: r.Deploy != nil && r.Deploy.Dispatched > 0}
	if tl.deploy {
		tl.origin = int(math.Round(r.Deploy.Dispatched.Seconds()))
	}
	// Seconds after the last request sent still belong to the load.
	count := max(len(s.Seconds), int(math.Ceil(s.Elapsed.Seconds())))
	tl.step = pick(func(step int) bool { return count/step+2 <= maxPoints })
	// The first edge after the start of the load that lies on the grid.
	edge := ((tl.origin % tl.step) + tl.step) % tl.step
	if edge == 0 {
		edge = tl.step
	}
	for start := 0; start < count; {
		end := min(edge, count)
		p := point{start: start, end: end}
		for i := start; i < end && i < len(s.Seconds); i++ {
			sec := s.Seconds[i]
			ok := sec.Requests - sec.Failures
			p.sent += float64(sec.Requests)
			p.succeeded += float64(ok)
			if ok > 0 {
				p.p50, p.p99, p.hasLatency = max(p.p50, sec.P50), max(p.p99, sec.P99), true
			}
		}
		p.covered = min(time.Duration(end)*time.Second, s.Elapsed) - time.Duration(start)*time.Second
		tl.points = append(tl.points, p)
		start, edge = end, end+tl.step
	}
	// The last span is cut short where the load stopped. Its requests over
	// what it covers are its true rate, but over a few hundred milliseconds
	// that rate is mostly noise (and the requests sent while the load was
	// stopping): under half a second, it joins the span before it.
	if n := len(tl.points); n >= 2 && tl.points[n-1].covered < time.Second/2 {
		last, prev := tl.points[n-1], &tl.points[n-2]
		prev.sent += last.sent
		prev.succeeded += last.succeeded
		prev.end = last.end
		prev.covered += max(last.covered, 0)
		prev.p50, prev.p99 = max(prev.p50, last.p50), max(prev.p99, last.p99)
		prev.hasLatency = prev.hasLatency || last.hasLatency
		tl.points = tl.points[:n-1]
	}
	// The load sends on a grid, one hit every 1/rate from its start: the
	// part of a second before it stopped holds ⌈covered·rate⌉ hits, which
	// over covered reads a little above the rate asked (90 hits in 0.898 s
	// of 100/s, 100.2/s). Up to one hit over, it is the rate asked.
	if n, asked := len(tl.points), r.askedPerSecond(); n > 0 && asked > 0 {
		last := &tl.points[n-1]
		if due := asked * last.covered.Seconds(); last.covered > 0 && last.sent > due && last.sent <= due+1 {
			last.covered = time.Duration(last.sent / asked * float64(time.Second))
		}
	}
	for i := range tl.points {
		p := &tl.points[i]
		if p.covered > 0 {
			p.sent /= p.covered.Seconds()
			p.succeeded /= p.covered.Seconds()
		}
		if tl.deploy {
			completed := r.Deploy.Completed
			if completed == 0 {
				completed = s.Elapsed
			}
			p.deploying = time.Duration(p.start)*time.Second < completed && time.Duration(p.end)*time.Second > r.Deploy.Dispatched
		}
	}
	return tl
}

// askedPerSecond is the rate the load was asked for, per second; 0 when
// unknown.
func (r *Report) askedPerSecond() float64 {
	if rate := r.Health.Rate; rate.Freq > 0 && rate.Per > 0 {
		return float64(rate.Freq) / rate.Per.Seconds()
	}
	return 0
}

// pick returns the first of niceSeconds that fits, or else a whole number
// of hours that does.
func pick(fits func(int) bool) int {
	for _, s := range niceSeconds {
		if fits(s) {
			return s
		}
	}
	s := 3600
	for !fits(s) {
		s += 3600
	}
	return s
}

// labels names the points by their start in seconds from the origin; to
// keep labels from overlapping, only those on multiples of a nice distance
// show. The others must still be unique, or Mermaid puts their bars in one
// place: they are written in zero-width characters.
func (tl timeline) labels() []string {
	first := tl.points[0].start - tl.origin
	last := tl.points[len(tl.points)-1].start - tl.origin
	every := pick(func(s int) bool { return s%tl.step == 0 && (last-first)/s+1 <= maxLabels })
	labels := make([]string, len(tl.points))
	for i, p := range tl.points {
		if at := p.start - tl.origin; at%every == 0 {
			labels[i] = strconv.Itoa(at)
		} else {
			labels[i] = invisible(i)
		}
	}
	return labels
}

func isLabel(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// invisible writes i in base 4 with four zero-width characters as digits.
func invisible(i int) string {
	const digits = "\u200b\u200c\u200d\u2060"
	runes := []rune(digits)
	var b strings.Builder
	for {
		b.WriteRune(runes[i%4])
		i /= 4
		if i == 0 {
			return b.String()
		}
	}
}

// The timeline is drawn as Mermaid xychart-beta charts (inline SVG and
// data: images are stripped from job summaries; Mermaid is rendered).

// writeRequestChart draws requests per second: every request sent in red,
// and the successful ones over it in blue, so the failed ones show as red
// above the blue and a second with nothing sent stays empty.
func (r *Report) writeRequestChart(b *strings.Builder, tl timeline) {
	var peak float64
	for _, p := range tl.points {
		peak = math.Max(peak, p.sent)
	}
	top := niceCeil(peak * 1.1)
	fmt.Fprintf(b, "_Requests sent %s: **blue** succeeded, **red** above the blue failed; no column where nothing was sent.%s_\n\n",
		tl.per(), tl.stripCaption())
	palette := []string{sentColour, succeededColour}
	writeChartHead(b, tl, palette, "Requests per second", "requests per second", top)
	writeSeries(b, "bar", "sent", tl.points, top, func(p point) (float64, bool) { return p.sent, p.sent > 0 })
	writeSeries(b, "bar", "succeeded", tl.points, top, func(p point) (float64, bool) { return p.succeeded, p.succeeded > 0 })
	tl.writeStrip(b, top)
	b.WriteString("```\n\n")
}

// writeLatencyChart draws the p99 and, over it, the p50 of successful
// requests: a refused request fails in microseconds, and counting it would
// draw an outage as a drop in latency.
func (r *Report) writeLatencyChart(b *strings.Builder, tl timeline) {
	var slowest time.Duration
	for _, p := range tl.points {
		if p.hasLatency {
			slowest = max(slowest, p.p99)
		}
	}
	if slowest == 0 {
		b.WriteString("_No request succeeded with a measured latency, so there is no latency to chart._\n\n")
		return
	}
	top := niceCeil(ms(slowest) * 1.1)
	of := "each second"
	if tl.step > 1 {
		of = fmt.Sprintf("the slowest second in each %ds", tl.step)
	}
	fmt.Fprintf(b, "_Latency of successful requests only, in milliseconds, of %s: **purple** p99, **teal** p50 over it; no column where nothing succeeded.%s_\n\n",
		of, tl.stripCaption())
	palette := []string{p99Colour, p50Colour}
	writeChartHead(b, tl, palette, "Latency of successful requests (ms)", "milliseconds", top)
	writeSeries(b, "bar", "p99", tl.points, top, func(p point) (float64, bool) { return ms(p.p99), p.hasLatency })
	writeSeries(b, "bar", "p50", tl.points, top, func(p point) (float64, bool) { return ms(p.p50), p.hasLatency })
	tl.writeStrip(b, top)
	b.WriteString("```\n\n")
}

func (tl timeline) per() string {
	if tl.step > 1 {
		return fmt.Sprintf("per second, averaged over each %ds", tl.step)
	}
	return "each second"
}

func (tl timeline) stripCaption() string {
	if !tl.deploy {
		return ""
	}
	return " The **gold** strip under the zero line marks the seconds while the deploy ran."
}

// writeStrip draws the deploy strip last, over the foot of the bars.
func (tl timeline) writeStrip(b *strings.Builder, top float64) {
	if !tl.deploy {
		return
	}
	writeSeries(b, "bar", "deploy running", tl.points, top, func(p point) (float64, bool) { return stripValue, p.deploying })
}

func writeChartHead(b *strings.Builder, tl timeline, palette []string, title, yLabel string, top float64) {
	if tl.deploy {
		palette = append(palette, deployColour)
	}
	axis := "seconds since the load started"
	if tl.deploy {
		axis = "seconds since the dispatch"
	}
	labels := tl.labels()
	hidden := false
	for i, l := range labels {
		hidden = hidden || !isLabel(l)
		labels[i] = `"` + l + `"`
	}
	fmt.Fprintf(b, "```mermaid\n%%%%{init: {\"xyChart\": {\"width\": 860, \"height\": 320}, \"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"%s\"}}}}%%%%\n", strings.Join(palette, ", "))
	fmt.Fprintf(b, "xychart-beta\n    title \"%s\"\n", title)
	fmt.Fprintf(b, "    %%%% %s draws no bar: nothing to show there.\n", num(noBar*top))
	if hidden {
		b.WriteString("    %% Labels in zero-width characters keep the unlabelled spans apart.\n")
	}
	fmt.Fprintf(b, "    x-axis \"%s\" [%s]\n", axis, strings.Join(labels, ", "))
	fmt.Fprintf(b, "    y-axis \"%s\" 0 --> %s\n", yLabel, num(top))
}

// writeSeries writes one series: value(p) where show(p), else no bar.
func writeSeries(b *strings.Builder, kind, name string, pts []point, top float64, value func(point) (float64, bool)) {
	parts := make([]string, len(pts))
	for i, p := range pts {
		v, show := value(p)
		if !show {
			v = noBar * top
		}
		parts[i] = num(v)
	}
	fmt.Fprintf(b, "    %s \"%s\" [%s]\n", kind, name, strings.Join(parts, ", "))
}

// num writes a number with one decimal, or the few more that keep a small
// value from reading as zero, and never in exponent form, which Mermaid
// does not parse.
func num(f float64) string {
	decimals := 1
	for a := math.Abs(f); a > 0 && a < 1 && decimals < 6 && math.Round(a*math.Pow10(decimals)) < 10; {
		decimals++
	}
	scale := math.Pow10(decimals)
	return strconv.FormatFloat(math.Round(f*scale)/scale, 'f', -1, 64)
}

// niceCeil rounds up to 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power
// of ten, so axes read well without much empty space above the data.
func niceCeil(f float64) float64 {
	if f <= 0 {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(f)))
	for _, m := range []float64{1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if f <= m*pow*(1+1e-9) {
			return m * pow
		}
	}
	return 10 * pow
}
