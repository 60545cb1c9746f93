package load

import (
	"fmt"
	"math"
	"math/bits"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Pacer sends hits on an open-model schedule: a linear ramp from zero to
// Steady over RampUp, then Steady held for as long as the attack lasts. The
// schedule depends only on elapsed time, never on how fast the target
// answers, so a slow target cannot slow the load down.
//
// With Shards set, it is one of that many shares of the schedule, like a k6
// execution segment: the Shard-th (from 1) sends hits Shard−1, Shard−1+N,
// Shard−1+2N, ... of the whole schedule, so the shards' hits interleave
// and together make the whole rate exactly.
type Pacer struct {
	Steady        vegeta.Rate
	RampUp        time.Duration
	Shard, Shards int
}

var _ vegeta.Pacer = Pacer{}

// String describes the schedule the way vegeta's pacers do.
func (p Pacer) String() string {
	if p.Shards > 1 {
		return fmt.Sprintf("Ramp{%d hits/%s after %s, share %d of %d}", p.Steady.Freq, p.Steady.Per, p.RampUp, p.Shard, p.Shards)
	}
	return fmt.Sprintf("Ramp{%d hits/%s after %s}", p.Steady.Freq, p.Steady.Per, p.RampUp)
}

// ShareRate is the rate this share holds: Steady, or its Shards-th part.
func (p Pacer) ShareRate() vegeta.Rate {
	shards, _ := p.share()
	return vegeta.Rate{Freq: p.Steady.Freq, Per: p.Steady.Per * time.Duration(shards)}
}

// share returns the number of shares and this one's offset among them.
func (p Pacer) share() (shards, offset uint64) {
	if p.Shards <= 1 || p.Shard < 1 || p.Shard > p.Shards {
		return 1, 0
	}
	return uint64(p.Shards), uint64(p.Shard - 1)
}

// Pace returns how long to wait before the next hit. A negative or zero wait
// means the attack is behind schedule and the hit is due now.
func (p Pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.Steady.Freq <= 0 || p.Steady.Per <= 0 || p.RampUp < 0 {
		return 0, true
	}
	due, ok := p.DueAt(hits)
	if !ok {
		return 0, true
	}
	return due - elapsed, false
}

// Rate returns the instantaneous rate in hits per second at elapsed, of
// this share.
func (p Pacer) Rate(elapsed time.Duration) float64 {
	shards, _ := p.share()
	perSecond := p.perNanosecond() * 1e9 / float64(shards)
	if elapsed < p.RampUp {
		return perSecond * float64(elapsed) / float64(p.RampUp)
	}
	return perSecond
}

// Planned returns how many hits the schedule (this share of it) has asked
// for before elapsed: the hits due in [0, elapsed), the first being due at
// the start. A run stopped at elapsed sends exactly these, so a run of 2 s
// at 50/s plans 100, as vegeta's attack of -duration 2s sends.
func (p Pacer) Planned(elapsed time.Duration) uint64 {
	if elapsed <= 0 {
		return 0
	}
	// An estimate from the schedule's curve, then corrected by DueAt
	// itself, so that the two never disagree on a hit at the boundary.
	shards, offset := p.share()
	r, ramp, x := p.perNanosecond(), float64(p.RampUp), float64(elapsed)
	var whole float64
	if x < ramp {
		whole = r * x * x / (2 * ramp)
	} else {
		whole = r*ramp/2 + r*(x-ramp)
	}
	n := uint64(0)
	if est := math.Ceil(whole); est > float64(offset) && est < math.MaxInt64 {
		n = (uint64(est) - offset + shards - 1) / shards
	}
	for n > 0 && !p.dueBefore(n-1, elapsed) {
		n--
	}
	for p.dueBefore(n, elapsed) {
		n++
	}
	return n
}

// dueBefore reports whether hit n of this share is due before elapsed.
func (p Pacer) dueBefore(n uint64, elapsed time.Duration) bool {
	due, ok := p.DueAt(n)
	return ok && due < elapsed
}

// DueAt returns the elapsed time at which hit number n (counting from zero)
// of this share is due: the first moment the schedule has reached its hit,
// to the nanosecond, so the first goes at the start rather than one
// interval in, and at 50/s hit 100 is due at 2 s exactly, not a rounding
// error before. ok is false when the answer does not fit in a
// time.Duration.
func (p Pacer) DueAt(n uint64) (due time.Duration, ok bool) {
	shards, offset := p.share()
	hi, whole := bits.Mul64(n, shards)
	whole, carry := bits.Add64(whole, offset, 0)
	if hi != 0 || carry != 0 || p.Steady.Freq <= 0 || p.Steady.Per <= 0 || p.RampUp < 0 {
		return 0, false
	}
	freq, per, ramp := uint64(p.Steady.Freq), uint64(p.Steady.Per), uint64(p.RampUp)
	// The ramp asks for Freq·RampUp/(2·Per) hits; past them the schedule
	// is steady, where hit k is due at k·Per/Freq + RampUp/2, worked out
	// in whole numbers: 2·Freq·due ≥ 2·k·Per + RampUp·Freq.
	rampHi, rampLo := bits.Mul64(freq, ramp)
	wholeHi, wholeLo := bits.Mul64(whole, 2*per)
	if ramp > 0 && (wholeHi < rampHi || wholeHi == rampHi && wholeLo < rampLo) {
		// On the ramp, hit k is due at √(2·RampUp·k·Per/Freq).
		at := math.Ceil(math.Sqrt(2 * float64(ramp) * float64(whole) * float64(per) / float64(freq)))
		if at >= math.MaxInt64 {
			return 0, false
		}
		return time.Duration(at), true
	}
	lo, c := bits.Add64(wholeLo, rampLo, 0)
	hi, c = bits.Add64(wholeHi, rampHi, c)
	if c != 0 {
		return 0, false
	}
	return ceilDiv(hi, lo, 2*freq)
}

// ceilDiv divides the 128-bit number hi·2⁶⁴+lo by d, rounding up; ok is
// false when the quotient does not fit in a time.Duration.
func ceilDiv(hi, lo, d uint64) (time.Duration, bool) {
	if d == 0 || hi >= d {
		return 0, false
	}
	q, rem := bits.Div64(hi, lo, d)
	if q > math.MaxInt64 || rem > 0 && q == math.MaxInt64 {
		return 0, false
	}
	if rem > 0 {
		q++
	}
	return time.Duration(q), true
}

func (p Pacer) perNanosecond() float64 {
	return float64(p.Steady.Freq) / float64(p.Steady.Per)
}
