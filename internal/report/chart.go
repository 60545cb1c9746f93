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

// point is a span of the timeline, several seconds when downsampled.
type point struct {
	at                    time.Duration // start of the span, since the start of the load
	requests, failures    float64       // per second, averaged over the span
	p99                   time.Duration // the worst second's
	deploying, hasLatency bool
}

// points downsamples the timeline to at most maxPoints spans.
func (r *Report) points() (pts []point, step int) {
	seconds := r.Summary.Seconds
	step = max(1, (len(seconds)+maxPoints-1)/maxPoints)
	for start := 0; start < len(seconds); start += step {
		end := min(start+step, len(seconds))
		p := point{at: time.Duration(start) * time.Second}
		for _, sec := range seconds[start:end] {
			p.requests += float64(sec.Requests)
			p.failures += float64(sec.Failures)
			if sec.Requests > 0 {
				p.p99 = max(p.p99, sec.P99)
				p.hasLatency = true
			}
		}
		// The last span is cut short where the load stopped: averaged over
		// what it covers, or left out when that is under half of it, lest
		// a few requests read as a spike or a drop.
		span := time.Duration(end-start) * time.Second
		if covered := r.Summary.Elapsed - p.at; covered > 0 && covered < span {
			if covered < span/2 {
				break
			}
			span = covered
		}
		p.requests /= span.Seconds()
		p.failures /= span.Seconds()
		if d := r.Deploy; d != nil && d.Dispatched > 0 {
			spanEnd := time.Duration(end) * time.Second
			completed := d.Completed
			if completed == 0 {
				completed = r.Summary.Elapsed
			}
			p.deploying = p.at < completed && spanEnd > d.Dispatched
		}
		pts = append(pts, p)
	}
	return pts, step
}

// Chart colours, in series order: the translucent deploy band first so it
// is painted behind the data, requests in blue, failures in red over them.
// Mermaid's default palette draws the first series near-white.
const (
	bandColour    = "#f28e2b40"
	requestColour = "#4e79a7"
	failureColour = "#e15759"
)

// writeChart draws the timeline as Mermaid xychart-beta charts (inline SVG
// and data: images are stripped from job summaries; Mermaid is rendered):
// requests per second with the failed ones drawn over them, and p99
// latency, with shaded columns where the deploy ran.
func (r *Report) writeChart(b *strings.Builder) {
	pts, step := r.points()
	if len(pts) < 2 {
		return
	}
	origin := time.Duration(0)
	axis := "seconds since the load started"
	deploy := r.Deploy != nil && r.Deploy.Dispatched > 0
	if deploy {
		origin = r.Deploy.Dispatched
		axis = "seconds since the dispatch"
	}
	labels := make([]string, len(pts))
	var peak float64
	var slowest time.Duration
	for i, p := range pts {
		labels[i] = strconv.Itoa(int(math.Round((p.at - origin).Seconds())))
		peak = math.Max(peak, p.requests)
		slowest = max(slowest, p.p99)
	}
	// Headroom above the data keeps the deploy band visible over it.
	rateTop := niceCeil(peak * 1.5)
	latencyTop := niceCeil(float64(slowest) / float64(time.Millisecond) * 1.5)
	xAxis := fmt.Sprintf("    x-axis \"%s\" [%s]\n", axis, strings.Join(labels, ", "))

	per := "per second"
	if step > 1 {
		per = fmt.Sprintf("per second, averaged over %ds", step)
	}
	band := ""
	if deploy {
		band = "; shaded columns mark the seconds while the deploy ran"
	}
	fmt.Fprintf(b, "### Timeline\n\n_Requests %s (blue) with the failed ones drawn over them (red)%s._\n\n", per, band)
	palette := []string{requestColour, failureColour}
	if deploy {
		palette = append([]string{bandColour}, palette...)
	}
	writeChartHead(b, palette, "Requests and failures "+per, xAxis, "requests per second", rateTop)
	if deploy {
		b.WriteString("    bar \"deploy running\" " + series(pts, func(p point) float64 { return marker(p, rateTop) }) + "\n")
	}
	b.WriteString("    bar \"requests\" " + series(pts, func(p point) float64 { return p.requests }) + "\n")
	b.WriteString("    bar \"failed\" " + series(pts, func(p point) float64 { return p.failures }) + "\n")
	b.WriteString("```\n\n")

	fmt.Fprintf(b, "_p99 latency of each second in milliseconds (line)%s._\n\n", band)
	palette = []string{requestColour}
	if deploy {
		palette = []string{bandColour, requestColour}
	}
	writeChartHead(b, palette, "p99 latency (ms)", xAxis, "milliseconds", latencyTop)
	if deploy {
		b.WriteString("    bar \"deploy running\" " + series(pts, func(p point) float64 { return marker(p, latencyTop) }) + "\n")
	}
	b.WriteString("    line \"p99 latency\" " + series(pts, func(p point) float64 { return float64(p.p99) / float64(time.Millisecond) }) + "\n")
	b.WriteString("```\n\n")
}

func writeChartHead(b *strings.Builder, palette []string, title, xAxis, yLabel string, yTop float64) {
	fmt.Fprintf(b, "```mermaid\n%%%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"%s\"}}}}%%%%\nxychart-beta\n", strings.Join(palette, ", "))
	fmt.Fprintf(b, "    title \"%s\"\n", title)
	b.WriteString(xAxis)
	fmt.Fprintf(b, "    y-axis \"%s\" 0 --> %s\n", yLabel, num(yTop))
}

func marker(p point, top float64) float64 {
	if p.deploying {
		return top
	}
	return 0
}

func series(pts []point, value func(point) float64) string {
	parts := make([]string, len(pts))
	for i, p := range pts {
		parts[i] = num(value(p))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// num writes a number with at most one decimal.
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64)
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten, so axes read well.
func niceCeil(f float64) float64 {
	if f <= 0 {
		return 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(f)))
	for _, m := range []float64{1, 2, 5, 10} {
		if f <= m*pow {
			return m * pow
		}
	}
	return 10 * pow
}
