// Package verdict parses thresholds, checks a run against them and
// explains the outcome.
package verdict

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Metric is what a threshold limits.
type Metric uint8

// Metrics a threshold can name.
const (
	Quantile  Metric = iota + 1 // p(N): latency below which N% of requests completed
	Mean                        // avg: mean latency
	Median                      // med: p(50)
	Max                         // max: slowest request
	ErrorRate                   // error_rate: failed requests / requests
	Downtime                    // downtime: longest span without a successful request
)

// Op compares the observed value with the limit.
type Op string

// Comparison operators, as in k6 thresholds.
const (
	Less      Op = "<"
	LessEq    Op = "<="
	Greater   Op = ">"
	GreaterEq Op = ">="
)

// Threshold is one limit: Metric Op Limit.
type Threshold struct {
	Metric     Metric
	Percentile float64 // for Quantile: 0 < Percentile <= 100
	Op         Op
	Limit      float64 // seconds for latency and downtime; a fraction for error_rate
	Source     string  // where it came from: an input name, or "thresholds"
	Target     string  // the target it limits; "" for the whole run
}

// Observed is what a run offers to be judged by.
type Observed interface {
	Quantile(q float64) time.Duration // q in (0, 1]
	Mean() time.Duration
	Max() time.Duration
	ErrorRate() float64
	Downtime() time.Duration
}

// Check is a threshold with the value observed and whether it held.
type Check struct {
	Threshold
	Observed float64
	Pass     bool
}

// Evaluate checks each threshold against the whole run, or against the
// target it names (target returns nil for an unknown name, which fails).
func Evaluate(thresholds []Threshold, whole Observed, target func(name string) Observed) []Check {
	checks := make([]Check, 0, len(thresholds))
	for _, t := range thresholds {
		observed := whole
		if t.Target != "" {
			if observed = target(t.Target); observed == nil {
				checks = append(checks, Check{Threshold: t, Observed: math.NaN()})
				continue
			}
		}
		v := t.observe(observed)
		checks = append(checks, Check{Threshold: t, Observed: v, Pass: t.holds(v)})
	}
	return checks
}

// Passed reports whether every check held.
func Passed(checks []Check) bool {
	for _, c := range checks {
		if !c.Pass {
			return false
		}
	}
	return true
}

func (t Threshold) observe(o Observed) float64 {
	switch t.Metric {
	case Quantile:
		return o.Quantile(t.Percentile / 100).Seconds()
	case Median:
		return o.Quantile(0.5).Seconds()
	case Mean:
		return o.Mean().Seconds()
	case Max:
		return o.Max().Seconds()
	case ErrorRate:
		return o.ErrorRate()
	case Downtime:
		return o.Downtime().Seconds()
	}
	return math.NaN()
}

func (t Threshold) holds(v float64) bool {
	switch t.Op {
	case Less:
		return v < t.Limit
	case LessEq:
		return v <= t.Limit
	case Greater:
		return v > t.Limit
	case GreaterEq:
		return v >= t.Limit
	}
	return false
}

// Name is the metric as written in a threshold: p(95), error_rate, ...
func (t Threshold) Name() string {
	switch t.Metric {
	case Quantile:
		return "p(" + strconv.FormatFloat(t.Percentile, 'f', -1, 64) + ")"
	case Mean:
		return "avg"
	case Median:
		return "med"
	case Max:
		return "max"
	case ErrorRate:
		return "error_rate"
	case Downtime:
		return "downtime"
	}
	return "?"
}

// String writes the threshold back in the syntax the thresholds input
// reads, with its target.
func (t Threshold) String() string {
	expr := t.Name() + string(t.Op) + t.Format(t.Limit)
	if t.Target != "" {
		return t.Target + ": " + expr
	}
	return expr
}

// Format writes a value of the threshold's metric: a duration or a percentage.
func (t Threshold) Format(v float64) string {
	if t.Metric == ErrorRate {
		return FormatPercent(v)
	}
	return FormatSeconds(v)
}

// FormatPercent writes a fraction as a percentage with up to three decimals.
func FormatPercent(f float64) string {
	return strconv.FormatFloat(math.Round(f*100*1000)/1000, 'f', -1, 64) + "%"
}

