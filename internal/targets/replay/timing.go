package replay

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// ParseSpeed reads a replay speed such as "1x", "2x" or "0.5x": how much
// faster than recorded to replay. Empty means 0: not by the recorded
// timing, at the configured rate.
func ParseSpeed(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseFloat(strings.TrimSuffix(strings.ToLower(s), "x"), 64)
	if err != nil || !strings.HasSuffix(strings.ToLower(s), "x") || n <= 0 || n > 1000 || math.IsNaN(n) {
		return 0, fmt.Errorf("%q is not a replay speed; want a multiple of the recorded pace such as \"1x\", \"2x\" or \"0.5x\"", s)
	}
	return n, nil
}

// Timing paces hits by the recorded times of a replay file: hit n is due
// when the n-th request was recorded, relative to the first, divided by
// the speed. An entry without a time is due one rate interval after the
// one before it, and so is the first entry of each new pass over the file.
// A recorded time earlier than the one before it (logs are written as
// requests end, not as they start) is due at once after it.
//
// Timing reads its own Reader over the same file, with the same options
// as the one handing out the requests, so both agree on which entries are
// sent: the n-th hit goes out at the n-th request's time. Pace is called
// from one goroutine, as vegeta's attack does.
type Timing struct {
	src *Reader

	mu       sync.Mutex
	schedule schedule
	computed uint64 // hits whose due time is known
	due      [timingWindow]time.Duration
	err      error
}

// schedule places hits one after another by their requests' recorded
// times: the rule Timing paces by, and Scan measures the pace with.
type schedule struct {
	speed      float64
	interval   time.Duration
	placed     uint64
	last       time.Duration // due time of the latest hit placed
	cycle      int
	passStart  time.Duration // due time of the first timed hit of this pass
	passOffset time.Duration // recorded offset of that hit
	offsetSeen bool
}

// place returns when the hit sending req is due, req being the request
// after the one placed before.
func (s *schedule) place(req *Request) time.Duration {
	next := s.last + s.interval
	if s.placed == 0 {
		next = 0
	}
	if req.Cycle != s.cycle {
		s.cycle, s.offsetSeen = req.Cycle, false
	}
	if req.Timed {
		if !s.offsetSeen {
			// The first timed entry of a pass anchors the pass.
			s.passStart, s.passOffset, s.offsetSeen = next, req.Offset, true
		}
		next = max(s.last, s.passStart+time.Duration(float64(req.Offset-s.passOffset)/s.speed))
	}
	s.last = next
	s.placed++
	return next
}

// timingWindow is how many past hits DueAt remembers, to tell how late
// each was sent once its result comes back.
const timingWindow = 1 << 14

var _ vegeta.Pacer = (*Timing)(nil)

// NewTiming paces by src's recorded times at speed (1 is the recorded
// pace); rate paces the entries that have no time.
func NewTiming(src *Reader, speed float64, rate vegeta.Rate) (*Timing, error) {
	if speed <= 0 || math.IsInf(speed, 0) || math.IsNaN(speed) {
		return nil, fmt.Errorf("replay speed %v: want a positive multiple such as 1 or 2", speed)
	}
	if rate.Freq <= 0 || rate.Per <= 0 {
		return nil, errors.New("replay timing: the rate for entries without a time must be positive")
	}
	return &Timing{src: src, schedule: schedule{speed: speed, interval: rate.Per / time.Duration(rate.Freq)}}, nil
}

// String describes the pacer as vegeta's do.
func (t *Timing) String() string { return fmt.Sprintf("Recorded{%gx}", t.schedule.speed) }

// Pace returns how long to wait before hit number hits (from zero). It
// stops the attack when the file ends (read Once) or cannot be read.
func (t *Timing) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	due, ok := t.DueAt(hits)
	if !ok {
		return 0, true
	}
	return due - elapsed, false
}

// DueAt returns when hit n (from zero) is due, reading ahead as far as n;
// ok is false past the end of a file read Once, after a read error (see
// Err) and for a hit more than 16,384 behind the latest one computed.
func (t *Timing) DueAt(n uint64) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.computed <= n {
		if t.err != nil {
			return 0, false
		}
		t.advance()
	}
	if n+timingWindow < t.computed {
		return 0, false
	}
	return t.due[n%timingWindow], true
}

// Err returns the error that stopped the timing, if any; io.EOF is not
// one.
func (t *Timing) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if errors.Is(t.err, io.EOF) {
		return nil
	}
	return t.err
}

// advance computes the due time of the next hit; t.mu is held.
func (t *Timing) advance() {
	var req Request
	if err := t.src.Next(&req); err != nil {
		t.err = err
		return
	}
	t.due[t.computed%timingWindow] = t.schedule.place(&req)
	t.computed++
}

// Planned returns how many hits are due by elapsed, counting the first,
// due at the start: the hits a generator that kept the schedule has sent.
// It reads ahead as far as the first hit due after elapsed.
func (t *Timing) Planned(elapsed time.Duration) uint64 {
	if elapsed < 0 {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.err == nil && (t.computed == 0 || t.schedule.last <= elapsed) {
		t.advance()
	}
	// Due times never decrease: the first one after elapsed is found by
	// bisection over the hits remembered.
	oldest := t.computed - min(t.computed, timingWindow)
	lo, hi := oldest, t.computed
	for lo < hi {
		mid := lo + (hi-lo)/2
		if t.due[mid%timingWindow] <= elapsed {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Rate returns the recorded pace, in hits per second, over the last
// hundred hits computed.
func (t *Timing) Rate(time.Duration) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	span := min(t.computed, 100)
	if span < 2 {
		return 0
	}
	newest, oldest := t.due[(t.computed-1)%timingWindow], t.due[(t.computed-span)%timingWindow]
	if newest <= oldest {
		return math.Inf(1)
	}
	return float64(span-1) / (newest - oldest).Seconds()
}
