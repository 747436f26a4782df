#!/usr/bin/env python3
"""Reference values for Tunekit's evaluation and A/B statistics.

Run with Debian's Python, which has scipy (NOT a python3 without it):

    PYTHONPATH=<dir with sacrebleu and rouge_score> /usr/bin/python3 tests/golden/evaluation_reference.py

It writes tests/golden/fixtures/evaluation-reference.json, which
packages/core/src/statistics/*.test.ts and packages/core/src/evaluators/*.test.ts compare against.

Sources of each value (recorded per section in the JSON under "source"):
- t, normal and chi-square distributions, Welch's t-test, chi-square goodness of fit, the exact
  binomial test: scipy.stats.
- two-proportion z-test: the pooled formula with scipy.stats.norm, cross-checked against
  scipy.stats.chi2_contingency(correction=False) (z^2 equals that chi-square).
- McNemar: scipy.stats.binomtest (exact) and scipy.stats.chi2.sf((|b-c|-1)^2/(b+c), 1).
- BLEU: sacrebleu.corpus_bleu with its defaults (sacreBLEU 2.6.0, installed with pip).
- ROUGE-L: Google's rouge_score RougeScorer(['rougeL']) (its tokenize.py and LCS scorer; the
  PyPI package was not reachable here, so the two source files were placed on PYTHONPATH).
- exact match / token F1: the official SQuAD evaluation functions, reproduced below.
- classification metrics: computed below with numpy from the confusion matrix (scikit-learn was not
  installed); the same definitions as sklearn.metrics.precision_recall_fscore_support(zero_division=0).
"""
import collections
import json
import re
import string
import sys
from pathlib import Path

import numpy as np
from scipy import stats

out = {}

# ---------------------------------------------------------------- distributions
dist = []
for df in [1, 2, 3.5, 10, 29, 200]:
    for t in [-3.2, -1.0, 0.3, 1.96, 4.5]:
        dist.append({"kind": "t_cdf", "x": t, "df": df, "value": float(stats.t.cdf(t, df))})
    for p in [0.005, 0.025, 0.9, 0.975, 0.999]:
        dist.append({"kind": "t_ppf", "x": p, "df": df, "value": float(stats.t.ppf(p, df))})
for p in [1e-10, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999999]:
    dist.append({"kind": "norm_ppf", "x": p, "value": float(stats.norm.ppf(p))})
for z in [-8.0, -2.5, -0.1, 0.0, 1.0, 3.7]:
    dist.append({"kind": "norm_cdf", "x": z, "value": float(stats.norm.cdf(z))})
for df in [1, 2, 4, 9]:
    for x in [0.01, 0.5, 3.84, 10.0, 40.0]:
        dist.append({"kind": "chi2_sf", "x": x, "df": df, "value": float(stats.chi2.sf(x, df))})
out["distributions"] = {"source": f"scipy {__import__('scipy').__version__}", "cases": dist}

# ---------------------------------------------------------------- Welch's t-test
rng = np.random.default_rng(20240601)
welch = []
samples = [
    (rng.normal(3.0, 1.0, 40).round(3), rng.normal(3.4, 1.5, 55).round(3)),
    (rng.normal(10, 4, 12).round(2), rng.normal(10.5, 1, 9).round(2)),
    (rng.integers(1, 6, 200).astype(float), rng.integers(2, 6, 180).astype(float)),  # ratings 1..5
    (np.array([4.0, 5, 3, 4, 4, 5, 2, 4]), np.array([3.0, 3, 4, 2, 3, 3, 4, 2, 3])),
]
for control, treatment in samples:
    result = stats.ttest_ind(treatment, control, equal_var=False)
    v1 = control.var(ddof=1) / len(control)
    v2 = treatment.var(ddof=1) / len(treatment)
    df = (v1 + v2) ** 2 / (v1**2 / (len(control) - 1) + v2**2 / (len(treatment) - 1))
    half = stats.t.ppf(0.975, df) * np.sqrt(v1 + v2)
    diff = treatment.mean() - control.mean()
    ci_c = stats.t.interval(0.95, len(control) - 1, loc=control.mean(), scale=stats.sem(control))
    welch.append({
        "control": control.tolist(),
        "treatment": treatment.tolist(),
        "statistic": float(result.statistic),
        "pValue": float(result.pvalue),
        "degreesOfFreedom": float(df),
        "differenceInterval": [float(diff - half), float(diff + half)],
        "controlMeanInterval": [float(ci_c[0]), float(ci_c[1])],
    })
out["welch"] = {"source": "scipy.stats.ttest_ind(treatment, control, equal_var=False); t.interval", "cases": welch}

