#!/usr/bin/python3
"""Reference values for the baseline comparison, from SciPy and NumPy.

Writes reference.json beside this file; the Go tests read it and need no
Python. Run with Debian's python3-scipy and python3-statsmodels:

    apt-get install python3-scipy python3-statsmodels
    /usr/bin/python3 internal/verdict/testdata/baseline/gen.py

Latency cases are lists of whole microseconds. Each is referenced twice:

  "raw": the samples as they are;
  "hdr": each sample replaced by the midpoint of the HDR histogram bucket it
         falls in (1 to 3.6e9 us, 3 significant figures), which is what the
         Go code sees. Values below 2048 us have buckets one microsecond
         wide, so for them both references agree.

U and the p-value come from scipy.stats.mannwhitneyu(candidate, baseline,
alternative="greater", method="asymptotic", use_continuity=True). The
Hodges-Lehmann shift is numpy.median of every pairwise difference
candidate - baseline, computed by brute force. The interval is the k-th
smallest and k-th largest of those sorted differences, with
k = floor(m*n/2 - norm.ppf(1 - alpha/2) * sigma + 0.5), at least 1, and
sigma U's tie-corrected standard deviation; sigma is checked against the z
SciPy reports.

Error cases reference scipy.stats.fisher_exact(alternative="greater") and
statsmodels' proportions_ztest(alternative="larger", prop_var=False), the
pooled two-proportion z-test.
"""

import json
import os

import numpy as np
import scipy
import scipy.stats as st
from statsmodels.stats.proportion import proportions_ztest


def hdr_midpoint(v):
    """Midpoint of the bucket of v in hdrhistogram.New(1, 3.6e9, 3)."""
    shift = max(0, int(v).bit_length() - 11)  # 2048 sub-buckets
    lowest = (int(v) >> shift) << shift
    return lowest + ((1 << shift) - 1) / 2


def tie_sigma(base, cand):
    m, n = len(base), len(cand)
    total = m + n
    _, t = np.unique(np.concatenate([base, cand]), return_counts=True)
    t = t.astype(float)
    tie = float((t**3 - t).sum())
    return float(np.sqrt(max(m * n / 12 * ((total + 1) - tie / (total * (total - 1))), 0.0)))


def compare(base, cand, confidence):
    base = np.asarray(base, dtype=float)
    cand = np.asarray(cand, dtype=float)
    m, n = len(base), len(cand)
    res = st.mannwhitneyu(cand, base, alternative="greater", method="asymptotic", use_continuity=True)
    u = float(res.statistic)
    sigma = tie_sigma(base, cand)
    numerator = u - m * n / 2 - 0.5
    z = numerator / sigma if sigma > 0 else float("-inf") if numerator < 0 else float("inf")
    if sigma > 0 and numerator != 0:
        # SciPy's own z, recovered from its p-value, must match ours.
        z_scipy = float(st.norm.isf(res.pvalue)) if 0 < res.pvalue < 1 else None
        if z_scipy is not None and abs(z) < 8:
            assert abs(z_scipy - z) < 1e-6 * max(1, abs(z)), (z_scipy, z)
    diffs = np.sort(np.subtract.outer(cand, base).ravel())
    pairs = m * n
    alpha = 1 - confidence
    k = int(np.floor(pairs / 2 - st.norm.ppf(1 - alpha / 2) * sigma + 0.5))
    k = max(k, 1)
    return {
        "u": u,
        "z": z if np.isfinite(z) else None,
        "p": float(res.pvalue),
        "sigma": sigma,
        "k": k,
        "shift_us": float(np.median(diffs)),
        "low_us": float(diffs[k - 1]),
        "high_us": float(diffs[pairs - k]),
    }


def latency_case(name, base, cand, confidence=0.98):
    base = [int(v) for v in base]
    cand = [int(v) for v in cand]
    assert min(base + cand) >= 1
    hdr_base = [hdr_midpoint(v) for v in base]
    hdr_cand = [hdr_midpoint(v) for v in cand]
    return {
        "name": name,
        "confidence": confidence,
        "baseline": base,
        "candidate": cand,
        "raw": compare(base, cand, confidence),
        "hdr": compare(hdr_base, hdr_cand, confidence),
    }


