import { describe, expect, it } from 'vitest';
import { loadEvaluationReference } from '../statistics/reference-fixture.js';
import { classificationMetrics } from './classification-metrics.js';
import { bleuSegmentStatistics, corpusBleu, tokenize13a } from './corpus-bleu.js';
import { rougeL } from './rouge-l.js';
import { exactMatchScore, tokenF1Score } from './text-normalization.js';

const reference = loadEvaluationReference();

describe('BLEU against sacreBLEU 2.6.0 corpus_bleu (defaults)', () => {
  for (const entry of reference.bleu.tokenize13a) {
    it(`13a tokenizes ${JSON.stringify(entry.text)}`, () => {
      expect(tokenize13a(entry.text.trimEnd())).toBe(entry.tokens);
    });
  }
  reference.bleu.cases.forEach((entry: Record<string, never>, index: number) => {
    it(`corpus ${index}: ${entry.score}`, () => {
      const hypotheses = entry.hypotheses as string[];
      const referenceStreams = entry.references as string[][];
      const segments = hypotheses.map((hypothesis, segment) =>
        bleuSegmentStatistics(
          hypothesis,
          referenceStreams.map((stream) => stream[segment] as string),
        ),
      );
      const score = corpusBleu(segments);
      expect(score.score).toBeCloseTo(entry.score as number, 10);
      expect(score.hypothesisLength).toBe(entry.sysLen);
      expect(score.referenceLength).toBe(entry.refLen);
      expect(score.brevityPenalty).toBeCloseTo(entry.bp as number, 12);
      (entry.precisions as number[]).forEach((precision, order) => {
        expect(score.precisions[order]).toBeCloseTo(precision, 10);
      });
    });
  });
});

describe("ROUGE-L against Google's rouge_score", () => {
  for (const entry of reference.rougeL.cases) {
    it(`${JSON.stringify(entry.prediction)} vs ${JSON.stringify(entry.target)}`, () => {
      const score = rougeL(entry.prediction, entry.target);
      expect(score.precision).toBeCloseTo(entry.precision, 12);
      expect(score.recall).toBeCloseTo(entry.recall, 12);
      expect(score.fmeasure).toBeCloseTo(entry.fmeasure, 12);
    });
  }
  it("matches rouge_score's README example (rougeL P=0.625, R=0.5556, F=0.5882)", () => {
    const score = rougeL(
      'The quick brown dog jumps on the log.',
      'The quick brown fox jumps over the lazy dog',
    );
    expect(score.precision).toBeCloseTo(0.625, 4);
    expect(score.recall).toBeCloseTo(0.5556, 4);
    expect(score.fmeasure).toBeCloseTo(0.5882, 4);
  });
});

describe('SQuAD exact match and token F1 against the official script', () => {
  for (const entry of reference.squad.cases) {
    it(`${JSON.stringify(entry.prediction)} vs ${JSON.stringify(entry.reference)}`, () => {
      expect(exactMatchScore(entry.prediction, entry.reference)).toBe(entry.exactMatch);
      expect(tokenF1Score(entry.prediction, entry.reference)).toBeCloseTo(entry.tokenF1, 12);
    });
  }
});

describe('classification metrics against the scikit-learn definitions', () => {
  const fixture = reference.classification;
  const computed = classificationMetrics(
    (fixture.yTrue as string[]).map((truth, index) => [truth, fixture.yPred[index] as string] as const),
  );
  it('labels and confusion matrix', () => {
    expect(computed.labels).toEqual(fixture.labels);
    expect(computed.confusion).toEqual(fixture.confusion);
  });
  it('per class, macro, micro and weighted', () => {
    for (const [label, scores] of Object.entries(
      fixture.perClass as Record<string, Record<string, number>>,
    )) {
      expect(computed.perClass[label]?.precision).toBeCloseTo(scores.precision as number, 12);
      expect(computed.perClass[label]?.recall).toBeCloseTo(scores.recall as number, 12);
      expect(computed.perClass[label]?.f1).toBeCloseTo(scores.f1 as number, 12);
      expect(computed.perClass[label]?.support).toBe(scores.support);
    }
    for (const average of ['macro', 'micro', 'weighted'] as const) {
      for (const metric of ['precision', 'recall', 'f1'] as const) {
        expect(computed[average][metric]).toBeCloseTo(fixture[average][metric], 12);
      }
    }
    // Micro-averaged precision equals accuracy for single-label predictions.
    expect(computed.micro.precision).toBeCloseTo(fixture.accuracy, 12);
  });
});