# ---------------------------------------------------------------- two-proportion z-test
ztests = []
for (x1, n1, x2, n2) in [(120, 1000, 150, 1000), (48, 500, 45, 480), (5, 40, 14, 38), (2030, 20000, 2210, 20100)]:
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (p2 - p1) / se
    p = 2 * stats.norm.sf(abs(z))
    chi2, p_chi, _, _ = stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
    assert abs(p - p_chi) < 1e-9 and abs(z * z - chi2) < 1e-6, "z-test and chi-square disagree"
    ztests.append({"control": [x1, n1], "treatment": [x2, n2], "statistic": float(z), "pValue": float(p)})
out["twoProportion"] = {"source": "pooled z with scipy.stats.norm; equals chi2_contingency(correction=False)", "cases": ztests}

# ---------------------------------------------------------------- chi-square goodness of fit (SRM)
gof = []
for observed, weights in [
    ([5000, 5000], [0.5, 0.5]),
    ([5100, 4900], [0.5, 0.5]),
    ([5300, 4700], [0.5, 0.5]),
    ([3400, 3300, 3300], [1, 1, 1]),
    ([7150, 2850], [0.7, 0.3]),
    ([821, 679, 500], [0.4, 0.35, 0.25]),
]:
    total = sum(observed)
    expected = [total * w / sum(weights) for w in weights]
    r = stats.chisquare(observed, expected)
    gof.append({"observed": observed, "weights": weights, "statistic": float(r.statistic), "pValue": float(r.pvalue)})
out["chiSquare"] = {"source": "scipy.stats.chisquare", "cases": gof}

# ---------------------------------------------------------------- McNemar
mcnemar = []
for b, c in [(0, 0), (3, 0), (7, 2), (10, 14), (12, 12), (30, 14), (100, 80), (25, 0)]:
    n = b + c
    if n < 25:
        method = "exact-binomial"
        p = 1.0 if n == 0 else float(stats.binomtest(min(b, c), n, 0.5).pvalue)
        statistic = min(b, c)
    else:
        method = "chi-square-continuity"
        statistic = (abs(b - c) - 1) ** 2 / n
        p = float(stats.chi2.sf(statistic, 1))
    mcnemar.append({"onlyFirst": b, "onlySecond": c, "method": method, "statistic": float(statistic), "pValue": p})
out["mcnemar"] = {"source": "scipy.stats.binomtest / chi2.sf with continuity correction; exact below 25 discordant", "cases": mcnemar}

# ---------------------------------------------------------------- BLEU (sacreBLEU defaults)
try:
    import sacrebleu
    bleu_cases = [
        {"hypotheses": ["The cat sat on the mat."], "references": [["The cat is on the mat."]]},
        {
            "hypotheses": [
                "The dog bit the man.",
                "It wasn't surprising.",
                "The man had just bitten him.",
            ],
            "references": [
                ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
                ["The dog had bitten the man.", "No one was surprised.", "The man had bitten the dog."],
            ],
        },
        {"hypotheses": ["hello there general kenobi", "foo bar foobar"], "references": [["hello there general kenobi", "foo bar foobar"]]},
        {"hypotheses": ["a b c", "x y"], "references": [["a b d e f g", "z w v u"]]},
        {"hypotheses": ["completely different words", "nothing matches"], "references": [["the reference text", "another one"]]},
        {
            "hypotheses": ["It costs $3,000.50 - really?! (yes) &amp; more", "In 1999-2000, A-B tests ran."],
            "references": [["It costs $3,000.50 -- really? (yes) & more", "In 1999-2000 , A-B tests were run ."]],
        },
        {
            "hypotheses": ["Short.", "The quick brown fox jumps over the lazy dog near the river bank today"],
            "references": [["This is a much longer reference sentence.", "The quick brown fox jumped over the lazy dog by the river bank"]],
        },
    ]
    for case in bleu_cases:
        score = sacrebleu.corpus_bleu(case["hypotheses"], case["references"])
        case["score"] = score.score
        case["precisions"] = score.precisions
        case["bp"] = score.bp
        case["sysLen"] = score.sys_len
        case["refLen"] = score.ref_len
    tokenizer = sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a()
    tokens = [
        {"text": t, "tokens": tokenizer(t)}
        for t in ["Hello, world!", "It's 3.5% (approx.) of $1,000.", "e-mail: a@b.com; x-ray 3-4", "&quot;quoted&quot; &lt;tag&gt;", "Multi\nline-\nbreak <skipped> end."]
    ]
    out["bleu"] = {"source": f"sacrebleu {sacrebleu.__version__} corpus_bleu defaults", "cases": bleu_cases, "tokenize13a": tokens}
except ImportError:
    print("sacrebleu not importable: BLEU fixtures not regenerated", file=sys.stderr)

