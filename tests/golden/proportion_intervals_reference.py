#!/usr/bin/env python3
"""Reference values for the Wilson score and Newcombe hybrid score intervals of Tunekit's A/B results.

Run with Debian's Python, which has scipy (statsmodels is not installed, so nothing here calls it):

    /usr/bin/python3 tests/golden/proportion_intervals_reference.py

It writes tests/golden/fixtures/proportion-intervals-reference.json, which
packages/core/src/ab-tests/proportion-intervals.test.ts compares against (1e-9).

How each value is obtained, independently of the TypeScript code:
- Wilson (1927): the interval is the set of p whose score statistic |phat - p| / sqrt(p(1-p)/n)
  is at most z = norm.ppf(1 - alpha/2). Each bound is found here as a root of that equation with
  scipy.optimize.brentq (to 1e-15), then checked against the closed form
  (phat + z^2/2n ± z sqrt(phat(1-phat)/n + z^2/4n^2)) / (1 + z^2/n) to 1e-12.
- Newcombe (1998), "Interval estimation for the difference between independent proportions:
  comparison of eleven methods", Statistics in Medicine 17:873-890, method 10 (hybrid score):
  for theta = p1 - p2 with Wilson limits (l1, u1), (l2, u2):
  L = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), U = d + sqrt((u1 - p1)^2 + (p2 - l2)^2).
  Here 1 = treatment and 2 = control (Tunekit reports treatment - control).
- Literature checks (asserted below): Newcombe (1998)'s method-10 examples 56/70 - 48/80
  (0.0524, 0.3339; 0.05243147, 0.3338727 to 8 digits in the R package propint's README) and
  9/10 - 3/10 (0.1705, 0.8090), and the Wilson intervals of 81/263 (0.2553, 0.3662) and 0/20
  (0, 0.1611) of Newcombe (1998) "Two-sided confidence intervals for the single proportion:
  comparison of seven methods", Statistics in Medicine 17:857-872.
"""
import json
import math
from pathlib import Path

import scipy
from scipy import optimize, stats


def wilson_closed(x, n, alpha):
    z = stats.norm.ppf(1 - alpha / 2)
    p = x / n
    denominator = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return center - half, center + half


def wilson_by_root(x, n, alpha):
    """Bounds of {p : (phat - p)^2 <= z^2 p (1 - p) / n}, found numerically."""
    z = stats.norm.ppf(1 - alpha / 2)
    phat = x / n

    def score_gap(p):
        return (phat - p) ** 2 - z * z * p * (1 - p) / n

    # The gap is negative just inside (0, 1) next to phat; at 0 or 1 successes phat itself is a root.
    inner = min(max(phat, 1e-12), 1 - 1e-12)
    lower = 0.0 if x == 0 else optimize.brentq(score_gap, 0.0, inner, xtol=1e-16, rtol=8.9e-16, maxiter=500)
    upper = 1.0 if x == n else optimize.brentq(score_gap, inner, 1.0, xtol=1e-16, rtol=8.9e-16, maxiter=500)
    closed = wilson_closed(x, n, alpha)
    assert abs(lower - max(0.0, closed[0])) < 1e-12, (x, n, alpha, lower, closed)
    assert abs(upper - min(1.0, closed[1])) < 1e-12, (x, n, alpha, upper, closed)
    return lower, upper


def newcombe(treatment, control, alpha):
    (x1, n1), (x2, n2) = treatment, control
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_by_root(x1, n1, alpha)
    l2, u2 = wilson_by_root(x2, n2, alpha)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


# Literature checks (95%).
lower, upper = newcombe((56, 70), (48, 80), 0.05)
assert abs(lower - 0.05243147) < 5e-9 and abs(upper - 0.3338727) < 5e-8, (lower, upper)
lower, upper = newcombe((9, 10), (3, 10), 0.05)
assert round(lower, 4) == 0.1705 and round(upper, 4) == 0.8090, (lower, upper)
for (x, n), expected in {(81, 263): (0.2553, 0.3662), (0, 20): (0.0000, 0.1611)}.items():
    lower, upper = wilson_by_root(x, n, 0.05)
    assert round(lower, 4) == expected[0] and round(upper, 4) == expected[1], (x, n, lower, upper)

alphas = [0.05, 0.01, 0.025, 0.1]
counts = [(0, 1), (1, 1), (0, 5), (3, 5), (5, 5), (1, 29), (15, 148), (81, 263), (0, 1000), (1, 1000),
          (120, 1000), (999, 1000), (4_321, 100_000), (50_000, 100_000)]
wilson = []
for alpha in alphas:
    for x, n in counts:
        lower, upper = wilson_by_root(x, n, alpha)
        wilson.append({"successes": x, "trials": n, "alpha": alpha, "lower": lower, "upper": upper})

pairs = [((56, 70), (48, 80)), ((9, 10), (3, 10)), ((6, 7), (2, 7)), ((5, 56), (0, 29)), ((0, 10), (0, 20)),
         ((10, 10), (0, 10)), ((150, 1000), (120, 1000)), ((118, 1000), (120, 1000)), ((2, 40), (9, 41)),
         ((4_450, 50_000), (4_300, 50_000)), ((0, 500), (1, 500)), ((20, 20), (19, 20))]
differences = []
for alpha in alphas:
    for treatment, control in pairs:
        lower, upper = newcombe(treatment, control, alpha)
        differences.append({
            "treatment": list(treatment), "control": list(control), "alpha": alpha,
            "lower": lower, "upper": upper,
        })

out = {
    "wilson": {"source": f"score-test roots with scipy {scipy.__version__} brentq and norm.ppf; closed form cross-checked",
               "cases": wilson},
    "newcombe": {"source": "Newcombe 1998 method 10 (hybrid score) from the Wilson limits above; Table II checked",
                 "cases": differences},
}
target = Path(__file__).parent / "fixtures" / "proportion-intervals-reference.json"
target.write_text(json.dumps(out, indent=1) + "\n")
print(f"wrote {target} ({len(wilson)} Wilson, {len(differences)} Newcombe cases)")
