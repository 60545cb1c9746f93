package verdict

import (
	"fmt"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// WindowedQuantile finds the sliding window of consecutive seconds with the
// highest latency quantile, fed one second at a time, so that a windowed
// threshold such as p(99)[10s]<1s is judged without keeping the run.
// Memory is bounded by the window, not the run: each second inside the
// window is held as its buckets with data, and their sum as one sorted
// list, to which an arriving second is added and from which the leaving
// one is subtracted.
//
// A window's quantile is the one hdrhistogram's ValueAtQuantile gives for
// the window's merged histogram. Windows without a request are skipped; of
// equal windows the earliest counts. A run shorter than the window is
// judged as one window from second 0, so that a short run cannot pass a
// windowed limit by having no full window. Every second must share one
// histogram geometry.
type WindowedQuantile struct {
	window  int
	q       float64
	seconds int // added so far

	// geometry is the first histogram's; slot turns a dense second into
	// its buckets with data without allocating, once warm.
	geometry *hdrhistogram.Histogram
	slot     *hdrhistogram.PackedHistogram

	ring    [][]valueCount // the seconds inside the window, by second % window
	sum     []valueCount   // their sum, by increasing value
	scratch []valueCount
	total   int64

	worst      int64 // lowest value of the worst window's quantile bucket
	worstStart int
}

// valueCount is a bucket with data: its lowest value and its count.
type valueCount struct {
	value, count int64
}

// NewWindowedQuantile tracks the q-quantile (0 < q ≤ 1) over windows of
// `window` seconds.
func NewWindowedQuantile(window int, q float64) (*WindowedQuantile, error) {
	if window < 1 {
		return nil, fmt.Errorf("window %q is too short; want 1 second or more", strconv.Itoa(window))
	}
	if !(q > 0 && q <= 1) {
		return nil, fmt.Errorf("quantile %q is out of range; want more than 0 and at most 1, such as 0.99", strconv.FormatFloat(q, 'g', -1, 64))
	}
	return &WindowedQuantile{window: window, q: q, ring: make([][]valueCount, window), worstStart: -1}, nil
}

// Add counts the next second's latencies, in microseconds; nil is a second
// without requests. The histogram is read, not kept: the caller may reset
// and reuse it.
func (w *WindowedQuantile) Add(second *hdrhistogram.Histogram) error {
	if second == nil {
		w.add(nil)
		return nil
	}
	if err := w.checkGeometry(second.LowestTrackableValue(), second.HighestTrackableValue(), second.SignificantFigures()); err != nil {
		return err
	}
	if second.TotalCount() == 0 {
		w.add(nil)
		return nil
	}
	if w.slot == nil {
		w.slot = hdrhistogram.NewPacked(second.LowestTrackableValue(), second.HighestTrackableValue(), int(second.SignificantFigures()))
	}
	w.slot.Reset()
	w.slot.MergeFrom(second)
	w.add(w.slot)
	return nil
}

// AddPacked counts the next second's latencies from a sparse histogram, as
// a recorder keeps completed seconds; nil is a second without requests.
func (w *WindowedQuantile) AddPacked(second *hdrhistogram.PackedHistogram) error {
	if second == nil {
		w.add(nil)
		return nil
	}
	if err := w.checkGeometry(second.LowestTrackableValue(), second.HighestTrackableValue(), second.SignificantFigures()); err != nil {
		return err
	}
	if second.TotalCount() == 0 {
		w.add(nil)
		return nil
	}
	w.add(second)
	return nil
}

// checkGeometry holds every second to the first one's geometry.
func (w *WindowedQuantile) checkGeometry(lowest, highest, figures int64) error {
	if w.geometry == nil {
		w.geometry = hdrhistogram.New(lowest, highest, int(figures))
		return nil
	}
	if g := w.geometry; lowest != g.LowestTrackableValue() || highest != g.HighestTrackableValue() || figures != g.SignificantFigures() {
		return fmt.Errorf("histogram of second %d counts %d to %d with %d significant figures, unlike the others' %d to %d with %d",
			w.seconds, lowest, highest, figures, g.LowestTrackableValue(), g.HighestTrackableValue(), g.SignificantFigures())
	}
	return nil
}

// add slides the window by one second.
func (w *WindowedQuantile) add(second *hdrhistogram.PackedHistogram) {
	slot := w.seconds % w.window
	if w.seconds >= w.window {
		w.sum = w.merge(w.sum, w.ring[slot], -1)
	}
	kept := w.ring[slot][:0]
	if second != nil {
		for value, count := range second.ForEachBucket {
			kept = append(kept, valueCount{value, count})
		}
	}
	w.ring[slot] = kept
	w.sum = w.merge(w.sum, kept, 1)
	w.seconds++
	if w.seconds >= w.window {
		w.observe(w.seconds - w.window)
	}
}

// merge returns sum with each of the second's counts added (sign 1) or
// subtracted (sign -1); both lists are sorted by value. It writes into the
// scratch list and keeps the other for the next call.
func (w *WindowedQuantile) merge(sum, second []valueCount, sign int64) []valueCount {
	if len(second) == 0 {
		return sum
	}
	out := w.scratch[:0]
	i, j := 0, 0
	for i < len(sum) || j < len(second) {
		var vc valueCount
		switch {
		case j == len(second) || i < len(sum) && sum[i].value < second[j].value:
			vc = sum[i]
			i++
		case i == len(sum) || second[j].value < sum[i].value:
			vc = valueCount{second[j].value, sign * second[j].count}
			j++
		default:
			vc = valueCount{sum[i].value, sum[i].count + sign*second[j].count}
			i++
			j++
		}
		if vc.count != 0 {
			out = append(out, vc)
		}
	}
	for _, vc := range second {
		w.total += sign * vc.count
	}
	w.scratch = sum
	return out
}

// observe judges the window that starts at second start.
func (w *WindowedQuantile) observe(start int) {
	value, ok := w.quantile()
	if ok && (w.worstStart < 0 || value > w.worst) {
		w.worst, w.worstStart = value, start
	}
}

// quantile is the lowest value of the bucket in which the window's count
// reaches the quantile's rank, ranked as hdrhistogram ranks: q·total
// rounded to the nearest request, at least the first.
func (w *WindowedQuantile) quantile() (int64, bool) {
	if w.total == 0 {
		return 0, false
	}
	percentile := w.q * 100
	rank := int64(1)
	if r := (percentile/100)*float64(w.total) + 0.5; r >= float64(w.total) {
		rank = w.total
	} else if r >= 1 {
		rank = int64(r)
	}
	var seen int64
	for _, vc := range w.sum {
		if seen += vc.count; seen >= rank {
			return vc.value, true
		}
	}
	return w.sum[len(w.sum)-1].value, true
}

// Worst returns the highest quantile of any window so far and the index of
// the window's first second, reported as hdrhistogram reports a quantile:
// the highest value of its bucket. Before a full window it judges the
// seconds so far as one window. With no request at all, start is -1.
func (w *WindowedQuantile) Worst() (worst time.Duration, start int) {
	value, start := w.worst, w.worstStart
	if w.seconds < w.window {
		var ok bool
		if value, ok = w.quantile(); !ok {
			return 0, -1
		}
		start = 0
	}
	if start < 0 {
		return 0, -1
	}
	// The bucket's highest value, as ValueAtQuantile reports it: the
	// largest value of a histogram holding only that bucket.
	w.geometry.Reset()
	_ = w.geometry.RecordValue(value)
	return time.Duration(w.geometry.Max()) * time.Microsecond, start
}

// WorstWindow is WindowedQuantile over a slice of per-second histograms
// (microseconds; nil for a second without requests): the highest
// q-quantile of any window of `window` consecutive seconds and the index
// of its first second, or -1 with no request at all.
func WorstWindow(perSecond []*hdrhistogram.Histogram, window int, q float64) (worst time.Duration, start int, err error) {
	w, err := NewWindowedQuantile(window, q)
	if err != nil {
		return 0, -1, err
	}
	for _, h := range perSecond {
		if err := w.Add(h); err != nil {
			return 0, -1, err
		}
	}
	worst, start = w.Worst()
	return worst, start, nil
}
