package report

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodowntime/deploy-load-check/internal/stats"
)

// mermaidChart is one xychart as the summary writes it, read back.
type mermaidChart struct {
	title   string
	palette []string
	labels  []string
	top     float64
	names   []string // series names, in order
	kinds   []string // "bar" or "line", in order
	values  [][]float64
}

func (c mermaidChart) series(t *testing.T, name string) []float64 {
	t.Helper()
	i := slices.Index(c.names, name)
	if i < 0 {
		t.Fatalf("chart %q has no series %q; it has %q", c.title, name, c.names)
	}
	return c.values[i]
}

// visibleLabels returns the labels a reader sees, by position.
func (c mermaidChart) visibleLabels() map[int]string {
	shown := map[int]string{}
	for i, l := range c.labels {
		if strings.Trim(l, "\u200b\u200c\u200d\u2060") != "" {
			shown[i] = l
		}
	}
	return shown
}

var (
	mermaidBlock = regexp.MustCompile("(?s)```mermaid\n(.*?)```")
	paletteLine  = regexp.MustCompile(`"plotColorPalette": "([^"]*)"`)
	titleLine    = regexp.MustCompile(`^\s*title "([^"]*)"$`)
	xAxisLine    = regexp.MustCompile(`^\s*x-axis "[^"]*" \[(.*)\]$`)
	yAxisLine    = regexp.MustCompile(`^\s*y-axis "[^"]*" 0 --> (\S+)$`)
	seriesLine   = regexp.MustCompile(`^\s*(bar|line) "([^"]*)" \[(.*)\]$`)
	quoted       = regexp.MustCompile(`"([^"]*)"`)
)

// parseCharts reads every Mermaid block of a summary, failing the test on
// a line it does not know.
func parseCharts(t *testing.T, md string) []mermaidChart {
	t.Helper()
	var charts []mermaidChart
	for _, m := range mermaidBlock.FindAllStringSubmatch(md, -1) {
		var c mermaidChart
		for _, line := range strings.Split(strings.TrimSpace(m[1]), "\n") {
			switch {
			case strings.HasPrefix(line, "%%{init:"):
				p := paletteLine.FindStringSubmatch(line)
				if p == nil {
					t.Fatalf("no palette in %q", line)
				}
				c.palette = strings.Split(p[1], ", ")
			case strings.HasPrefix(strings.TrimSpace(line), "%%"), line == "xychart-beta":
			case titleLine.MatchString(line):
				c.title = titleLine.FindStringSubmatch(line)[1]
			case xAxisLine.MatchString(line):
				for _, q := range quoted.FindAllStringSubmatch(xAxisLine.FindStringSubmatch(line)[1], -1) {
					c.labels = append(c.labels, q[1])
				}
			case yAxisLine.MatchString(line):
				c.top = parseNumber(t, yAxisLine.FindStringSubmatch(line)[1])
			case seriesLine.MatchString(line):
				s := seriesLine.FindStringSubmatch(line)
				var values []float64
				for _, v := range strings.Split(s[3], ", ") {
					values = append(values, parseNumber(t, v))
				}
				c.kinds, c.names, c.values = append(c.kinds, s[1]), append(c.names, s[2]), append(c.values, values)
			default:
				t.Fatalf("unknown line in a Mermaid block: %q", line)
			}
		}
		charts = append(charts, c)
	}
	return charts
}

