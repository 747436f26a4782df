/** What a predictor receives for one sample. */
export interface PredictorInput {
  /** The model input: the row's `input`, `prompt` or `text` field (or `messages` for chat rows). */
  input: unknown;
  /** The expected output, when the row has one: what perplexity predictors score token by token. */
  reference?: string;
  /** The whole dataset row, for predictors that need other fields. */
  row: Record<string, unknown>;
}

/** What a predictor returns for one sample; each evaluator reads the fields it needs. */
export interface Prediction {
  /** Predicted class (classification evaluators). */
  label?: string | number;
  /** Generated text (exact match, token F1, ROUGE-L, BLEU). */
  text?: string;
  /** Class → probability; the label defaults to the arg-max when `label` is absent. */
  probabilities?: Record<string, number>;
  /** Natural-log probability of each reference token given its prefix (perplexity). */
  tokenLogProbabilities?: number[];
}

/**
 * Anything that can be evaluated: a trained model, a remote endpoint, a rule. Evaluators depend on
 * this interface only, never on the trainer.
 *
 * @example
 * ```ts
 * const predictor: Predictor = {
 *   id: 'sentiment-v3',
 *   predict: async ({ input }) => ({ label: (input as string).includes('good') ? 'pos' : 'neg' }),
 * };
 * ```
 */
export interface Predictor {
  /** Model id recorded on evaluations (a registry model version id, a job id …). */
  readonly id: string;
  predict(input: PredictorInput, options?: { signal?: AbortSignal }): Prediction | Promise<Prediction>;
}
