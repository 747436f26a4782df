import type { Prediction, Predictor, PredictorInput } from '@tunekit/core';
import type { GenerationOptionsInput } from '../generate/generation-options.js';
import type { OpenedModel } from './open-model.js';

/** Options of {@link modelPredictor}. */
export interface ModelPredictorOptions {
  /** Id recorded on evaluations (a registry version id, `job:<id>` …). */
  id: string;
  /** Generation settings of `text` predictions (default greedy, 32 tokens). */
  generation?: GenerationOptionsInput;
  /** Skip generating text (perplexity-only evaluations are faster without it). Default false. */
  skipGeneration?: boolean;
}

/**
 * A `Predictor` for `kit.evaluators` over a model opened with `openModel`: classifiers give `label`
 * and `probabilities`; generative models give the generated `text` and, when the row has a
 * reference, `tokenLogProbabilities` of the reference's tokens after the input, computed by the
 * model (what the `perplexity` evaluator averages).
 */
export function modelPredictor(model: OpenedModel, options: ModelPredictorOptions): Predictor {
  const generation = options.generation ?? { temperature: 0, maxTokens: 32 };
  return {
    id: options.id,
    async predict({ input, reference }: PredictorInput): Promise<Prediction> {
      const prompt = typeof input === 'string' ? input : JSON.stringify(input);
      if (model.task === 'text-classification') {
        const predicted = await model.predict(prompt, { topK: Math.max(1, model.labels.length) });
        const probabilities = Object.fromEntries(
          (predicted.top_k ?? [{ label: predicted.label, probability: predicted.probability }]).map(
            (entry) => [entry.label, entry.probability],
          ),
        );
        return { label: predicted.label, probabilities };
      }
      const prediction: Prediction = {};
      if (!options.skipGeneration) prediction.text = (await model.generate(prompt, generation)).text;
      if (reference !== undefined) {
        const { tokenizer } = model;
        const context = tokenizer.encode(prompt, { addSpecialTokens: true });
        const continuation = tokenizer.encode(reference);
        // Keep the end of a long context: the reference tokens are what is scored.
        const room = Math.max(1, model.maxPositions - continuation.length);
        const ids = [...context.slice(-room), ...continuation].slice(0, model.maxPositions);
        const scores = await model.logProbabilities(ids);
        prediction.tokenLogProbabilities = scores.slice(
          scores.length - Math.min(continuation.length, scores.length),
        );
      }
      return prediction;
    },
  };
}
