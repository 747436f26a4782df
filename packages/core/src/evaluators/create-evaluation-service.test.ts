import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TunekitError } from '../errors/tunekit-error.js';
import { createEvaluationService } from './create-evaluation-service.js';
import type { EvaluationService } from './evaluation-service.js';
import type { Evaluator } from './evaluator.js';
import type { Predictor } from './predictor.js';
import { HARNESS_DRIVERS, openServiceHarness, type ServiceTestHarness } from './service-test-harness.js';

/** 200 sentiment rows; `oracle` is right on 90%, `weak` on 60%, both deterministic. */
const rows = Array.from({ length: 200 }, (_, index) => ({
  text: `review number ${index}`,
  label: index % 2 === 0 ? 'positive' : 'negative',
}));
const flip = (label: string) => (label === 'positive' ? 'negative' : 'positive');
const labelOf = (input: unknown) =>
  Number(String(input).split(' ').pop()) % 2 === 0 ? 'positive' : 'negative';
const predictorRightOn = (id: string, rightIf: (index: number) => boolean, delayMs = 0): Predictor => ({
  id,
  async predict({ input }) {
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const index = Number(String(input).split(' ').pop());
    const truth = labelOf(input);
    return { label: rightIf(index) ? truth : flip(truth) };
  },
});

