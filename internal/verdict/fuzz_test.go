package verdict

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/messagecheck"
)

// The fuzz targets below run their seeds in every `go test`; explore with
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 45s ./internal/verdict/

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		// What users write.
		"p(95)<400ms", "p(99.9) <= 1s", "p(100)<=2s", "p(50)>=0s", "avg<200ms",
		"med < 100ms", "max<5s", "error_rate<0.5%", "error_rate<=0.005",
		"error_rate < 1 %", "downtime<=1s", "downtime<=0s", "max>1m30s",
		"p(0.001)<1µs", "avg<999.96ms", "max<59.996s", "max<2562047h47m",
		// What they get wrong.
		"", "p(95)", "p(95)<", "p(95)<<3", "p(95)<>1s", "p(95)=<1s", "p(95)=1s",
		"p(101)<1s", "p(0)<1s", "p(-5)<1s", "p(NaN)<1s", "p(Inf)<1s", "p()<1s",
		"p(95<1s", "P(95)<1s", "latency<1s", "p(95)<1", "p(95)<-1s", "p(95)<fast",
		"error_rate<150%", "error_rate<-1%", "error_rate<NaN", "error_rate<%",
		"downtime<=never", "avg<9999999999h", "<1s", "> ", "p(9e999)<1s",
		"p(95)<1s\n", "\xff<1s", "avg<1s\x00",
		// k6's forms.
		"p(95)<500", "p(0)<1", "min>0", "avg===1", "max!=2", "count>20", "count!20", "request_rate>=50/s",
		"p(foo)<1", "p(+Inf)<1", "rate<0.01", "value>1", "p(99){phase:deploy}[10s]<1s", "p(99)[10s]<1s",
		"p(99){target:x}<1s", "p(99){a}<1s", "p(99){a:b<1s", "{]<0", "p(95)<1e400", "p(95)<-0", "count>1e300",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Parse(in)
		if err != nil {
			messagecheck.Check(t, "Parse", in, err)
			// "no comparison" is the one message without a quote; the
			// thresholds input adds the line it came from.
			if strings.ContainsAny(in, "<>=!") && !strings.HasPrefix(err.Error(), "no comparison") && !messagecheck.QuotesPartOf(err.Error(), in) {
				t.Errorf("Parse(%q) error %q quotes no part of the threshold", in, err)
			}
			// A percentile said to be out of range is a number.
			if p, ok := strings.CutPrefix(err.Error(), "percentile "); ok {
				quoted, _ := strconv.QuotedPrefix(p)
				value, _ := strconv.Unquote(quoted)
				if _, perr := strconv.ParseFloat(strings.TrimSpace(value), 64); perr != nil && !strings.Contains(perr.Error(), "range") {
					t.Errorf("Parse(%q) error %q calls %q out of range; it is not a number", in, err, value)
				}
			}
			return
		}
		checkThreshold(t, in, got)

		// String writes what Parse reads, up to the precision it shows.
		text := got.String()
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) = %+v, whose String %q does not parse: %v", in, got, text, err)
		}
		if again.Metric != got.Metric || again.Op != got.Op || again.Percentile != got.Percentile {
			t.Errorf("Parse(%q) = %+v; its String %q parses as %+v", in, got, text, again)
		}
		if diff := math.Abs(again.Limit - got.Limit); diff > shownPrecision(got) {
			t.Errorf("Parse(%q) limit %v; its String %q parses as %v, %v apart", in, got.Limit, text, again.Limit, diff)
		}
		// After one round the text is settled.
		if settled := again.String(); mustParse(t, settled).String() != settled {
			t.Errorf("Parse(%q): String %q does not settle: %q", in, settled, mustParse(t, settled).String())
		}
	})
}

