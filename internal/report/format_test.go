package report

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/zerodowntime/deploy-load-check/internal/verdict"
)

func TestALatencyNeverReadsAsZeroUnlessItIs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 ms"},
		{time.Microsecond, "1 µs"},
		{2500 * time.Nanosecond, "2.5 µs"},
		{9 * time.Microsecond, "9 µs"},
		{10 * time.Microsecond, "0.01 ms"},
		{400 * time.Microsecond, "0.40 ms"},
		{12300 * time.Microsecond, "12.3 ms"},
		{1250 * time.Millisecond, "1.25 s"},
	} {
		if got := latency(tt.d); got != tt.want {
			t.Errorf("latency(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.00"},
		{time.Microsecond, "<0.01"},
		{5 * time.Microsecond, "0.01"},
		{410 * time.Microsecond, "0.41"},
	} {
		if got := latencyUnit(time.Millisecond).format(tt.d); got != tt.want {
			t.Errorf("a table cell of %s = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestASubMillisecondLimitIsWrittenAsSet(t *testing.T) {
	t.Parallel()
	th, err := verdict.Parse("p(95)<=1us")
	if err != nil {
		t.Fatal(err)
	}
	th.Source = "max-p95"
	rep := scenario{targets: []string{"GET /"}, interval: 10 * time.Millisecond, length: time.Second}.report(t)
	c := verdict.Check{Threshold: th, Observed: 0.012, Pass: false}
	reason := rep.checkReason(c)
	if !strings.Contains(reason, "the limit is <=1 µs (max-p95)") || strings.Contains(reason, "0.00") {
		t.Errorf("reason %q; want the limit as 1 µs", reason)
	}
	if got := rep.value(c, math.NaN()); got != "not measured" {
		t.Errorf("value(NaN) = %q", got)
	}
}
