package verdict

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// seconds is a run kept second by second: latency and failures of each.
type seconds struct {
	observed
	latency  []time.Duration // one request a second, 0 for none
	failures []int64
}

func (s seconds) SecondCount() int { return len(s.latency) }

func (s seconds) SecondLatency(i int) *hdrhistogram.PackedHistogram {
	if s.latency[i] == 0 {
		return nil
	}
	h := hdrhistogram.NewPacked(1, 3_600_000_000, 3)
	_ = h.RecordValues(s.latency[i].Microseconds(), 10)
	return h
}

func (s seconds) SecondRequests(i int) (int64, int64) {
	if s.latency[i] == 0 {
		return 0, 0
	}
	return 10, s.failures[i]
}

func TestAWindowedThresholdJudgesTheWorstWindow(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	run := seconds{
		latency:  []time.Duration{10 * ms, 10 * ms, 700 * ms, 700 * ms, 10 * ms, 0, 10 * ms},
		failures: []int64{0, 0, 0, 5, 5, 0, 0},
	}
	parse := func(s string) Threshold {
		th, err := ParseLine(s, Names{})
		if err != nil {
			t.Fatal(err)
		}
		return th[0]
	}
	checks := Evaluate([]Threshold{parse("p(99)[2s]<500ms"), parse("p(99)[3s]<800ms"), parse("error_rate[2s]<40%"), parse("max[1s]<1s")},
		func(Threshold) Observed { return run })
	want := []struct {
		pass  bool
		value float64
		start time.Duration
	}{
		// Of windows that tie, the earliest counts.
		{false, 0.7004, time.Second},
		{true, 0.7004, 0},
		{false, 0.5, 3 * time.Second},
		{true, 0.7004, 2 * time.Second},
	}
	for i, c := range checks {
		if c.Pass != want[i].pass || math.Abs(c.Observed-want[i].value) > 0.001 || c.WindowStart != want[i].start {
			t.Errorf("%s: pass %v, observed %v from %s; want %v, %v from %s", c, c.Pass, c.Observed, c.WindowStart, want[i].pass, want[i].value, want[i].start)
		}
	}
	// A run that did not keep its seconds is not measured.
	if c := Evaluate([]Threshold{parse("p(99)[2s]<500ms")}, func(Threshold) Observed { return observed{} })[0]; c.Pass || !math.IsNaN(c.Observed) {
		t.Errorf("a window over a run without seconds: pass %v, observed %v; want a failure, not measured", c.Pass, c.Observed)
	}
}

func TestScopesReadBackAsWritten(t *testing.T) {
	t.Parallel()
	names := Names{Targets: []string{"search"}, Groups: []string{"browse"}, Phases: []string{"head", "deploy", "tail"}}
	for _, line := range []string{
		"p(99){phase:deploy}[10s]<1s",
		"error_rate{phase:tail}<0.1%",
		"search: p(95){phase:deploy}<300ms",
		"p(95){group:browse}<300ms",
		"p(95){expected_response:true}<500ms",
		"p(99){group:browse,phase:deploy,expected_response:true}[5s]<2s",
	} {
		got, err := ParseLine(line, names)
		if err != nil || len(got) != 1 {
			t.Errorf("ParseLine(%q) = %v, %v", line, got, err)
			continue
		}
		if got[0].String() != line {
			t.Errorf("ParseLine(%q) writes back as %q", line, got[0])
		}
		if !got[0].Scoped() && !strings.Contains(line, "[") {
			t.Errorf("ParseLine(%q) is not scoped", line)
		}
	}
	th, err := ParseLine("http_req_duration{phase:deploy,group:browse}: ['p(99)<1000']", names)
	if err != nil || th[0].Phase != "deploy" || th[0].Group != "browse" || th[0].Limit != 1 {
		t.Errorf("k6's form with two tags = %+v, %v; want phase deploy, group browse, 1s", th, err)
	}
}

