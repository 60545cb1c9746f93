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