def error_case(name, base_requests, base_failures, cand_requests, cand_failures):
    table = [[cand_failures, cand_requests - cand_failures], [base_failures, base_requests - base_failures]]
    _, fisher_p = st.fisher_exact(table, alternative="greater")
    total = base_requests + cand_requests
    failures = base_failures + cand_failures
    expected = min(base_requests, cand_requests) * min(failures, total - failures) / total
    z, z_p = None, None
    if 0 < failures < total:
        z, z_p = proportions_ztest([cand_failures, base_failures], [cand_requests, base_requests],
                                   alternative="larger", prop_var=False)
        z, z_p = float(z), float(z_p)
    return {
        "name": name,
        "baseline_requests": base_requests,
        "baseline_failures": base_failures,
        "candidate_requests": cand_requests,
        "candidate_failures": cand_failures,
        "test": "fisher" if expected < 5 else "z",
        "fisher_p": float(fisher_p),
        "z": z,
        "z_p": z_p,
    }


def lognormal_us(rng, size, median_us, sigma, low=1, high=None):
    v = np.rint(np.exp(np.log(median_us) + sigma * rng.standard_normal(size)))
    v = np.maximum(v, low)
    if high is not None:
        v = np.minimum(v, high)
    return v.astype(int).tolist()


def main():
    rng = np.random.default_rng(20240614)
    small_base = [10, 12, 12, 15, 20, 20, 20, 25, 31, 40]
    small_cand = [12, 15, 15, 22, 25, 30, 20]
    exact_base = lognormal_us(rng, 400, 600, 0.4, high=1900)
    identical = lognormal_us(rng, 200, 700, 0.3, high=2000)
    api_base = lognormal_us(rng, 2000, 20000, 0.3)
    api_same = lognormal_us(rng, 4000, 20000, 0.3)
    api_slow_base = lognormal_us(rng, 300, 20000, 0.3)
    api_slow = (np.asarray(lognormal_us(rng, 600, 20000, 0.3)) + 40000).tolist()

    latency = [
        latency_case("small samples with ties", small_base, small_cand),
        latency_case("odd number of pairs", [5, 9, 9, 14, 30, 31, 2], [8, 9, 12, 40, 41]),
        latency_case("identical samples", identical, identical),
        latency_case("shifted by 120us", exact_base, (np.asarray(lognormal_us(rng, 300, 600, 0.4, high=1700)) + 120).tolist()),
        latency_case("candidate faster by 50us", exact_base, (np.asarray(lognormal_us(rng, 250, 600, 0.4, high=1900)) - 50).clip(1).tolist()),
        latency_case("very different sizes", lognormal_us(rng, 1500, 800, 0.3, high=2000), lognormal_us(rng, 12, 900, 0.3, high=2000)),
        latency_case("very different sizes, the other way", lognormal_us(rng, 12, 800, 0.3, high=2000), lognormal_us(rng, 1500, 800, 0.3, high=2000)),
        latency_case("every request tied", [700] * 50, [700] * 40),
        latency_case("values in the same HDR bucket", list(range(20000, 20015)) * 4, list(range(20001, 20016)) * 4),
        latency_case("API latencies, same version", api_base, api_same),
        latency_case("API latencies, 40ms slower", api_slow_base, api_slow),
        # Spread-out values: neighbouring differences are distinct, so the
        # interval's ranks are pinned to the exact one.
        latency_case("distinct differences, 9 and 8", rng.integers(1, 2000, 9), rng.integers(1, 2000, 8)),
        latency_case("distinct differences, 14 and 11", rng.integers(1, 2000, 14), rng.integers(200, 2000, 11)),
        latency_case("distinct differences, 25 and 30", rng.integers(1, 2000, 25), rng.integers(1, 2000, 30)),
        latency_case("distinct differences, 6 and 40", rng.integers(1, 2000, 6), rng.integers(1, 2000, 40)),
        latency_case("confidence 95%", exact_base[:100], (np.asarray(exact_base[100:180]) + 30).tolist(), confidence=0.95),
    ]
    errors = [
        error_case("no failures on either side", 3000, 0, 6000, 0),
        error_case("a few new failures", 3000, 0, 6000, 3),
        error_case("ten new failures", 3000, 0, 6000, 10),
        error_case("few failures on both sides", 200, 2, 400, 9),
        error_case("same error rate", 5000, 50, 5000, 50),
        error_case("error rate tripled", 3000, 30, 6000, 180),
        error_case("error rate up by a tenth", 3000, 30, 6000, 66),
        error_case("candidate fails less", 3000, 60, 6000, 30),
        error_case("almost everything failing", 1000, 998, 1000, 1000),
        error_case("small baseline, many failures", 20, 2, 100000, 20000),
    ]
    out = {
        "generated_by": "gen.py with SciPy " + scipy.__version__ + " and NumPy " + np.__version__,
        "latency": latency,
        "errors": errors,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