describe.each(HARNESS_DRIVERS)('evaluation service on %s storage', (driver) => {
  let harness: ServiceTestHarness;
  let service: EvaluationService;
  beforeEach(async () => {
    harness = await openServiceHarness(driver);
    service = createEvaluationService({ ...harness });
  });
  afterEach(async () => {
    await harness.close();
  });

  it('evaluates a dataset version with bounded concurrency, progress events and stored samples', async () => {
    const version = await harness.datasets.register({ name: 'sentiment', kind: 'test', source: { rows } });
    let inFlight = 0;
    let maximumInFlight = 0;
    const model: Predictor = {
      id: 'oracle',
      async predict({ input }) {
        inFlight += 1;
        maximumInFlight = Math.max(maximumInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight -= 1;
        const index = Number(String(input).split(' ').pop());
        return { label: index % 10 === 0 ? flip(labelOf(input)) : labelOf(input) };
      },
    };
    const progress: number[] = [];
    harness.events.on('evaluation:progress', (event) => progress.push(event.completed));
    const evaluation = await service.evaluate(
      {
        model,
        dataset: version.id,
        evaluators: ['accuracy', 'classification', 'confusion-matrix', 'latency', 'throughput'],
        concurrency: 3,
        bootstrapResamples: 300,
      },
      { actor: 'alice' },
    );
    expect(maximumInFlight).toBe(3);
    expect(progress.at(-1)).toBe(200);
    expect(progress.length).toBeGreaterThanOrEqual(100);
    expect(evaluation.status).toBe('succeeded');
    expect(evaluation.datasetVersionId).toBe(version.id);
    expect(evaluation.metrics.accuracy?.value).toBeCloseTo(0.9, 12);
    const { lower, upper } = evaluation.metrics.accuracy as { lower: number; upper: number };
    expect(lower).toBeLessThan(0.9);
    expect(upper).toBeGreaterThan(0.9);
    expect(upper - lower).toBeGreaterThan(0.04); // ~ ±1.96·√(0.09/200) = ±0.042
    expect(upper - lower).toBeLessThan(0.13);
    // Every error is a positive predicted negative: F1(positive) = 2·0.8/1.8, F1(negative) = 2·(5/6)/(11/6).
    expect(evaluation.metrics['f1.macro']?.value).toBeCloseTo((1.6 / 1.8 + 10 / 11) / 2, 12);
    expect(evaluation.metrics['recall.class.positive']?.value).toBeCloseTo(0.8, 12);
    expect(evaluation.metrics['precision.class.positive']?.value).toBeDefined();
    expect(evaluation.details['confusion-matrix']).toMatchObject({ labels: ['negative', 'positive'] });
    expect(evaluation.metrics['latency.p95']?.value).toBeGreaterThanOrEqual(
      evaluation.metrics['latency.p50']?.value as number,
    );
    expect(evaluation.metrics['throughput.samples_per_second']?.value).toBeGreaterThan(0);
    expect(evaluation.metrics['throughput.samples_per_second']?.lower).toBeUndefined();

    const stored = await service.getEvaluation(evaluation.id);
    expect(stored?.metrics.accuracy?.value).toBeCloseTo(0.9, 12);
    const samples = await service.samples(evaluation.id);
    expect(samples).toHaveLength(200);
    expect(samples[10]).toMatchObject({
      index: 10,
      reference: { label: 'positive' },
      scores: { accuracy: 0 },
    });
    expect(harness.auditEntries.at(-1)?.entry).toMatchObject({
      action: 'evaluation.run',
      outcome: 'success',
    });
    expect(harness.auditEntries.at(-1)?.context).toEqual({ actor: 'alice' });
    expect((await service.listEvaluations({ modelId: 'oracle' })).items.map((item) => item.id)).toEqual([
      evaluation.id,
    ]);
  });

  it('is reproducible: the same seed gives the same intervals', async () => {
    const run = () =>
      service.evaluate({
        model: predictorRightOn('m', (index) => index % 3 !== 0),
        dataset: rows,
        evaluators: ['accuracy'],
        seed: 11,
        bootstrapResamples: 200,
      });
    const [first, second] = [await run(), await run()];
    expect(second.metrics.accuracy).toEqual(first.metrics.accuracy);
  });

  it('scores generation, BLEU, ROUGE-L and perplexity on in-memory rows', async () => {
    const textRows = [
      { prompt: 'translate: chat', completion: 'The cat sat on the mat.' },
      { prompt: 'translate: chien', completion: 'The dog barked loudly.' },
      { prompt: 'translate: oiseau', completion: 'A bird sings.' },
    ];
    const outputs: Record<string, string> = {
      'translate: chat': 'The cat is on the mat.',
      'translate: chien': 'the dog barked loudly',
      'translate: oiseau': 'Birds sing.',
    };
    const model: Predictor = {
      id: 'translator',
      predict: ({ input, reference }) => ({
        text: outputs[String(input)],
        tokenLogProbabilities: (reference ?? '').split(' ').map(() => Math.log(0.5)),
      }),
    };
    const evaluation = await service.evaluate({
      model,
      dataset: { rows: textRows },
      evaluators: ['exact-match', 'token-f1', 'rouge-l', 'bleu', 'perplexity'],
      bootstrapResamples: 50,
    });
    expect(evaluation.metrics.exact_match?.value).toBeCloseTo(1 / 3, 12);
    expect(evaluation.metrics.perplexity?.value).toBeCloseTo(2, 10); // every token has p = 1/2
    expect(evaluation.metrics.rougeL?.value).toBeGreaterThan(0.5);
    expect(evaluation.details.bleu).toMatchObject({
      signature: expect.stringContaining('tok:13a|smooth:exp'),
    });
    expect(evaluation.metrics.bleu?.value).toBeGreaterThan(0);
  });

  it('stores a failed evaluation and throws a coded error when the predictor throws', async () => {
    const failures: string[] = [];
    harness.events.on('evaluation:failed', (event) => failures.push(event.code ?? ''));
    const broken: Predictor = {
      id: 'broken',
      predict: ({ input }) => {
        if (String(input).endsWith(' 5')) throw new Error('CUDA out of memory');
        return { label: 'positive' };
      },
    };
    const error = await service
      .evaluate({ model: broken, dataset: rows, evaluators: ['accuracy'] })
      .catch((caught) => caught);
    expect(TunekitError.isInstance(error) && error.code).toBe('EVALUATION_PREDICTION_FAILED');
    expect(failures).toEqual(['EVALUATION_PREDICTION_FAILED']);
    const [stored] = (await service.listEvaluations({ modelId: 'broken' })).items;
    expect(stored?.status).toBe('failed');
    expect(harness.auditEntries.at(-1)?.entry.outcome).toBe('failure');
  });

  it('rejects unknown evaluators and samples missing what an evaluator needs', async () => {
    await expect(
      service.evaluate({ model: predictorRightOn('m', () => true), dataset: rows, evaluators: ['nope'] }),
    ).rejects.toMatchObject({
      code: 'EVALUATOR_NOT_FOUND',
    });
    await expect(
      service.evaluate({ model: predictorRightOn('m', () => true), dataset: rows, evaluators: ['bleu'] }),
    ).rejects.toMatchObject({ code: 'EVALUATION_MISSING_FIELD' });
    await expect(
      service.evaluate({
        model: predictorRightOn('m', () => true),
        dataset: 'dsv_missing',
        evaluators: ['accuracy'],
      }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('runs evaluators registered by plugins', async () => {
    const lengthEvaluator: Evaluator<number> = {
      name: 'output-length',
      description: 'Mean length of the predicted label.',
      score: (sample) => String(sample.prediction.label ?? '').length,
      aggregate: (scores) => ({
        metrics: { 'output.length': scores.reduce((a, b) => a + b, 0) / scores.length },
      }),
    };
    harness.extensions.add('evaluator', lengthEvaluator.name, lengthEvaluator as Evaluator);
    expect(service.list().map((evaluator) => evaluator.name)).toContain('output-length');
    expect(() => service.register(lengthEvaluator as Evaluator)).toThrow(/output-length/);
    const evaluation = await service.evaluate({
      model: predictorRightOn('m', () => true),
      dataset: rows.slice(0, 4),
      evaluators: ['output-length'],
    });
    // positive (8), negative (8), positive, negative
    expect(evaluation.metrics['output.length']?.value).toBe(8);
  });

  it('compares two models on the same samples: paired bootstrap, McNemar, verdict', async () => {
    const strong = predictorRightOn('strong', (index) => index % 10 !== 0); // 90%
    const weak = predictorRightOn('weak', (index) => index % 5 < 3); // 60%
    const events: string[] = [];
    harness.events.on('evaluation:compared', (event) => events.push(event.verdict));
    const comparison = await service.compare({
      models: [strong, weak],
      dataset: rows,
      evaluators: ['accuracy', 'classification'],
      bootstrapResamples: 400,
    });
    expect(comparison.sampleCount).toBe(200);
    expect(comparison.metrics.accuracy).toMatchObject({ a: 0.9, b: 0.6, better: 'a' });
    expect(comparison.metrics.accuracy?.difference).toBeCloseTo(0.3, 12);
    expect(comparison.metrics.accuracy?.lower).toBeGreaterThan(0.2);
    // strong right & weak wrong: index%5>=3 and index%10!=0 → 80; only weak right: index%10==0 → 20.
    expect(comparison.mcNemar).toMatchObject({
      method: 'chi-square-continuity',
      onlyACorrect: 80,
      onlyBCorrect: 20,
    });
    expect(comparison.mcNemar?.pValue).toBeLessThan(1e-8);
    expect(comparison.verdict).toBe('a');
    expect(events).toEqual(['a']);
    expect(await service.getComparison(comparison.id)).toMatchObject({
      verdict: 'a',
      primaryMetric: 'accuracy',
    });

    const near = await service.compare({
      models: [
        predictorRightOn('x', (index) => index % 10 !== 0),
        predictorRightOn('y', (index) => index % 10 !== 1),
      ],
      dataset: rows,
      evaluators: ['accuracy'],
      bootstrapResamples: 200,
    });
    expect(near.mcNemar).toMatchObject({
      method: 'chi-square-continuity',
      onlyACorrect: 20,
      onlyBCorrect: 20,
    });
    // (|20 − 20| − 1)² / 40 = 0.025 → scipy.stats.chi2.sf(0.025, 1) = 0.874367…
    expect(near.mcNemar?.pValue).toBeCloseTo(0.8743670611628918, 10);
    expect(near.verdict).toBe('not-significant');

    const few = await service.compare({
      models: [predictorRightOn('x', () => true), predictorRightOn('y', (index) => index !== 3)],
      dataset: rows,
      evaluators: ['accuracy'],
      bootstrapResamples: 100,
    });
    expect(few.mcNemar).toMatchObject({
      method: 'exact-binomial',
      onlyACorrect: 1,
      onlyBCorrect: 0,
      pValue: 1,
    });
    expect(few.verdict).toBe('not-significant');
  });

  it('uses lower-is-better metrics when comparing on perplexity', async () => {
    const scored = (id: string, probability: number): Predictor => ({
      id,
      predict: ({ reference }) => ({
        tokenLogProbabilities: (reference ?? '')
          .split(' ')
          .map((_, index) => Math.log(probability * (index % 2 === 0 ? 1 : 0.9))),
      }),
    });
    const textRows = Array.from({ length: 30 }, (_, index) => ({
      prompt: `p${index}`,
      completion: `one two three ${index}`,
    }));
    const comparison = await service.compare({
      models: [scored('sharp', 0.6), scored('flat', 0.3)],
      dataset: textRows,
      evaluators: ['perplexity'],
      bootstrapResamples: 100,
    });
    expect(comparison.primaryMetric).toBe('perplexity');
    expect(comparison.metrics.perplexity?.lowerIsBetter).toBe(true);
    expect(comparison.verdict).toBe('a');
  });
});
