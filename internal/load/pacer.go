package load

import (
	"fmt"
	"math"
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
// for by elapsed, counting the first, due at the start.
func (p Pacer) Planned(elapsed time.Duration) uint64 {
	if elapsed < 0 {
		return 0
	}
	shards, offset := p.share()
	whole := p.plannedWhole(elapsed)
	if whole <= offset {
		return 0
	}
	return (whole - offset + shards - 1) / shards
}

// plannedWhole is Planned of the whole schedule.
func (p Pacer) plannedWhole(elapsed time.Duration) uint64 {
	r, ramp, x := p.perNanosecond(), float64(p.RampUp), float64(elapsed)
	var hits float64
	if x < ramp {
		hits = r * x * x / (2 * ramp)
	} else {
		hits = r*ramp/2 + r*(x-ramp)
	}
	// A hit exactly on the boundary counts; float rounding must not lose it.
	return uint64(math.Floor(hits+1e-9)) + 1
}

// DueAt returns the elapsed time at which hit number n (counting from zero)
// of this share is due: the moment the schedule reaches its hit, so the
// first goes at the start rather than one interval in. ok is false when the
// answer does not fit in a time.Duration.
func (p Pacer) DueAt(n uint64) (due time.Duration, ok bool) {
	shards, offset := p.share()
	r, ramp, hits := p.perNanosecond(), float64(p.RampUp), float64(n*shards+offset)
	var at float64
	if ramp > 0 && hits <= r*ramp/2 {
		at = math.Sqrt(2 * ramp * hits / r)
	} else {
		at = hits/r + ramp/2
	}
	if at >= math.MaxInt64 {
		return 0, false
	}
	return time.Duration(at), true
}

func (p Pacer) perNanosecond() float64 {
	return float64(p.Steady.Freq) / float64(p.Steady.Per)
}
