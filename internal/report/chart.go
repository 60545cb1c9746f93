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
		// The last second is cut short where the load stopped.
		span := time.Duration(end-start) * time.Second
		if covered := r.Summary.Elapsed - p.at; covered > 0 && covered < span {
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

// writeChart draws the timeline as Mermaid xychart-beta charts: requests
// and failures per second, and p99 latency, with the deploy window marked
// by a line at the top of each chart. Inline SVG and data: images are
// stripped from job summaries; Mermaid is rendered.
func (r *Report) writeChart(b *strings.Builder) {
	pts, step := r.points()
	if len(pts) < 2 {
		return
	}
	origin := time.Duration(0)
	axis := "seconds since the load started"
	if d := r.Deploy; d != nil && d.Dispatched > 0 {
		origin = d.Dispatched
		axis = "seconds since the dispatch"
	}
	first := (pts[0].at - origin).Seconds()
	last := (pts[len(pts)-1].at - origin).Seconds()

	var peak float64
	var slowest time.Duration
	for _, p := range pts {
		peak = math.Max(peak, p.requests)
		slowest = max(slowest, p.p99)
	}
	rateTop := niceCeil(peak * 1.1)
	latencyTop := niceCeil(float64(slowest) / float64(time.Millisecond) * 1.1)

	per := "per second"
	if step > 1 {
		per = fmt.Sprintf("per second, averaged over %ds", step)
	}
	deployNote := ""
	if r.Deploy != nil && r.Deploy.Dispatched > 0 {
		deployNote = "; the line at the top marks the deploy"
	}
	fmt.Fprintf(b, "### Timeline\n\n_Requests (first bars) and failed requests (second bars) %s%s._\n\n", per, deployNote)
	b.WriteString("```mermaid\nxychart-beta\n")
	fmt.Fprintf(b, "    title \"Requests and failures %s\"\n", per)
	fmt.Fprintf(b, "    x-axis \"%s\" %s --> %s\n", axis, num(first), num(last))
	fmt.Fprintf(b, "    y-axis \"requests per second\" 0 --> %s\n", num(rateTop))
	b.WriteString("    bar " + series(pts, func(p point) float64 { return p.requests }) + "\n")
	b.WriteString("    bar " + series(pts, func(p point) float64 { return p.failures }) + "\n")
	if deployNote != "" {
		b.WriteString("    line " + series(pts, func(p point) float64 { return marker(p, rateTop) }) + "\n")
	}
	b.WriteString("```\n\n")

	fmt.Fprintf(b, "_p99 latency of each second, in milliseconds%s._\n\n", deployNote)
	b.WriteString("```mermaid\nxychart-beta\n")
	b.WriteString("    title \"p99 latency (ms)\"\n")
	fmt.Fprintf(b, "    x-axis \"%s\" %s --> %s\n", axis, num(first), num(last))
	fmt.Fprintf(b, "    y-axis \"milliseconds\" 0 --> %s\n", num(latencyTop))
	b.WriteString("    line " + series(pts, func(p point) float64 { return float64(p.p99) / float64(time.Millisecond) }) + "\n")
	if deployNote != "" {
		b.WriteString("    line " + series(pts, func(p point) float64 { return marker(p, latencyTop) }) + "\n")
	}
	b.WriteString("```\n\n")
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
