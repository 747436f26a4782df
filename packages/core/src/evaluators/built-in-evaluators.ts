import { type TunekitError, tunekitError } from '../errors/tunekit-error.js';
import { quantileSorted } from '../statistics/bootstrap.js';
import { classificationMetrics } from './classification-metrics.js';
import {
  BLEU_SIGNATURE,
  type BleuSegmentStatistics,
  bleuSegmentStatistics,
  corpusBleu,
} from './corpus-bleu.js';
import type { EvaluationSample, Evaluator } from './evaluator.js';
import { type RougeScore, rougeL } from './rouge-l.js';
import { exactMatchScore, tokenF1Score } from './text-normalization.js';

function missing(evaluator: string, sample: EvaluationSample, field: string): TunekitError {
  return tunekitError(
    'EVALUATION_MISSING_FIELD',
    `Evaluator "${evaluator}" needs ${field} (sample ${sample.index})`,
    { evaluator, sampleIndex: sample.index, field },
  );
}

/** The predicted label: `prediction.label`, else the arg-max of `prediction.probabilities`. */
export function predictedLabel(sample: EvaluationSample): string | undefined {
  const { label, probabilities } = sample.prediction;
  if (label !== undefined) return String(label);
  if (probabilities === undefined) return undefined;
  let best: string | undefined;
  let bestProbability = Number.NEGATIVE_INFINITY;
  for (const [name, probability] of Object.entries(probabilities)) {
    if (probability > bestProbability) {
      best = name;
      bestProbability = probability;
    }
  }
  return best;
}

function trueLabel(evaluator: string, sample: EvaluationSample): string {
  if (sample.reference.label === undefined) throw missing(evaluator, sample, 'a reference label');
  return String(sample.reference.label);
}

function referenceTexts(evaluator: string, sample: EvaluationSample): string[] {
  const texts = sample.reference.texts;
  if (texts === undefined || texts.length === 0) throw missing(evaluator, sample, 'a reference text');
  return texts;
}

function predictedText(evaluator: string, sample: EvaluationSample): string {
  if (sample.prediction.text === undefined) throw missing(evaluator, sample, 'prediction.text');
  return sample.prediction.text;
}

const mean = (values: readonly number[]) =>
  values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;

/** `accuracy`: share of samples whose predicted label equals the reference label. */
export const accuracyEvaluator: Evaluator<number> = {
  name: 'accuracy',
  description: 'Share of samples whose predicted label equals the reference label.',
  score: (sample) => (predictedLabel(sample) === trueLabel('accuracy', sample) ? 1 : 0),
  aggregate: (scores) => ({ metrics: { accuracy: mean(scores) } }),
};

type LabelPair = readonly [string, string | undefined];

/**
 * `classification`: precision, recall and F1 per class (`precision.class.<label>` …) and averaged
 * macro, micro and weighted by support (`f1.macro` …), as scikit-learn with `zero_division=0`.
 */
export const classificationEvaluator: Evaluator<LabelPair> = {
  name: 'classification',
  description:
    'Precision, recall and F1 per class and macro/micro/weighted averages (scikit-learn conventions).',
  score: (sample) => [trueLabel('classification', sample), predictedLabel(sample)] as const,
  aggregate: (pairs, context) => {
    const computed = classificationMetrics(pairs);
    const metrics: Record<string, number> = {};
    for (const average of ['macro', 'micro', 'weighted'] as const) {
      metrics[`precision.${average}`] = computed[average].precision;
      metrics[`recall.${average}`] = computed[average].recall;
      metrics[`f1.${average}`] = computed[average].f1;
    }
    for (const [label, scores] of Object.entries(computed.perClass)) {
      metrics[`precision.class.${label}`] = scores.precision;
      metrics[`recall.class.${label}`] = scores.recall;
      metrics[`f1.class.${label}`] = scores.f1;
    }
    return context.resample ? { metrics } : { metrics, details: { perClass: computed.perClass } };
  },
};

/** `confusion-matrix`: counts of (true, predicted) label pairs; in `details`, no metrics. */
export const confusionMatrixEvaluator: Evaluator<LabelPair> = {
  name: 'confusion-matrix',
  description:
    'Counts of (true label, predicted label) pairs: details.labels and details.matrix[true][predicted].',
  bootstrap: false,
  score: (sample) => [trueLabel('confusion-matrix', sample), predictedLabel(sample)] as const,
  aggregate: (pairs) => {
    const computed = classificationMetrics(pairs);
    const unpredicted = pairs.filter(([, predicted]) => predicted === undefined).length;
    return { metrics: {}, details: { labels: computed.labels, matrix: computed.confusion, unpredicted } };
  },
};

/**
 * `perplexity`: exp of the mean negative log-likelihood per token over the whole dataset (token
 * log-probabilities in natural log, from `prediction.tokenLogProbabilities`), and that mean as
 * `negative_log_likelihood`.
 */
export const perplexityEvaluator: Evaluator<{ logLikelihood: number; tokens: number }> = {
  name: 'perplexity',
  description: 'exp(−Σ log p / Σ tokens) from per-token natural-log probabilities.',
  lowerIsBetter: ['perplexity', 'negative_log_likelihood'],
  score: (sample) => {
    const values = sample.prediction.tokenLogProbabilities;
    if (values === undefined) throw missing('perplexity', sample, 'prediction.tokenLogProbabilities');
    return { logLikelihood: values.reduce((sum, value) => sum + value, 0), tokens: values.length };
  },
  aggregate: (scores) => {
    let logLikelihood = 0;
    let tokens = 0;
    for (const score of scores) {
      logLikelihood += score.logLikelihood;
      tokens += score.tokens;
    }
    const negativeLogLikelihood = tokens === 0 ? Number.NaN : -logLikelihood / tokens;
    return {
      metrics: {
        perplexity: Math.exp(negativeLogLikelihood),
        negative_log_likelihood: negativeLogLikelihood,
      },
      details: { tokens },
    };
  },
};