func parseNumber(t *testing.T, s string) float64 {
	t.Helper()
	if !regexp.MustCompile(`^-?\d+(\.\d+)?$`).MatchString(s) {
		t.Fatalf("%q is not a number Mermaid parses", s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func chartOf(t *testing.T, r *Report) (string, []mermaidChart) {
	t.Helper()
	var b strings.Builder
	writeCharts(&b, r)
	return b.String(), parseCharts(t, b.String())
}

// writeCharts writes both charts as the summary does: the requests chart
// and the latency chart of the Latency section.
func writeCharts(b *strings.Builder, r *Report) {
	tl := r.timeline()
	r.writeRequestChart(b, tl)
	r.writeLatencyChart(b, tl)
}

// steady returns n seconds of rate requests each, all successful, with
// latencies p50 and p99.
func steady(n int, rate int64, p50, p99 time.Duration) []stats.Second {
	seconds := make([]stats.Second, n)
	for i := range seconds {
		seconds[i] = stats.Second{Requests: rate, P50: p50, P99: p99}
	}
	return seconds
}

func fail(seconds []stats.Second, from, to int) {
	for i := from; i < to; i++ {
		seconds[i].Failures = seconds[i].Requests
		seconds[i].P50, seconds[i].P99 = 0, 0
	}
}

func reportOf(seconds []stats.Second, elapsed time.Duration) *Report {
	return &Report{Summary: &stats.Summary{Seconds: seconds, Elapsed: elapsed, Overall: &stats.Aggregate{}}}
}

// deployRun is 300.6 s at 50/s with a deploy from 10.4 s to 250.7 s, a
// 3 s outage at T+100, a run of seconds with half the requests failing,
// slower answers during the deploy, and a last second cut short.
func deployRun() *Report {
	seconds := steady(301, 50, 20*time.Millisecond, 60*time.Millisecond)
	for i := 11; i < 251; i++ {
		seconds[i].P50, seconds[i].P99 = 35*time.Millisecond, 140*time.Millisecond
	}
	fail(seconds, 110, 113)
	for i := 150; i < 156; i++ {
		seconds[i].Failures = 25
	}
	seconds[300].Requests = 30
	r := reportOf(seconds, 300600*time.Millisecond)
	r.Deploy = &Deploy{Dispatched: 10400 * time.Millisecond, Completed: 250700 * time.Millisecond}
	return r
}

func TestChartSeriesHaveOneValuePerLabel(t *testing.T) {
	t.Parallel()
	long := steady(3*3600, 100, time.Millisecond, 2*time.Millisecond)
	runs := map[string]*Report{
		"a 10 s outage run": reportOf(steady(10, 50, 3*time.Millisecond, 8*time.Millisecond), 10*time.Second),
		"a 5 min deploy":    deployRun(),
		"a 3 h run":         reportOf(long, 3*time.Hour+300*time.Millisecond),
		"a run cut short":   reportOf(steady(3, 50, time.Millisecond, time.Millisecond), 2200*time.Millisecond),
	}
	for name, r := range runs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			md, charts := chartOf(t, r)
			if len(charts) != 2 {
				t.Fatalf("%d charts, want 2:\n%s", len(charts), md)
			}
			if len(md) > 32<<10 {
				t.Errorf("the charts take %d bytes; the summary's cap is 1 MiB for everything", len(md))
			}
			for _, c := range charts {
				if n := len(c.labels); n < 2 || n > maxPoints {
					t.Errorf("%q: %d points, want 2 to %d", c.title, n, maxPoints)
				}
				if d := len(c.labels) - len(slices.Compact(slices.Sorted(slices.Values(c.labels)))); d > 0 {
					t.Errorf("%q: %d labels repeat; Mermaid would draw their bars in one place: %q", c.title, d, c.labels)
				}
				if n := len(c.visibleLabels()); n < 2 || n > maxLabels {
					t.Errorf("%q: %d labels show, want 2 to %d", c.title, n, maxLabels)
				}
				for i, v := range c.values {
					if len(v) != len(c.labels) {
						t.Errorf("%q: series %q has %d values for %d labels", c.title, c.names[i], len(v), len(c.labels))
					}
				}
				if len(c.palette) < len(c.names) {
					t.Errorf("%q: %d colours for %d series", c.title, len(c.palette), len(c.names))
				}
			}
		})
	}
}

// noBar is what the chart writes for a span with nothing to draw.
func noBarOf(c mermaidChart) float64 { return noBar * c.top }