# ---------------------------------------------------------------- ROUGE-L (rouge_score)
try:
    from rouge_score import rouge_scorer
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    pairs = [
        ("The quick brown fox jumps over the lazy dog", "The quick brown dog jumps on the log."),
        ("police killed the gunman", "police kill the gunman"),
        ("the gunman was shot down by police", "police killed the gunman"),
        ("Résumé: naïve café owners!", "resume naive cafe owners"),
        ("", "something"),
        ("one two three four five", "five four three two one"),
    ]
    rouge = []
    for target, prediction in pairs:
        s = scorer.score(target, prediction)["rougeL"]
        rouge.append({"target": target, "prediction": prediction, "precision": s.precision, "recall": s.recall, "fmeasure": s.fmeasure})
    out["rougeL"] = {"source": "google-research rouge_score RougeScorer(['rougeL']), no stemmer", "cases": rouge}
except ImportError:
    print("rouge_score not importable: ROUGE fixtures not regenerated", file=sys.stderr)

# ---------------------------------------------------------------- SQuAD exact match / token F1
def normalize_answer(s):
    def remove_articles(text):
        return re.sub(r"\b(a|an|the)\b", " ", text)
    def white_space_fix(text):
        return " ".join(text.split())
    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)
    return white_space_fix(remove_articles(remove_punc(s.lower())))

def f1_score(prediction, ground_truth):
    prediction_tokens = normalize_answer(prediction).split()
    ground_truth_tokens = normalize_answer(ground_truth).split()
    if len(prediction_tokens) == 0 or len(ground_truth_tokens) == 0:
        return float(prediction_tokens == ground_truth_tokens)
    common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    return (2 * precision * recall) / (precision + recall)

squad = []
for prediction, truth in [
    ("The Eiffel Tower", "eiffel tower"),
    ("in Paris, France.", "Paris"),
    ("Denver Broncos", "Denver Broncos won"),
    ("an apple a day", "the apple the day"),
    ("", "something"),
    ("Carolina Panthers", "Denver Broncos"),
]:
    squad.append({"prediction": prediction, "reference": truth, "exactMatch": float(normalize_answer(prediction) == normalize_answer(truth)), "tokenF1": f1_score(prediction, truth)})
out["squad"] = {"source": "official SQuAD evaluate-v2.0 normalize_answer / compute_f1", "cases": squad}

# ---------------------------------------------------------------- classification
y_true = ["cat", "cat", "dog", "dog", "dog", "bird", "bird", "cat", "dog", "fish"]
y_pred = ["cat", "dog", "dog", "dog", "cat", "bird", "cat", "cat", "bird", "cat"]
labels = sorted(set(y_true) | set(y_pred))
index = {l: i for i, l in enumerate(labels)}
cm = np.zeros((len(labels), len(labels)), dtype=int)
for t, p in zip(y_true, y_pred):
    cm[index[t], index[p]] += 1
tp = np.diag(cm).astype(float)
pred = cm.sum(axis=0).astype(float)
support = cm.sum(axis=1).astype(float)
precision = np.divide(tp, pred, out=np.zeros_like(tp), where=pred > 0)
recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=(precision + recall) > 0)
micro_p = tp.sum() / pred.sum()
micro_r = tp.sum() / support.sum()
out["classification"] = {
    "source": "numpy from the confusion matrix, sklearn precision_recall_fscore_support(zero_division=0) definitions",
    "yTrue": y_true,
    "yPred": y_pred,
    "labels": labels,
    "confusion": cm.tolist(),
    "accuracy": float(tp.sum() / len(y_true)),
    "perClass": {l: {"precision": precision[i], "recall": recall[i], "f1": f1[i], "support": int(support[i])} for l, i in index.items()},
    "macro": {"precision": precision.mean(), "recall": recall.mean(), "f1": f1.mean()},
    "micro": {"precision": micro_p, "recall": micro_r, "f1": 2 * micro_p * micro_r / (micro_p + micro_r)},
    "weighted": {k: float((v * support).sum() / support.sum()) for k, v in [("precision", precision), ("recall", recall), ("f1", f1)]},
}

# ---------------------------------------------------------------- percentiles (latency)
latencies = rng.gamma(2.0, 15.0, 137).round(3)
out["percentiles"] = {
    "source": "numpy.percentile (linear)",
    "values": latencies.tolist(),
    "p50": float(np.percentile(latencies, 50)),
    "p95": float(np.percentile(latencies, 95)),
    "p99": float(np.percentile(latencies, 99)),
}

def to_plain(value):
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value

target = Path(__file__).parent / "fixtures" / "evaluation-reference.json"
target.write_text(json.dumps(to_plain(out), indent=1) + "\n")
print(f"wrote {target}")
