package verdict

import (
	"fmt"
	"math"
)

// ErrorTest names the test an ErrorShift used.
type ErrorTest string

// The two-proportion tests. Fisher's exact test is used when any cell of
// the 2×2 table (failed and succeeded requests of each window) expects
// fewer than five requests under the null, where the normal approximation
// fails; the pooled z-test otherwise, where Fisher's sum would grow with
// the counts and the two agree.
const (
	FisherExact ErrorTest = "Fisher's exact test"
	PooledZ     ErrorTest = "pooled z-test"
)

// ErrorShift is the comparison of a candidate's error rate with a
// baseline's.
type ErrorShift struct {
	Decision Decision
	// Reason explains the decision in one line.
	Reason string

	Baseline, Candidate                  string // the windows' names
	BaselineRequests, BaselineFailures   int64
	CandidateRequests, CandidateFailures int64
	BaselineRate, CandidateRate          float64
	Confidence                           float64

	// Test is the test used; Z is the pooled z statistic, 0 for Fisher's
	// test. PValue is one-sided: the chance of the candidate failing this
	// much more often if its error rate were no higher than the baseline's;
	// 1 when nothing was compared. Both are finite, for JSON.
	Test   ErrorTest
	Z      float64
	PValue float64
}

// Errors compares the candidate's error rate with the baseline's: a
// regression when the candidate fails significantly more often, one-sided
// at the confidence. There is no allowed share here: a deploy that fails
// more requests than the version before it is the regression this check
// exists for, and absolute limits (error_rate<1%) bound the rest. It is
// inconclusive when either side has fewer than MinRequests requests, or
// counts that do not add up.
func (b Baseline) Errors(baseline, candidate Sample) ErrorShift {
	e := ErrorShift{
		Baseline:          baseline.name("baseline"),
		Candidate:         candidate.name("candidate"),
		BaselineRequests:  baseline.Requests,
		BaselineFailures:  baseline.Failures,
		CandidateRequests: candidate.Requests,
		CandidateFailures: candidate.Failures,
		Confidence:        b.Confidence(),
		PValue:            1,
	}
	for _, s := range []struct {
		name               string
		requests, failures int64
	}{{e.Baseline, e.BaselineRequests, e.BaselineFailures}, {e.Candidate, e.CandidateRequests, e.CandidateFailures}} {
		if s.failures < 0 || s.failures > s.requests {
			e.Reason = fmt.Sprintf("%s counts %d failures of %d requests", s.name, s.failures, s.requests)
			return e
		}
	}
	if short := b.tooFew(e.Baseline, e.BaselineRequests, e.Candidate, e.CandidateRequests); short != "" {
		e.Reason = short
		return e
	}
	e.BaselineRate = float64(e.BaselineFailures) / float64(e.BaselineRequests)
	e.CandidateRate = float64(e.CandidateFailures) / float64(e.CandidateRequests)

	if minExpectedCell(e.BaselineRequests, e.BaselineFailures, e.CandidateRequests, e.CandidateFailures) < 5 {
		e.Test = FisherExact
		e.PValue = fisherGreater(e.CandidateFailures, e.CandidateRequests, e.BaselineFailures+e.CandidateFailures, e.BaselineRequests+e.CandidateRequests)
	} else {
		e.Test = PooledZ
		e.Z = pooledZ(e.BaselineRequests, e.BaselineFailures, e.CandidateRequests, e.CandidateFailures)
		e.PValue = normalSF(e.Z)
	}

	rates := fmt.Sprintf("%s failed %s of %d requests, %s %s of %d (%s, %s)",
		e.Candidate, FormatPercent(e.CandidateRate), e.CandidateRequests,
		e.Baseline, FormatPercent(e.BaselineRate), e.BaselineRequests, e.Test, formatP(e.PValue))
	if e.PValue < 1-e.Confidence {
		e.Decision = Regression
		e.Reason = rates + ": more often, at " + formatConfidence(e.Confidence) + " confidence"
	} else {
		e.Decision = Pass
		e.Reason = rates + ": not significantly more often"
	}
	return e
}

// minExpectedCell is the smallest count the 2×2 table expects in a cell if
// both windows shared one error rate.
func minExpectedCell(baseRequests, baseFailures, candRequests, candFailures int64) float64 {
	total := float64(baseRequests + candRequests)
	failures := float64(baseFailures + candFailures)
	successes := total - failures
	smallest := float64(min(baseRequests, candRequests))
	return smallest * min(failures, successes) / total
}

// pooledZ is the two-proportion z statistic with the pooled rate, no
// continuity correction: positive when the candidate fails more often. A
// table with no failures or no successes has no variance and gives 0.
func pooledZ(baseRequests, baseFailures, candRequests, candFailures int64) float64 {
	m, n := float64(baseRequests), float64(candRequests)
	pooled := float64(baseFailures+candFailures) / (m + n)
	se := math.Sqrt(pooled * (1 - pooled) * (1/m + 1/n))
	if se == 0 {
		return 0
	}
	return (float64(candFailures)/n - float64(baseFailures)/m) / se
}

// fisherGreater is the one-sided p-value of Fisher's exact test: the
// hypergeometric chance that the candidate's n requests, drawn from total
// requests of which failures failed, hold k or more failures. Terms after
// the first follow by their ratio and stop once they no longer change the
// sum: at most min(n, failures) − k of them.
func fisherGreater(k, n, failures, total int64) float64 {
	lo := max(0, n+failures-total)
	hi := min(n, failures)
	if k <= lo {
		return 1
	}
	if k > hi {
		return 0
	}
	term := math.Exp(logChoose(failures, k) + logChoose(total-failures, n-k) - logChoose(total, n))
	sum := term
	for x := k; x < hi; x++ {
		// P(x+1)/P(x) for the hypergeometric distribution.
		term *= float64(failures-x) * float64(n-x) / (float64(x+1) * float64(total-failures-n+x+1))
		if term < sum*1e-17 {
			break
		}
		sum += term
	}
	return min(sum, 1)
}

func logChoose(n, k int64) float64 {
	a, _ := math.Lgamma(float64(n) + 1)
	b, _ := math.Lgamma(float64(k) + 1)
	c, _ := math.Lgamma(float64(n-k) + 1)
	return a - b - c
}
