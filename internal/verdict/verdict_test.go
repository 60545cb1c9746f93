package verdict

import (
	"math"
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
		// k6's forms: milliseconds without a unit, min, p(0), == and !=.
		{"p(95)<500", Threshold{Metric: Quantile, Percentile: 95, Op: Less, Limit: 0.5}},
		{"p(0) < 2.5", Threshold{Metric: Quantile, Percentile: 0, Op: Less, Limit: 0.0025}},
		{"min>=1", Threshold{Metric: Min, Op: GreaterEq, Limit: 0.001}},
		{"avg===200", Threshold{Metric: Mean, Op: Equal, Limit: 0.2}},
		{"max!=0", Threshold{Metric: Max, Op: NotEqual, Limit: 0}},
		{"downtime<=1500", Threshold{Metric: Downtime, Op: LessEq, Limit: 1.5}},
		{"count>=1000", Threshold{Metric: Count, Op: GreaterEq, Limit: 1000}},
		{"request_rate>49.5/s", Threshold{Metric: RequestRate, Op: Greater, Limit: 49.5}},
		{"request_rate>=50", Threshold{Metric: RequestRate, Op: GreaterEq, Limit: 50}},
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
		{"p(101)<1s", `percentile "101" is out of range`},
		{"p(-1)<1s", `percentile "-1" is out of range`},
		{"p(x)<1s", `"x" is not a percentile`},
		{"p(foo)<1", `"foo" is not a percentile`},
		{"p()<1", `"" is not a percentile`},
		{"p(NaN)<1", `"NaN" is not a percentile`},
		{"p(95)<<3", "malformed operator"},
		{"p(95)<=>3s", "malformed operator"},
		{"count!20", "malformed operator"},
		{"p(95)", "no comparison"},
		{"p(95)<", "no value"},
		{"p(95)<-3", "negative"},
		{"p(95)<-3s", "negative"},
		{"p(95)<NaN", `"NaN" is not a duration`},
		{"p(95)<fast", "not a duration"},
		{"latency<1s", "unknown metric"},
		{"rate<0.01", `write http_req_failed: rate<0.01`},
		{"value>0", "no gauges"},
		{"count>-1", "not a number of requests"},
		{"request_rate>fast", "not a request rate"},
		{"p(99){phase:deploy}[10s]<1s", `scope "{phase:deploy}": a run without a deploy has no phases`},
		{"p(99){group:browse}<1s", `scope "{group:browse}": no target is in a group named "browse"`},
		{"p(99)[1.5s]<1s", `window "[1.5s]": want whole seconds`},
		{"p(99){target:search}<1s", `no target is named "search"`},
		{"p(99){url:http://h/}<1s", "write {target:NAME}"},
		{"p(99){method}<1s", `tag "method": want key:value`},
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
	min, p95, p99, mean, max, downtime time.Duration
	errorRate                          float64
}

func (o observed) Quantile(q float64) time.Duration {
	switch {
	case q == 0:
		return o.min
	case q >= 0.99:
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
	}, func(Threshold) Observed { return obs })
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

// counted is an observed run that also counts its requests.
type counted struct {
	observed
	requests int64
	rate     float64
}

func (c counted) RequestCount() int64  { return c.requests }
func (c counted) RequestRate() float64 { return c.rate }