// FormatSeconds writes seconds as a readable duration: 412µs, 412.3ms,
// 1.25s, 2m5s, 0s. A value that rounds up to the next unit takes it (999.96ms
// is 1s).
func FormatSeconds(s float64) string {
	if s <= 0 || math.IsNaN(s) {
		return "0s"
	}
	if us := math.Round(s * 1e6); us < 1000 {
		return strconv.FormatFloat(us, 'f', -1, 64) + "µs"
	}
	if ms := math.Round(s*1e4) / 10; ms < 1000 {
		return strconv.FormatFloat(ms, 'f', -1, 64) + "ms"
	}
	if sec := math.Round(s*100) / 100; sec < 60 {
		return strconv.FormatFloat(sec, 'f', -1, 64) + "s"
	}
	// time.Duration holds about 292 years; longer is shown as that.
	ns := s * float64(time.Second)
	if ns >= math.MaxInt64 {
		return time.Duration(math.MaxInt64).String()
	}
	return time.Duration(ns).Round(time.Second).String()
}

// Parse reads one threshold such as p(95)<400ms, error_rate<0.5% or
// downtime<=1s. Spaces are allowed around the operator.
func Parse(s string) (Threshold, error) {
	text := strings.TrimSpace(s)
	i := strings.IndexAny(text, "<>")
	if i < 0 {
		return Threshold{}, errors.New("no comparison; want METRIC OP VALUE such as p(95)<400ms, error_rate<1% or downtime<=1s")
	}
	name, rest := strings.TrimSpace(text[:i]), text[i:]
	op := Op(rest[:1])
	if len(rest) > 1 && rest[1] == '=' {
		op += "="
	}
	value := strings.TrimSpace(rest[len(op):])
	if strings.ContainsAny(value, "<>=") {
		return Threshold{}, fmt.Errorf("malformed operator in %q; want one of <, <=, >, >=", text)
	}

	var t Threshold
	t.Op = op
	switch {
	case name == "avg":
		t.Metric = Mean
	case name == "med":
		t.Metric = Median
	case name == "max":
		t.Metric = Max
	case name == "error_rate":
		t.Metric = ErrorRate
	case name == "downtime":
		t.Metric = Downtime
	case strings.HasPrefix(name, "p(") && strings.HasSuffix(name, ")"):
		p, err := strconv.ParseFloat(name[2:len(name)-1], 64)
		if err != nil || math.IsNaN(p) || p < 0.001 || p > 100 {
			return Threshold{}, fmt.Errorf("percentile %q is out of range; want p(N) with 0.001 <= N <= 100, such as p(99.9)", name[2:len(name)-1])
		}
		t.Metric, t.Percentile = Quantile, p
	default:
		return Threshold{}, fmt.Errorf("unknown metric %q; want p(N), avg, med, max, error_rate or downtime", name)
	}

	if value == "" {
		return Threshold{}, fmt.Errorf("no value after %q", string(op))
	}
	if t.Metric == ErrorRate {
		f, err := ParseFraction(value)
		if err != nil {
			return Threshold{}, err
		}
		t.Limit = f
		return t, nil
	}
	d, err := ParseLatency(value)
	if err != nil {
		return Threshold{}, err
	}
	t.Limit = d.Seconds()
	return t, nil
}

// ParseFraction reads a rate as a percentage ("0.5%") or a fraction
// ("0.005"), between 0 and 100% inclusive.
func ParseFraction(s string) (float64, error) {
	text := strings.TrimSpace(s)
	scale := 1.0
	if num, ok := strings.CutSuffix(text, "%"); ok {
		text, scale = strings.TrimSpace(num), 100
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a rate; want a percentage such as 0.5%% or a fraction such as 0.005", s)
	}
	if scale == 1 && f == 1 {
		return 0, fmt.Errorf("%q is ambiguous; write 100%% for all requests, or 1%% for one in a hundred", s)
	}
	f /= scale
	if f < 0 || f > 1 {
		return 0, fmt.Errorf("%q is out of range; want 0%% to 100%% (a fraction from 0 to 1)", s)
	}
	return f + 0, nil // + 0 turns -0 into 0
}

// ParseLatency reads a non-negative duration with a unit, such as 400ms or 1.5s.
func ParseLatency(s string) (time.Duration, error) {
	text := strings.TrimSpace(s)
	d, err := time.ParseDuration(text)
	if err != nil {
		if _, numErr := strconv.ParseFloat(text, 64); numErr == nil {
			return 0, fmt.Errorf("%q has no unit; want a duration such as 400ms or 1.5s", s)
		}
		return 0, fmt.Errorf("%q is not a duration; want a duration such as 400ms or 1.5s", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative; want a duration of 0s or more", s)
	}
	return d, nil
}
