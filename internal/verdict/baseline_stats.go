package verdict

import (
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// bin is one histogram bucket with data. mid2 is twice the bucket's
// midpoint in microseconds: an integer, as buckets span whole microseconds,
// so that differences and their order are exact.
type bin struct {
	mid2  int64
	count int64
}

// bins are a histogram's buckets with data, in increasing value, and their
// total count.
type bins struct {
	list  []bin
	total int64
}

func binsOf(h *hdrhistogram.Histogram) bins {
	var b bins
	if h == nil || h.TotalCount() == 0 {
		return b
	}
	for _, bar := range h.Distribution() {
		if bar.Count > 0 {
			b.list = append(b.list, bin{mid2: bar.From + bar.To, count: bar.Count})
			b.total += bar.Count
		}
	}
	return b
}

// mwu is a Mann–Whitney U statistic with what its normal approximation
// needs.
type mwu struct {
	u       float64 // of the candidate: pairs it is slower in, ties one half
	m, n    float64 // baseline and candidate sizes
	tieTerm float64 // sum of t³ − t over the tie groups of both samples
}

// mannWhitney computes U by merging the two bucket lists: a candidate
// bucket is slower than every baseline request in a lower bucket, and tied
// with those in its own. Equal midpoints are one value, so histograms of
// the same geometry tie exactly bucket for bucket.
func mannWhitney(base, cand bins) mwu {
	r := mwu{m: float64(base.total), n: float64(cand.total)}
	var below float64 // baseline requests in lower buckets
	i, j := 0, 0
	for i < len(base.list) || j < len(cand.list) {
		var v int64
		switch {
		case j == len(cand.list):
			v = base.list[i].mid2
		case i == len(base.list):
			v = cand.list[j].mid2
		default:
			v = min(base.list[i].mid2, cand.list[j].mid2)
		}
		var b, c float64
		if i < len(base.list) && base.list[i].mid2 == v {
			b = float64(base.list[i].count)
			i++
		}
		if j < len(cand.list) && cand.list[j].mid2 == v {
			c = float64(cand.list[j].count)
			j++
		}
		r.u += c * (below + b/2)
		t := b + c
		r.tieTerm += t*t*t - t
		below += b
	}
	return r
}

// sigma is U's standard deviation under the null, corrected for ties as
// SciPy's mannwhitneyu corrects it.
func (r mwu) sigma() float64 {
	total := r.m + r.n
	if total < 2 {
		return 0
	}
	v := r.m * r.n / 12 * ((total + 1) - r.tieTerm/(total*(total-1)))
	return math.Sqrt(max(v, 0))
}

// z standardises U with the continuity correction for the one-sided
// alternative "the candidate is slower". With every request tied it is
// -Inf, and the p-value 1, as in SciPy.
func (r mwu) z() float64 {
	numerator := r.u - r.m*r.n/2 - 0.5
	s := r.sigma()
	if s == 0 {
		return math.Copysign(math.Inf(1), numerator)
	}
	return numerator / s
}

// pGreater is the one-sided p-value of the normal approximation.
func (r mwu) pGreater() float64 { return normalSF(r.z()) }

// normalSF is the standard normal's survival function, P(Z > z).
func normalSF(z float64) float64 { return math.Erfc(z/math.Sqrt2) / 2 }

// normalUpper is the z whose survival probability is p, for 0 < p < 1.
func normalUpper(p float64) float64 { return math.Sqrt2 * math.Erfcinv(2*p) }

// differences is the distribution of candidate − baseline over all m·n
// pairs of requests, held as the two bucket lists: a pair of buckets stands
// for count × count pairs with one difference. Counts of pairs are float64,
// exact up to 2^53 pairs (about 9.4e7 requests on each side) and within
// one part in 2^53 beyond.
type differences struct {
	base, cand []bin
	// baseAtLeast[j] is the baseline count in buckets j and above.
	baseAtLeast []float64
	pairs       float64
}

func newDifferences(base, cand bins) differences {
	d := differences{base: base.list, cand: cand.list, baseAtLeast: make([]float64, len(base.list)+1)}
	for j := len(base.list) - 1; j >= 0; j-- {
		d.baseAtLeast[j] = d.baseAtLeast[j+1] + float64(base.list[j].count)
	}
	d.pairs = float64(base.total) * float64(cand.total)
	return d
}

// atMost counts the pairs whose difference, in half microseconds, is at
// most t: walking the candidate upwards, the baseline buckets at or above
// candidate − t only shrink, so one pass over each list does.
func (d differences) atMost(t int64) float64 {
	var count float64
	j := 0
	for _, c := range d.cand {
		floor := c.mid2 - t
		for j < len(d.base) && d.base[j].mid2 < floor {
			j++
		}
		count += float64(c.count) * d.baseAtLeast[j]
	}
	return count
}

// kth is the k-th smallest difference (1 ≤ k ≤ pairs) in half
// microseconds: the smallest t with at least k pairs at most t, found by
// bisection over the integers between the smallest and the largest
// difference.
func (d differences) kth(k float64) int64 {
	lo := d.cand[0].mid2 - d.base[len(d.base)-1].mid2 - 1 // no pair at or below
	hi := d.cand[len(d.cand)-1].mid2 - d.base[0].mid2     // every pair at or below
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if d.atMost(mid) >= k {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// halfMicros turns half microseconds into a duration.
func halfMicros(v int64) time.Duration { return time.Duration(v) * (time.Microsecond / 2) }

// median is the Hodges–Lehmann estimate: the median of the differences,
// the mean of the two middle ones for an even number of pairs.
func (d differences) median() time.Duration {
	if math.Mod(d.pairs, 2) == 1 {
		return halfMicros(d.kth((d.pairs + 1) / 2))
	}
	sum := d.kth(d.pairs/2) + d.kth(d.pairs/2+1)
	return time.Duration(sum) * (time.Microsecond / 4)
}

// interval is the distribution-free two-sided interval at confidence
// 1 − alpha: the k-th smallest and the k-th largest difference, where k is
// the critical value of U, from the normal approximation with a
// continuity correction, k = round(m·n/2 − z(1 − alpha/2)·sigma), and at
// least 1. It is R's wilcox.test interval (Bauer 1972) with its exact
// quantile of U replaced by that approximation, so that ties and large
// samples are handled alike.
func (d differences) interval(sigma, alpha float64) (low, high time.Duration) {
	k := math.Floor(d.pairs/2 - normalUpper(alpha/2)*sigma + 0.5)
	k = max(k, 1)
	return halfMicros(d.kth(k)), halfMicros(d.kth(d.pairs + 1 - k))
}
