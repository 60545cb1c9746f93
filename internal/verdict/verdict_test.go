package verdict

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseReadsEveryMetric(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Threshold
	}{
		{"p(95)<400ms", Threshold{Metric: Quantile, Percentile: 95, Op: Less, Limit: 0.4}},
		{"p(99.9) <= 1s", Threshold{Metric: Quantile, Percentile: 99.9, Op: LessEq, Limit: 1}},
		{"avg<200ms", Threshold{Metric: Mean, Op: Less, Limit: 0.2}},
		{"med < 100ms", Threshold{Metric: Median, Op: Less, Limit: 0.1}},
		{"max<5s", Threshold{Metric: Max, Op: Less, Limit: 5}},
		{"error_rate<0.5%", Threshold{Metric: ErrorRate, Op: Less, Limit: 0.005}},
		{"error_rate<=0.01", Threshold{Metric: ErrorRate, Op: LessEq, Limit: 0.01}},
		{"downtime<=1s", Threshold{Metric: Downtime, Op: LessEq, Limit: 1}},
		{"downtime<=0s", Threshold{Metric: Downtime, Op: LessEq, Limit: 0}},
		{"p(50)>=1ms", Threshold{Metric: Quantile, Percentile: 50, Op: GreaterEq, Limit: 0.001}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, diff)
		}
		if again, err := Parse(got.String()); err != nil || again != got {
			t.Errorf("Parse(%q.String() = %q) = %+v, %v; want it to read back", tt.in, got.String(), again, err)
		}
	}
}

func TestParseRejectsWithAReason(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"p(101)<1s", "out of range"},
		{"p(0)<1s", "out of range"},
		{"p(x)<1s", "out of range"},
		{"p(95)<<3", "malformed operator"},
		{"p(95)<=>3s", "malformed operator"},
		{"p(95)", "no comparison"},
		{"p(95)<", "no value"},
		{"p(95)<3", "no unit"},
		{"p(95)<-3s", "negative"},
		{"p(95)<fast", "not a duration"},
		{"latency<1s", "unknown metric"},
		{"error_rate<101%", "out of range"},
		{"error_rate<-1%", "out of range"},
		{"error_rate<lots", "not a rate"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error = %v, want one saying %q", tt.in, err, tt.want)
		}
	}
}

type observed struct {
	p95, p99, mean, max, downtime time.Duration
	errorRate                     float64
}

func (o observed) Quantile(q float64) time.Duration {
	if q >= 0.99 {
		return o.p99
	}
	return o.p95
}
func (o observed) Mean() time.Duration     { return o.mean }
func (o observed) Max() time.Duration      { return o.max }
func (o observed) ErrorRate() float64      { return o.errorRate }
func (o observed) Downtime() time.Duration { return o.downtime }

func TestEvaluateJudgesEachThreshold(t *testing.T) {
	t.Parallel()
	obs := observed{p95: 300 * time.Millisecond, p99: 900 * time.Millisecond, downtime: 3 * time.Second, errorRate: 0.004}
	parse := func(s string) Threshold {
		th, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return th
	}
	checks := Evaluate([]Threshold{
		parse("p(95)<400ms"),
		parse("p(99)<500ms"),
		parse("error_rate<=0.4%"),
		parse("downtime<=1s"),
	}, obs, func(string) Observed { return nil })
	var got []bool
	for _, c := range checks {
		got = append(got, c.Pass)
	}
	if diff := cmp.Diff([]bool{true, false, true, false}, got); diff != "" {
		t.Errorf("passes (-want +got):\n%s", diff)
	}
	if checks[3].Observed != 3 {
		t.Errorf("downtime observed = %v, want 3 (seconds)", checks[3].Observed)
	}
	if Passed(checks) {
		t.Error("Passed = true with two failed checks")
	}
	if !Passed(checks[:1]) {
		t.Error("Passed = false with every check held")
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		got, want string
	}{
		{FormatSeconds(0), "0s"},
		{FormatSeconds(0.0004123), "412µs"},
		{FormatSeconds(0.4123), "412.3ms"},
		{FormatSeconds(3.0049), "3s"},
		{FormatSeconds(3.456), "3.46s"},
		{FormatSeconds(125), "2m5s"},
		{FormatPercent(0.00523), "0.523%"},
		{FormatPercent(1), "100%"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