/** `exact-match`: SQuAD-normalized exact match (best over references), averaged. */
export const exactMatchEvaluator: Evaluator<number> = {
  name: 'exact-match',
  description:
    'SQuAD v1.1 normalized exact match (lower-case, no punctuation or articles), best over references.',
  score: (sample) => {
    const text = predictedText('exact-match', sample);
    return Math.max(
      ...referenceTexts('exact-match', sample).map((reference) => exactMatchScore(text, reference)),
    );
  },
  aggregate: (scores) => ({ metrics: { exact_match: mean(scores) } }),
};

/** `token-f1`: SQuAD token-level F1 (best over references), averaged. */
export const tokenF1Evaluator: Evaluator<number> = {
  name: 'token-f1',
  description:
    'SQuAD token-level F1 of normalized bags of tokens, best over references (empty vs empty = 1).',
  score: (sample) => {
    const text = predictedText('token-f1', sample);
    return Math.max(...referenceTexts('token-f1', sample).map((reference) => tokenF1Score(text, reference)));
  },
  aggregate: (scores) => ({ metrics: { token_f1: mean(scores) } }),
};

/** `rouge-l`: ROUGE-L F-measure, precision and recall per sample as Google's rouge_score (no stemming), averaged. */
export const rougeLEvaluator: Evaluator<RougeScore> = {
  name: 'rouge-l',
  description:
    "ROUGE-L (LCS) as Google's rouge_score, no stemming; best F over references; mean over samples.",
  score: (sample) => {
    const text = predictedText('rouge-l', sample);
    let best: RougeScore = { precision: 0, recall: 0, fmeasure: -1 };
    for (const reference of referenceTexts('rouge-l', sample)) {
      const score = rougeL(text, reference);
      if (score.fmeasure > best.fmeasure) best = score;
    }
    return best;
  },
  aggregate: (scores) => ({
    metrics: {
      rougeL: mean(scores.map((score) => score.fmeasure)),
      'rougeL.precision': mean(scores.map((score) => score.precision)),
      'rougeL.recall': mean(scores.map((score) => score.recall)),
    },
  }),
};

/**
 * `bleu`: corpus BLEU with sacreBLEU's defaults (13a tokenizer, exp smoothing, case-sensitive,
 * order 4, no effective order), on sacreBLEU's 0–100 scale. Not Hugging Face `evaluate`'s
 * unsmoothed `bleu`.
 */
export const bleuEvaluator: Evaluator<BleuSegmentStatistics> = {
  name: 'bleu',
  description: 'Corpus BLEU, sacreBLEU defaults (tok:13a, smooth:exp, case:mixed, eff:no), 0–100 scale.',
  score: (sample) => bleuSegmentStatistics(predictedText('bleu', sample), referenceTexts('bleu', sample)),
  aggregate: (segments, context) => {
    const score = corpusBleu(segments);
    if (context.resample) return { metrics: { bleu: score.score } };
    return {
      metrics: { bleu: score.score },
      details: {
        signature: BLEU_SIGNATURE,
        precisions: score.precisions,
        brevityPenalty: score.brevityPenalty,
        ratio: score.ratio,
        hypothesisLength: score.hypothesisLength,
        referenceLength: score.referenceLength,
      },
    };
  },
};

/** `latency`: p50/p95/p99 and mean of per-sample predict wall time in ms (numpy `linear` percentiles). */
export const latencyEvaluator: Evaluator<number> = {
  name: 'latency',
  description: 'Percentiles p50/p95/p99 and mean of predict latency in milliseconds (linear interpolation).',
  lowerIsBetter: ['latency.p50', 'latency.p95', 'latency.p99', 'latency.mean'],
  score: (sample) => sample.latencyMs,
  aggregate: (latencies) => {
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      metrics: {
        'latency.p50': quantileSorted(sorted, 0.5),
        'latency.p95': quantileSorted(sorted, 0.95),
        'latency.p99': quantileSorted(sorted, 0.99),
        'latency.mean': mean(sorted),
      },
    };
  },
};

/** `throughput`: samples per second over the prediction phase (with the run's concurrency). */
export const throughputEvaluator: Evaluator<null> = {
  name: 'throughput',
  description: 'Samples per second over the whole prediction phase, at the run concurrency.',
  bootstrap: false,
  score: () => null,
  aggregate: (scores, context) => ({
    metrics: {
      'throughput.samples_per_second':
        context.durationMs > 0 ? (scores.length * 1000) / context.durationMs : Number.NaN,
    },
    details: { concurrency: context.concurrency, durationMs: context.durationMs },
  }),
};

/** Every built-in evaluator, in registration order. */
export const BUILT_IN_EVALUATORS: readonly Evaluator[] = [
  accuracyEvaluator,
  classificationEvaluator,
  confusionMatrixEvaluator,
  perplexityEvaluator,
  exactMatchEvaluator,
  tokenF1Evaluator,
  rougeLEvaluator,
  bleuEvaluator,
  latencyEvaluator,
  throughputEvaluator,
] as readonly Evaluator<unknown>[] as readonly Evaluator[];
