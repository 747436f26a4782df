import type { Evaluator } from '../evaluators/evaluator.js';
import type { JobCompletionStep } from '../jobs/with-job-contracts.js';
import type { Tracker } from '../trackers/tracker.js';

/**
 * Named things plugins register with the kit, by extension point. The package that consumes a
 * point declares it, by declaration merging: @tunekit/trainer declares `trainerBackend`,
 * @tunekit/registry `embedder`, @tunekit/server-adapter `route`, e.g.
 * ```ts
 * declare module '@tunekit/core' {
 *   interface ExtensionPoints { trainerBackend: TrainerBackend }
 * }
 * ```
 * Core declares the points it consumes itself (trackers, evaluators, job completion steps).
 */
export interface ExtensionPoints {
  /** An experiment tracker (local, MLflow, W&B or a plugin's own); runs started afterwards use it. */
  tracker: Tracker;
  /** A metric family for `kit.evaluators` (built-ins: accuracy, classification, bleu, rouge-l …). */
  evaluator: Evaluator;
  /**
   * Work done before a job of some kinds counts as `succeeded` (the registry registers a training
   * job's output this way, so `jobs.wait` resolves with the registered version in the output).
   */
  jobCompletion: JobCompletionStep;
}

/** Name of an extension point. */
export type ExtensionPointName = keyof ExtensionPoints;

/** Named registrations per extension point. */
export interface Extensions {
  /** Registers `value` under `name`; throws `CONFLICT` when the name is taken at that point. */
  add<P extends ExtensionPointName>(point: P, name: string, value: ExtensionPoints[P]): void;
  get<P extends ExtensionPointName>(point: P, name: string): ExtensionPoints[P] | undefined;
  list<P extends ExtensionPointName>(point: P): Array<{ name: string; value: ExtensionPoints[P] }>;
  remove<P extends ExtensionPointName>(point: P, name: string): boolean;
}