// phaseRun is one phase of a run kept second by second from the start of
// the load: each second's requests, failed ones, and slow ones (700 ms;
// the others take 10 ms). The seconds before the phase are empty.
type phaseRun struct {
	observed
	requests, failures, slow []int64
	first, end               int
}

func (p phaseRun) SecondCount() int { return len(p.requests) }

func (p phaseRun) SecondLatency(i int) *hdrhistogram.PackedHistogram {
	if p.requests[i] == 0 {
		return nil
	}
	h := hdrhistogram.NewPacked(1, 3_600_000_000, 3)
	_ = h.RecordValues(10_000, p.requests[i]-p.slow[i])
	_ = h.RecordValues(700_000, p.slow[i])
	return h
}

func (p phaseRun) SecondRequests(i int) (int64, int64) { return p.requests[i], p.failures[i] }

func (p phaseRun) PhaseSeconds() (int, int) { return p.first, p.end }

// tailFrom is a phase of 100 requests a second over seconds first up to
// end, whose first second failed 2 requests and had 5 slow ones.
func tailFrom(first, end int) phaseRun {
	p := phaseRun{requests: make([]int64, end), failures: make([]int64, end), slow: make([]int64, end), first: first, end: end}
	for i := first; i < end; i++ {
		p.requests[i] = 100
	}
	p.failures[first], p.slow[first] = 2, 5
	return p
}

func TestAPhaseWindowedThresholdJudgesOnlyWindowsWithinThePhase(t *testing.T) {
	t.Parallel()
	names := Names{Phases: []string{"head", "deploy", "tail"}}
	parse := func(s string) Threshold {
		th, err := ParseLine(s, names)
		if err != nil {
			t.Fatal(err)
		}
		return th[0]
	}
	for _, c := range []struct {
		name      string
		threshold string
		run       Observed
		pass      bool
		value     float64
		start     time.Duration
		length    time.Duration
	}{
		// Without the phase's bounds the window from T+1s would hold
		// only the tail's first second: 2% failed, p99 700 ms.
		{"a tail's first second is one tenth of its first window's errors", "error_rate{phase:tail}[10s]<1%", tailFrom(10, 30),
			true, 0.002, 10 * time.Second, 10 * time.Second},
		{"a tail's first second is one tenth of its first window's latencies", "p(99){phase:tail}[10s]<500ms", tailFrom(10, 30),
			true, 0.0100, 10 * time.Second, 10 * time.Second},
		{"a phase shorter than the window is one window, all of it", "error_rate{phase:tail}[10s]<0.5%", tailFrom(25, 28),
			false, 2.0 / 300, 25 * time.Second, 3 * time.Second},
		{"a phase shorter than the window is one window for latency too", "p(99){phase:tail}[10s]<500ms", tailFrom(25, 28),
			false, 0.7004, 25 * time.Second, 3 * time.Second},
		{"a phase whose last seconds had no request still has its windows", "error_rate{phase:tail}[10s]<1%", phaseRun{
			requests: []int64{0, 0, 100, 100, 0}, failures: []int64{0, 0, 1, 0, 0}, slow: make([]int64, 5), first: 2, end: 14},
			true, 0.005, 2 * time.Second, 10 * time.Second},
	} {
		check := Evaluate([]Threshold{parse(c.threshold)}, func(Threshold) Observed { return c.run })[0]
		if check.Pass != c.pass || math.Abs(check.Observed-c.value) > 0.0001 || check.WindowStart != c.start || check.WindowLength != c.length {
			t.Errorf("%s: %s: pass %v, observed %v from %s over %s; want %v, %v from %s over %s",
				c.name, c.threshold, check.Pass, check.Observed, check.WindowStart, check.WindowLength, c.pass, c.value, c.start, c.length)
		}
		if whole := c.length < 10*time.Second; check.WholeSpan() != whole {
			t.Errorf("%s: WholeSpan() = %v, want %v", c.name, check.WholeSpan(), whole)
		}
	}
}
