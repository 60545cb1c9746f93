package verdict

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
)

// Explore with
//
//	go test -run '^$' -fuzz '^FuzzLatency$' -fuzztime 45s ./internal/verdict/

// FuzzLatency reads two samples from the bytes (each value 1 to 2^32 µs,
// each repeated 1 to 16 times, the first byte splitting them) and checks
// what holds of any comparison: U within its range, a p-value, a shift
// inside its interval, figures that go into JSON, and no panic.
func FuzzLatency(f *testing.F) {
	f.Add([]byte{3, 0, 0, 1, 0, 1, 0, 0, 2, 0, 2, 0, 0, 3, 0, 3})
	f.Add([]byte{1, 255, 255, 255, 255, 15, 0, 0, 0, 1, 0})
	f.Add([]byte{2, 0, 0, 7, 208, 15, 0, 0, 7, 209, 15, 0, 0, 7, 210, 15})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 1 {
			return
		}
		split := int(data[0])
		base, cand := newLatencyHistogram(), newLatencyHistogram()
		for i, rest := 0, data[1:]; len(rest) >= 5; i, rest = i+1, rest[5:] {
			v := int64(binary.BigEndian.Uint32(rest))%3_600_000_000 + 1
			n := int64(rest[4]%16) + 1
			h := cand
			if i < split {
				h = base
			}
			if err := h.RecordValues(v, n); err != nil {
				t.Fatal(err)
			}
		}
		b, err := NewBaseline(WithMinRequests(2))
		if err != nil {
			t.Fatal(err)
		}
		got := b.Latency(Sample{Latency: base}, Sample{Latency: cand})
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("figures do not go into JSON: %v (%+v)", err, got)
		}
		if got.Decision == Inconclusive && (base.TotalCount() < 2 || cand.TotalCount() < 2) {
			return
		}
		pairs := float64(base.TotalCount()) * float64(cand.TotalCount())
		if got.U < 0 || got.U > pairs {
			t.Errorf("U = %v, want 0 to %v", got.U, pairs)
		}
		if !(got.PValue >= 0 && got.PValue <= 1) || math.IsNaN(got.Z) {
			t.Errorf("p-value %v, z %v", got.PValue, got.Z)
		}
		if !(got.Low <= got.Shift && got.Shift <= got.High) {
			t.Errorf("shift %v outside its interval [%v, %v]", got.Shift, got.Low, got.High)
		}
		if got.Decision == Regression && got.Shift <= got.Allowed {
			t.Errorf("a regression with a shift of %v, allowed %v", got.Shift, got.Allowed)
		}
	})
}
