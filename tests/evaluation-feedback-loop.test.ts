import { createTunekit, definePlugin, type Evaluator, type Predictor, type Tunekit } from '@tunekit/core';
import { afterEach, describe, expect, it } from 'vitest';

/** A keyword "model" whose vocabulary decides how often it is right. */
function keywordModel(id: string, positiveWords: string[]): Predictor {
  return {
    id,
    predict: ({ input }) => ({
      label: positiveWords.some((word) => String(input).includes(word)) ? 'positive' : 'negative',
    }),
  };
}

const words = ['great', 'good', 'fine', 'nice', 'bad', 'awful', 'poor', 'meh'];
const rows = Array.from({ length: 160 }, (_, index) => {
  const word = words[index % words.length] as string;
  return {
    text: `the service was ${word} (#${index})`,
    label: index % words.length < 4 ? 'positive' : 'negative',
  };
});

describe('evaluate → compare → A/B test → feedback → training data, through the kit', () => {
  let kit: Tunekit | undefined;
  afterEach(async () => {
    await kit?.close();
  });

  it('runs the whole loop on kit.evaluators, kit.abTests, kit.feedback and kit.datasets', async () => {
    const lengthEvaluator: Evaluator<number> = {
      name: 'input-length',
      description: 'Mean input length in characters.',
      score: (sample) => String(sample.input).length,
      aggregate: (scores) => ({
        metrics: { 'input.length': scores.reduce((a, b) => a + b, 0) / scores.length },
      }),
    };
    kit = await createTunekit({
      plugins: [
        definePlugin({
          name: 'extra-evaluators',
          setup: (context) =>
            context.extensions.add('evaluator', lengthEvaluator.name, lengthEvaluator as Evaluator),
        }),
      ],
    });
    const version = await kit.datasets.register({ name: 'reviews', kind: 'test', source: { rows } });
    const v1 = keywordModel('sentiment-v1', ['great', 'good']); // right on 6 of 8 words
    const v2 = keywordModel('sentiment-v2', ['great', 'good', 'fine', 'nice']); // right on all

    const evaluation = await kit.evaluators.evaluate({
      model: v2,
      dataset: version.id,
      evaluators: ['accuracy', 'classification', 'input-length'],
      bootstrapResamples: 200,
    });
    expect(evaluation.metrics.accuracy?.value).toBe(1);
    expect(evaluation.metrics['input.length']?.value).toBeGreaterThan(20);

    const comparison = await kit.evaluators.compare({
      models: [v1, v2],
      dataset: version.id,
      evaluators: ['accuracy'],
      bootstrapResamples: 200,
    });
    expect(comparison.metrics.accuracy).toMatchObject({ a: 0.75, b: 1 });
    expect(comparison.mcNemar).toMatchObject({
      method: 'chi-square-continuity',
      onlyACorrect: 0,
      onlyBCorrect: 40,
    });
    expect(comparison.verdict).toBe('b');

    const concluded: Array<string | null> = [];
    kit.events.on('abtest:concluded', (event) => concluded.push(event.winner));
    const test = await kit.abTests.create({
      name: 'sentiment v1 vs v2',
      variants: [
        { modelId: v1.id, weight: 50 },
        { modelId: v2.id, weight: 50 },
      ],
      successMetric: { kind: 'rating', name: 'helpfulness' },
      minSamplesPerVariant: 20,
    });
    for (let index = 0; index < 80; index += 1) {
      const userId = `user-${index}`;
      const { modelId } = await kit.abTests.assign(test.id, userId);
      const good = modelId === v2.id || index % 3 === 0;
      await kit.feedback.record({
        modelId,
        userId,
        abTestId: test.id,
        input: `review ${index % 5}`,
        output: good ? 'positive' : 'negative',
        rating: good ? 5 : 1,
        correctedText: good ? undefined : 'positive',
      });
    }
    const results = await kit.abTests.results(test.id);
    expect(results.winner).toBe(v2.id);
    const stopped = await kit.abTests.stop(test.id);
    expect(stopped.winner).toBe(v2.id);
    expect(concluded).toEqual([v2.id]);

    const stats = await kit.feedback.stats({ abTestId: test.id, groupBy: 'variant' });
    expect(stats.count).toBe(80);
    expect(stats.groups?.find((group) => group.key === v2.id)?.averageRating).toBe(5);

    const exported = await kit.feedback.export({ as: 'preference', filter: { modelId: v1.id } });
    expect(exported.rows).toBeGreaterThan(0);
    expect(exported.version.kind).toBe('feedback');
    expect((await kit.datasets.versions('feedback-preference')).map((item) => item.id)).toEqual([
      exported.version.id,
    ]);

    const actions = (await kit.audit.query({ limit: 1000 })).items.map((event) => event.action);
    expect(actions).toEqual(
      expect.arrayContaining([
        'evaluation.run',
        'evaluation.compare',
        'abtest.create',
        'abtest.stop',
        'feedback.record',
        'feedback.export',
      ]),
    );
  });
});
