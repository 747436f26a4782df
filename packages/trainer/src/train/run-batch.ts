import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { Batch } from '../data/collate-batch.js';
import type { DropoutMaskFeeds, DropoutMaskKey } from './dropout-mask-feeds.js';
import type { TrainingRunContext } from './training-run.js';

/**
 * Runs the session on one batch; returns the loss and (when asked) copies of the gradients. On the
 * training session of a graph with dropout, `dropout` supplies the masks (a key draws training
 * masks; no key feeds ones).
 */
export function runBatch(
  context: TrainingRunContext,
  session: InferenceSession,
  batch: Batch,
  withGradients: boolean,
  dropout?: { feeds: DropoutMaskFeeds; key: DropoutMaskKey | undefined },
  options: {
    reference?: Float32Array;
    parameters?: Float32Array[];
    fetchSequences?: boolean;
    /** The loss scale of a float16 graph (default 1: no gradients are fetched then). */
    lossScale?: number;
  } = {},
): Promise<InferenceSession.OnnxValueMapType> {
  const { ort, graph } = context;
  const parameters = options.parameters ?? context.parameters;
  const dims = [batch.batchSize, batch.length];
  const masks =
    dropout && session === context.session
      ? dropout.feeds.feeds({ batch: batch.batchSize, sequence: batch.length }, dropout.key)
      : {};
  const feeds: Record<string, Tensor> = {
    ...masks,
    [graph.inputNames.inputIds]: new ort.Tensor('int64', batch.inputIds, dims),
    [graph.inputNames.attentionMask]: new ort.Tensor('int64', batch.attentionMask, dims),
    [graph.inputNames.labels]: batch.classLabels
      ? new ort.Tensor('int64', batch.classLabels, [batch.batchSize])
      : new ort.Tensor('int64', batch.labels, dims),
  };
  graph.parameters.forEach((parameter, index) => {
    feeds[parameter.inputName] = new ort.Tensor('float32', parameters[index] as Float32Array, [
      ...parameter.shape,
    ]);
  });
  if (graph.preference) {
    feeds[graph.preference.referenceInput] = new ort.Tensor(
      'float32',
      options.reference ?? new Float32Array(batch.batchSize),
      [batch.batchSize],
    );
  }
  // A loss-only evaluation session is built without the input.
  if (graph.lossScale && session.inputNames.includes(graph.lossScale.input)) {
    feeds[graph.lossScale.input] = new ort.Tensor('float32', Float32Array.of(options.lossScale ?? 1), []);
  }
  const fetches = withGradients
    ? [graph.lossName, ...graph.parameters.map((parameter) => parameter.gradientName)]
    : [graph.lossName];
  if (graph.preference && options.fetchSequences) fetches.push(graph.preference.sequenceOutput);
  return session.run(feeds, fetches);
}