func TestEvaluateJudgesK6Aggregations(t *testing.T) {
	t.Parallel()
	run := counted{observed: observed{min: 2 * time.Millisecond, mean: 200 * time.Millisecond}, requests: 1000, rate: 49.8}
	thresholds, err := ParseLine("http_reqs: ['count==1000', 'rate>=50']", Names{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"min>=2", "min<2", "avg!=200", "avg==200ms"} {
		thresholds = append(thresholds, mustParse(t, s))
	}
	var got []bool
	for _, c := range Evaluate(thresholds, func(Threshold) Observed { return run }) {
		got = append(got, c.Pass)
	}
	if diff := cmp.Diff([]bool{true, false, true, false, false, true}, got); diff != "" {
		t.Errorf("passes (-want +got):\n%s", diff)
	}
	// A run that does not count its requests fails count thresholds, as
	// not measured.
	checks := Evaluate(thresholds[:1], func(Threshold) Observed { return run.observed })
	if checks[0].Pass || checks[0].Format(checks[0].Observed) != "not measured" {
		t.Errorf("count against a run without counts: pass %t, observed %s; want a failure, not measured", checks[0].Pass, checks[0].Format(checks[0].Observed))
	}
}

func TestParseLineReadsK6Thresholds(t *testing.T) {
	t.Parallel()
	targets := []string{"search", "GET /health", "GET http://h:8080/x"}
	tests := []struct {
		line string
		want []string // the thresholds, written back
	}{
		{"p(95)<400ms", []string{"p(95)<400ms"}},
		{"search: p(95)<300ms", []string{"search: p(95)<300ms"}},
		{"GET /health: downtime<=0s", []string{"GET /health: downtime<=0s"}},
		{"GET http://h:8080/x: p(99) < 1s", []string{"GET http://h:8080/x: p(99)<1s"}},
		{"http_req_duration: ['p(95)<500', 'p(99)<1500']", []string{"p(95)<500ms", "p(99)<1.5s"}},
		{`"http_req_duration": ["p(95)<750"],`, []string{"p(95)<750ms"}},
		{"http_req_duration: [p(95)<500, `avg<100`,]", []string{"p(95)<500ms", "avg<100ms"}},
		{"http_req_duration: []", nil},
		{"http_req_failed: rate<0.01", []string{"error_rate<1%"}},
		{"http_req_failed: rate<=1", []string{"error_rate<=100%"}},
		{"http_req_failed: 'rate<1%'", []string{"error_rate<1%"}},
		{"http_reqs: count>100", []string{"count>100"}},
		{"http_reqs: rate>=50", []string{"request_rate>=50/s"}},
		{"http_req_duration{target:search}: p(99)<800", []string{"search: p(99)<800ms"}},
		{"search: p(99){target:search}<800", []string{"search: p(99)<800ms"}},
		{"http_reqs{target:GET /health}: count>=1", []string{"GET /health: count>=1"}},
	}
	for _, tt := range tests {
		got, err := ParseLine(tt.line, Names{Targets: targets})
		if err != nil {
			t.Errorf("ParseLine(%q): %v", tt.line, err)
			continue
		}
		var written []string
		for _, th := range got {
			written = append(written, th.String())
			// What String writes reads back as the same threshold.
			if again, err := ParseLine(th.String(), Names{Targets: targets}); err != nil || len(again) != 1 || again[0] != th {
				t.Errorf("ParseLine(%q): %s reads back as %v, %v", tt.line, th, again, err)
			}
		}
		if diff := cmp.Diff(tt.want, written); diff != "" {
			t.Errorf("ParseLine(%q) (-want +got):\n%s", tt.line, diff)
		}
	}
}

func TestParseLineSaysWhatToWriteInstead(t *testing.T) {
	t.Parallel()
	tests := []struct{ line, want string }{
		{"serch: p(95)<1s", `no target or metric is named "serch"; the targets are "search"`},
		{"http_req_waiting: p(95)<100", `k6 metric "http_req_waiting" is not measured: this check times whole requests; write http_req_duration`},
		{"checks: rate>0.99", `k6 metric "checks" is not measured`},
		{"my_trend: p(95)<100", `no target or metric is named "my_trend"`},
		{"http_req_duration: count>10", "for the number of requests write http_reqs: count>N"},
		{"http_req_failed: p(95)<10", "write http_req_failed: rate<0.01"},
		{"http_reqs: value>0", "http_reqs takes count or rate"},
		{"http_req_failed: rate<1.5", `"1.5" is not a rate; want a fraction from 0 to 1`},
		{"http_req_duration{phase:deploy}: p(99)<1s", `scope "{phase:deploy}": a run without a deploy has no phases`},
		{"p(99){phase:rollout}<1s", `scope "{phase:rollout}": no phase is named "rollout"; the phases are "head", "deploy", "tail"`},
		{"http_req_duration{group:::browse}: p(99)<1s", `scope "{group:::browse}": no target is in a group named "::browse"`},
		{"p(99){group:browse,target:search}<1s", "limit a target or a group, not both"},
		{"p(99)[500ms]<1s", "want whole seconds, 1s or more"},
		{"p(99)[2h]<1s", "is longer than 1h0m0s"},
		{"downtime[10s]<1s", "downtime is already the longest window"},
		{"avg[10s]<1s", "a window judges p(N), med, max or error_rate, not avg"},
		{"error_rate{expected_response:true}<1%", "limits latency; error_rate is not one"},
		{"http_req_duration{expected_response:false}: p(95)<500", "the latency of failed requests alone is not kept"},
		{"http_req_duration{staticAsset:yes}: p(99)<500", `requests carry no "staticAsset" tag here`},
		{"http_req_duration{target:search}: p(99){target:other}<1s", `scope "{target:other}" is on target "search"'s line`},
		{"p(99){target:other}<1s", `scope "{target:other}": no target is named "other"`},
		{"search: p(99){target:GET /health}<1s", `is on target "search"'s line; name one target`},
		{"http_req_duration{target:search: p(99)<1s", "unmatched braces"},
		{"http_req_failed: [{ threshold: 'rate<=0.05', abortOnFail: true }]", "{threshold, abortOnFail} form is not read"},
		{"http_req_duration: ['p(95)<500',", "is not closed; write the whole list on one line"},
		{"http_req_duration: ['p(95)<500', , 'p(99)<1s']", "has an empty item"},
		{"http_req_duration: ['p(95)<500]", "is not a quoted expression"},
	}
	for _, tt := range tests {
		names := Names{Targets: []string{"search", "GET /health"}, Groups: []string{"browse"}}
		if strings.Contains(tt.line, "rollout") {
			names.Phases = []string{"head", "deploy", "tail"}
		}
		_, err := ParseLine(tt.line, names)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseLine(%q) error = %v, want one saying %q", tt.line, err, tt.want)
		}
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
		{Threshold{Metric: Count}.Format(1234), "1234"},
		{Threshold{Metric: RequestRate}.Format(49.87654), "49.877/s"},
		{Threshold{Metric: Quantile}.Format(math.NaN()), "not measured"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
