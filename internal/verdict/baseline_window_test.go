package verdict

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/zerodowntime/deploy-load-check/internal/messagecheck"
)

// mergedWindows is the plain way: merge each window afresh, to ask the
// merged histogram. A run shorter than the window is one window.
func mergedWindows(perSecond []*hdrhistogram.Histogram, window int) []*hdrhistogram.Histogram {
	window = min(window, len(perSecond))
	var merged []*hdrhistogram.Histogram
	for first := 0; first+window <= len(perSecond); first++ {
		m := newLatencyHistogram()
		for _, h := range perSecond[first : first+window] {
			if h != nil {
				m.Merge(h)
			}
		}
		merged = append(merged, m)
	}
	return merged
}

func worstOfMerged(merged []*hdrhistogram.Histogram, q float64) (time.Duration, int) {
	worst, start := time.Duration(0), -1
	for first, m := range merged {
		if m.TotalCount() == 0 {
			continue
		}
		if v := time.Duration(m.ValueAtQuantile(q*100)) * time.Microsecond; start < 0 || v > worst {
			worst, start = v, first
		}
	}
	return worst, start
}

func TestWorstWindowMatchesMergedWindows(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(21, 22))
	for round := range 8 {
		seconds := 1 + rng.IntN(50)
		perSecond := make([]*hdrhistogram.Histogram, seconds)
		for i := range perSecond {
			if rng.IntN(6) == 0 {
				continue // a second without requests
			}
			h := newLatencyHistogram()
			median := 20 * time.Millisecond
			if rng.IntN(10) == 0 {
				median = 700 * time.Millisecond // a slow spell
			}
			for _, v := range lognormal(rng, rng.IntN(80), median, 0.5, 0) {
				_ = h.RecordValue(v)
			}
			perSecond[i] = h
		}
		window := 1 + rng.IntN(15)
		merged := mergedWindows(perSecond, window)
		for _, q := range []float64{0.5, 0.95, 0.99, 0.999, 1} {
			got, gotStart, err := WorstWindow(perSecond, window, q)
			if err != nil {
				t.Fatal(err)
			}
			want, wantStart := worstOfMerged(merged, q)
			if got != want || gotStart != wantStart {
				t.Fatalf("round %d, %d seconds, window %d, q %v: worst %v from second %d, want %v from second %d",
					round, seconds, window, q, got, gotStart, want, wantStart)
			}
			packed, err := NewWindowedQuantile(window, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range perSecond {
				var p *hdrhistogram.PackedHistogram
				if h != nil {
					p = hdrhistogram.NewPacked(1, 3_600_000_000, 3)
					p.MergeFrom(h)
				}
				if err := packed.AddPacked(p); err != nil {
					t.Fatal(err)
				}
			}
			if got, gotStart := packed.Worst(); got != want || gotStart != wantStart {
				t.Fatalf("round %d, sparse seconds: worst %v from second %d, want %v from second %d", round, got, gotStart, want, wantStart)
			}
		}
	}
}

func TestWorstWindowFindsTheSlowSpell(t *testing.T) {
	t.Parallel()
	perSecond := make([]*hdrhistogram.Histogram, 120)
	for i := range perSecond {
		h := newLatencyHistogram()
		latency := int64(20_000)
		if i >= 70 && i < 73 {
			latency = 700_000 // three seconds at 700ms
		}
		_ = h.RecordValues(latency, 50)
		perSecond[i] = h
	}
	got, start, err := WorstWindow(perSecond, 10, 0.99)
	if err != nil {
		t.Fatal(err)
	}
	if got < 699*time.Millisecond || got > 701*time.Millisecond || start != 61 {
		t.Errorf("worst 10s p99 = %v from second %d, want 700ms from second 61 (the first window holding the spell)", got, start)
	}
	// Over a minute the spell is 3 of 60 seconds: 5% of requests, over the
	// 1% a p99 ignores.
	if got, _, _ := WorstWindow(perSecond, 60, 0.99); got < 699*time.Millisecond {
		t.Errorf("worst 60s p99 = %v, want 700ms", got)
	}
	if got, _, _ := WorstWindow(perSecond, 120, 0.9); got > 21*time.Millisecond {
		t.Errorf("p90 of the whole run = %v, want 20ms", got)
	}
}

func TestWorstWindowOnAShortOrEmptyRun(t *testing.T) {
	t.Parallel()
	h := newLatencyHistogram()
	_ = h.RecordValue(1500)
	got, start, err := WorstWindow([]*hdrhistogram.Histogram{nil, h}, 10, 0.99)
	if err != nil || got != 1500*time.Microsecond || start != 0 {
		t.Errorf("two seconds, 10s window = %v from %d (%v), want the whole run as one window: 1.5ms from 0", got, start, err)
	}
	for _, perSecond := range [][]*hdrhistogram.Histogram{nil, {nil, nil}, {newLatencyHistogram()}} {
		got, start, err := WorstWindow(perSecond, 3, 0.99)
		if err != nil || got != 0 || start != -1 {
			t.Errorf("no requests: %v from %d (%v), want 0 from -1", got, start, err)
		}
	}
}

func TestWorstWindowRejectsWithAReason(t *testing.T) {
	t.Parallel()
	other := hdrhistogram.New(1, 1_000_000, 2)
	_ = other.RecordValue(5)
	tests := []struct {
		perSecond []*hdrhistogram.Histogram
		window    int
		q         float64
		in, want  string
	}{
		{nil, 0, 0.99, "0", "too short"},
		{nil, 10, 0, "0", "out of range"},
		{nil, 10, 1.5, "1.5", "out of range"},
		{[]*hdrhistogram.Histogram{newLatencyHistogram(), other}, 10, 0.99, "second 1", "unlike the others"},
		{[]*hdrhistogram.Histogram{nil, other, newLatencyHistogram()}, 10, 0.99, "second 2", "unlike the others"},
	}
	for _, tt := range tests {
		_, _, err := WorstWindow(tt.perSecond, tt.window, tt.q)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.in) {
			t.Errorf("WorstWindow(window %d, q %v) error = %v, want one saying %q about %q", tt.window, tt.q, err, tt.want, tt.in)
			continue
		}
		messagecheck.Check(t, "WorstWindow", tt.in, err)
	}
}

// BenchmarkWorstWindow slides a 10 s window over an hour of seconds at 500
// requests per second.
func BenchmarkWorstWindow(b *testing.B) {
	rng := rand.New(rand.NewPCG(23, 24))
	perSecond := make([]*hdrhistogram.Histogram, 3600)
	for i := range perSecond {
		perSecond[i] = newLatencyHistogram()
		for _, v := range lognormal(rng, 500, 20*time.Millisecond, 0.5, 0) {
			_ = perSecond[i].RecordValue(v)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := WorstWindow(perSecond, 10, 0.99); err != nil {
			b.Fatal(err)
		}
	}
}