func FuzzParseFraction(f *testing.F) {
	for _, seed := range []string{
		"0.5%", "1%", "0%", "100%", "0.005", "0", "1", " 2.5 % ", "0.001%",
		"", "%", "%%", "1%%", "150%", "-1%", "1.5", "-0.1", "NaN", "NaN%", "Inf",
		"-Inf%", "1e400", "0x1p-2", "five", "1,5%", "1_0%", "\xff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseFraction(in)
		if err != nil {
			messagecheck.Check(t, "ParseFraction", in, err)
			if !strings.Contains(err.Error(), strconv.Quote(in)) {
				t.Errorf("ParseFraction(%q) error %q does not quote the value", in, err)
			}
			return
		}
		if math.IsNaN(got) || got < 0 || got > 1 || math.Signbit(got) {
			t.Errorf("ParseFraction(%q) = %v, want a fraction in [0, 1]", in, got)
		}
	})
}

func FuzzParseLatency(f *testing.F) {
	for _, seed := range []string{
		"400ms", "1.5s", "0s", "0", " 2m ", "1h2m3s", "500µs", "500us", "1ns",
		"2562047h47m16.854775807s", "+1s", ".5s",
		"", "500", "-5ms", "-0s", "fast", "1e3s", "Inf", "NaN", "1s1", "9999999999h",
		"2562047h47m16.854775808s", "\xff", "1 s",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseLatency(in)
		if err != nil {
			messagecheck.Check(t, "ParseLatency", in, err)
			if !strings.Contains(err.Error(), strconv.Quote(in)) {
				t.Errorf("ParseLatency(%q) error %q does not quote the value", in, err)
			}
			return
		}
		if got < 0 {
			t.Errorf("ParseLatency(%q) = %s, want a duration of 0s or more", in, got)
		}
		if want, err := time.ParseDuration(strings.TrimSpace(in)); err != nil || got != want {
			t.Errorf("ParseLatency(%q) = %s; time.ParseDuration says %s, %v", in, got, want, err)
		}
	})
}

// checkThreshold fails the test unless th is a threshold Parse may return.
func checkThreshold(t *testing.T, in string, th Threshold) {
	t.Helper()
	switch th.Op {
	case Less, LessEq, Greater, GreaterEq, Equal, NotEqual:
	default:
		t.Errorf("Parse(%q) op = %q", in, th.Op)
	}
	if math.IsNaN(th.Limit) || math.IsInf(th.Limit, 0) || th.Limit < 0 {
		t.Errorf("Parse(%q) limit = %v, want a finite value of 0 or more", in, th.Limit)
	}
	switch th.Metric {
	case Quantile:
		if !(th.Percentile >= 0 && th.Percentile <= 100) || math.Signbit(th.Percentile) {
			t.Errorf("Parse(%q) percentile = %v, want 0 <= N <= 100", in, th.Percentile)
		}
	case ErrorRate:
		if th.Limit > 1 {
			t.Errorf("Parse(%q) error-rate limit = %v, want a fraction in [0, 1]", in, th.Limit)
		}
	case Mean, Median, Min, Max, Downtime, Count, RequestRate:
	default:
		t.Errorf("Parse(%q) metric = %d", in, th.Metric)
	}
	if th.Metric != Quantile && th.Percentile != 0 {
		t.Errorf("Parse(%q) percentile = %v for %s", in, th.Percentile, th.Name())
	}
}

// shownPrecision is how far String may round the threshold's limit.
func shownPrecision(th Threshold) float64 {
	const slack = 1e-9
	switch th.Metric {
	case ErrorRate:
		return 0.5e-5 + slack // three decimals of a percent
	case Count:
		return 0 // written in full
	case RequestRate:
		return 0.5e-3 + th.Limit*slack // three decimals
	}
	s := th.Limit
	switch {
	case s < 1e-3:
		return 0.5e-6 + slack // whole microseconds
	case s < 1:
		return 0.05e-3 + slack // tenths of a millisecond
	case s < 60:
		return 0.005 + slack // hundredths of a second
	}
	return 0.5 + s*slack // whole seconds
}

func mustParse(t *testing.T, s string) Threshold {
	t.Helper()
	th, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return th
}