func TestChartDrawsNoStubForEmptySeconds(t *testing.T) {
	t.Parallel()
	seconds := steady(10, 50, 3*time.Millisecond, 8*time.Millisecond)
	fail(seconds, 4, 7)
	seconds[8] = stats.Second{} // nothing sent: the generator stalled
	_, charts := chartOf(t, reportOf(seconds, 10*time.Second))
	requests, latency := charts[0], charts[1]
	empty := noBarOf(requests)
	if diff := cmp.Diff([]float64{50, 50, 50, 50, 50, 50, 50, 50, empty, 50}, requests.series(t, "sent")); diff != "" {
		t.Errorf("sent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]float64{50, 50, 50, 50, empty, empty, empty, 50, empty, 50}, requests.series(t, "succeeded")); diff != "" {
		t.Errorf("succeeded (-want +got):\n%s", diff)
	}
	empty = noBarOf(latency)
	if diff := cmp.Diff([]float64{8, 8, 8, 8, empty, empty, empty, 8, empty, 8}, latency.series(t, "p99")); diff != "" {
		t.Errorf("p99 (-want +got):\n%s", diff)
	}
	for _, c := range charts {
		if !(noBarOf(c) < 0) {
			t.Errorf("%q: no bar is written as %v, which Mermaid draws", c.title, noBarOf(c))
		}
		for i, values := range c.values {
			if c.kinds[i] != "bar" {
				t.Errorf("%q: series %q is a %s; a line cannot leave a span empty", c.title, c.names[i], c.kinds[i])
			}
			for j, v := range values {
				if v == 0 {
					t.Errorf("%q: series %q is 0 at %d: Mermaid draws a stub for it", c.title, c.names[i], j)
				}
			}
		}
	}
}

func TestChartShowsTheLastPartialSecondAtItsRate(t *testing.T) {
	t.Parallel()
	t.Run("over half a second: its own column, at its rate", func(t *testing.T) {
		t.Parallel()
		seconds := steady(11, 50, time.Millisecond, 2*time.Millisecond)
		seconds[10].Requests = 30 // 0.6 s of 50/s
		_, charts := chartOf(t, reportOf(seconds, 10600*time.Millisecond))
		sent := charts[0].series(t, "sent")
		if len(sent) != 11 || sent[10] != 50 {
			t.Errorf("sent = %v; want 11 columns, the last at 50", sent)
		}
	})
	t.Run("under half a second: joins the second before", func(t *testing.T) {
		t.Parallel()
		seconds := steady(11, 50, time.Millisecond, 2*time.Millisecond)
		seconds[10].Requests = 12 // 0.2 s of 50/s, and 2 more sent while the load stopped
		_, charts := chartOf(t, reportOf(seconds, 10200*time.Millisecond))
		sent := charts[0].series(t, "sent")
		// (50 + 12) requests over 1.2 s.
		if len(sent) != 10 || sent[9] != 51.7 {
			t.Errorf("sent = %v; want 10 columns, the last at 51.7", sent)
		}
	})
	t.Run("the hits of the schedule in the part before the stop: the rate asked", func(t *testing.T) {
		t.Parallel()
		// 100/s stopped 0.898 s into the last second: the hits due at
		// 0, 0.01, ..., 0.89 s, 90 of them, are 100.2/s over 0.898 s.
		seconds := steady(14, 100, time.Millisecond, 2*time.Millisecond)
		seconds[13].Requests = 90
		r := reportOf(seconds, 13898*time.Millisecond)
		r.Health.Rate = vegeta.Rate{Freq: 100, Per: time.Second}
		_, charts := chartOf(t, r)
		if sent := charts[0].series(t, "sent"); sent[len(sent)-1] != 100 {
			t.Errorf("sent = %v; want the last column at 100", sent)
		}
		// More than one hit over is more than the grid's rounding.
		seconds[13].Requests = 95
		_, charts = chartOf(t, r)
		if sent := charts[0].series(t, "sent"); sent[len(sent)-1] != 105.8 {
			t.Errorf("sent = %v; want the last column at 105.8, 95 over 0.898 s", sent)
		}
	})
	t.Run("an API left broken shows to the end", func(t *testing.T) {
		t.Parallel()
		seconds := steady(11, 50, time.Millisecond, 2*time.Millisecond)
		fail(seconds, 7, 11)
		seconds[10].Requests, seconds[10].Failures = 10, 10
		_, charts := chartOf(t, reportOf(seconds, 10200*time.Millisecond))
		sent, succeeded := charts[0].series(t, "sent"), charts[0].series(t, "succeeded")
		if sent[len(sent)-1] != 50 || succeeded[len(succeeded)-1] != noBarOf(charts[0]) {
			t.Errorf("last column: sent %v, succeeded %v; want 50 all failed", sent[len(sent)-1], succeeded[len(succeeded)-1])
		}
	})
}

func TestDeployStripMarksTheDeploySecondsUnderTheZeroLine(t *testing.T) {
	t.Parallel()
	r := reportOf(steady(30, 50, time.Millisecond, 2*time.Millisecond), 30*time.Second)
	r.Deploy = &Deploy{Dispatched: 10400 * time.Millisecond, Completed: 20200 * time.Millisecond}
	_, charts := chartOf(t, r)
	for _, c := range charts {
		strip := c.series(t, "deploy running")
		if c.names[len(c.names)-1] != "deploy running" {
			t.Errorf("%q: the strip is not drawn last, over the foot of the bars: %q", c.title, c.names)
		}
		var deploying []int
		for i, v := range strip {
			switch v {
			case 0:
				deploying = append(deploying, i)
			case noBarOf(c):
			default:
				t.Errorf("%q: strip at %d is %v; a strip above 0 would hide data", c.title, i, v)
			}
		}
		// The seconds from 10 to 20 since the start; 10 is labelled 0, the
		// whole second nearest the dispatch.
		if diff := cmp.Diff([]int{10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, deploying); diff != "" {
			t.Errorf("%q: deploy seconds (-want +got):\n%s", c.title, diff)
		}
		if c.labels[10] != "0" {
			t.Errorf("%q: the dispatch's second is labelled %q, want 0", c.title, c.labels[10])
		}
		if c.palette[len(c.names)-1] != deployColour {
			t.Errorf("%q: the strip is %s, want the gold the caption names", c.title, c.palette[len(c.names)-1])
		}
	}
}

func TestLongRunIsAveragedOnAGridFromTheDispatch(t *testing.T) {
	t.Parallel()
	_, charts := chartOf(t, deployRun())
	c := charts[0]
	// 301 s in 3 s spans; the dispatch at 10.4 s rounds to 10 s, so the
	// first span is 0-1 s, the others start at 1, 4, 7 s, and the labels
	// that show fall on multiples of 30 s from the dispatch.
	if n := len(c.labels); n != 101 {
		t.Errorf("%d points, want 101", n)
	}
	want := map[int]string{}
	for j := range 10 {
		want[4+10*j] = strconv.Itoa(30 * j)
	}
	if diff := cmp.Diff(want, c.visibleLabels()); diff != "" {
		t.Errorf("labels that show, by position (-want +got):\n%s", diff)
	}
	sent, succeeded := c.series(t, "sent"), c.series(t, "succeeded")
	// The spans 109-111 s and 112-114 s hold the outage at 110-112 s.
	at := 1 + (109-1)/3
	if sent[at] != 50 || succeeded[at] != 16.7 || succeeded[at+1] != 33.3 {
		t.Errorf("around the outage: sent %v, succeeded %v and %v; want 50, 16.7 and 33.3", sent[at], succeeded[at], succeeded[at+1])
	}
}

func TestLatencyChartNamesItsSeriesAndUnits(t *testing.T) {
	t.Parallel()
	md, charts := chartOf(t, deployRun())
	for _, words := range []string{"**blue** succeeded", "**red** above the blue failed", "**gold** strip", "successful requests only", "**purple** p99", "**teal** p50", "averaged over each 3s", "the slowest second in each 3s"} {
		if !strings.Contains(md, words) {
			t.Errorf("captions do not say %q:\n%s", words, md)
		}
	}
	if got := charts[0].palette[:2]; !slices.Equal(got, []string{sentColour, succeededColour}) {
		t.Errorf("requests palette %q", got)
	}
	if got := charts[1].palette[:2]; !slices.Equal(got, []string{p99Colour, p50Colour}) {
		t.Errorf("latency palette %q", got)
	}
	p99, p50 := charts[1].series(t, "p99"), charts[1].series(t, "p50")
	for i := range p99 {
		if p50[i] > p99[i] {
			t.Errorf("at %d the p50 %v is over the p99 %v, and would hide it", i, p50[i], p99[i])
		}
	}
}

func TestNoLatencyChartWhenNothingSucceeded(t *testing.T) {
	t.Parallel()
	seconds := steady(5, 50, 0, 0)
	fail(seconds, 0, 5)
	md, charts := chartOf(t, reportOf(seconds, 5*time.Second))
	if len(charts) != 1 || !strings.Contains(md, "no latency to chart") {
		t.Errorf("%d charts; want the requests chart and a sentence:\n%s", len(charts), md)
	}
}

func TestNumbersParseAndNeverReadAsZero(t *testing.T) {
	t.Parallel()
	for f, want := range map[float64]string{50: "50", 51.666: "51.7", 0.3: "0.3", 0.04: "0.04", 0.000278: "0.00028", -60: "-60", 0: "0", 1234.56: "1234.6"} {
		if got := num(f); got != want {
			t.Errorf("num(%v) = %q, want %q", f, got, want)
		}
	}
	for f, want := range map[float64]float64{55: 60, 50: 50, 8.8: 10, 0.33: 0.4, 121: 150, 0: 1} {
		if got := niceCeil(f); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", f, got, want)
		}
	}
}

func TestChartMatchesGolden(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("<!-- The timeline of a 5 min deploy with a 3 s outage, as the summary draws it. -->\n\n")
	writeCharts(&b, deployRun())
	const golden = "testdata/chart-deploy.golden.md"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("chart differs from %s (-want +got); run go test ./internal/report -update to accept:\n%s", golden, diff)
	}
}
