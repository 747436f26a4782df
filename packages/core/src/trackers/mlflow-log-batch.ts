/** Limits of one MLflow `runs/log-batch` request (mlflow/utils/validation.py). */
export const MlflowLogBatchLimits = {
  metrics: 1000,
  params: 100,
  tags: 100,
  entities: 1000,
  /** Bytes of the JSON body; MLflow rejects requests over 1 MB. A margin is kept for the envelope. */
  bytes: 1_000_000,
} as const;

/** A metric as MLflow's REST API takes it. */
export interface MlflowMetric {
  key: string;
  value: number;
  /** Epoch milliseconds. */
  timestamp: number;
  step: number;
}

/** A param or tag as MLflow's REST API takes it. */
export interface MlflowKeyValue {
  key: string;
  value: string;
}

/** The body of one `runs/log-batch` request (without `run_id`). */
export interface MlflowLogBatchBody {
  metrics: MlflowMetric[];
  params: MlflowKeyValue[];
  tags: MlflowKeyValue[];
}

/**
 * Splits metrics, params and tags into `runs/log-batch` bodies that each respect MLflow's limits:
 * at most 1000 metrics, 100 params, 100 tags, 1000 entities in total and about 1 MB of JSON.
 * Order within each kind is kept.
 */
export function chunkLogBatch(input: Partial<MlflowLogBatchBody>): MlflowLogBatchBody[] {
  const budget = MlflowLogBatchLimits.bytes - 4096;
  const chunks: MlflowLogBatchBody[] = [];
  let current: MlflowLogBatchBody = { metrics: [], params: [], tags: [] };
  let currentBytes = 0;
  const push = (kind: keyof MlflowLogBatchBody, item: MlflowMetric | MlflowKeyValue) => {
    const itemBytes = Buffer.byteLength(JSON.stringify(item)) + 1;
    const count = current.metrics.length + current.params.length + current.tags.length;
    const full =
      current[kind].length >= MlflowLogBatchLimits[kind] ||
      count >= MlflowLogBatchLimits.entities ||
      (count > 0 && currentBytes + itemBytes > budget);
    if (full) {
      chunks.push(current);
      current = { metrics: [], params: [], tags: [] };
      currentBytes = 0;
    }
    (current[kind] as Array<MlflowMetric | MlflowKeyValue>).push(item);
    currentBytes += itemBytes;
  };
  for (const param of input.params ?? []) push('params', param);
  for (const tag of input.tags ?? []) push('tags', tag);
  for (const metric of input.metrics ?? []) push('metrics', metric);
  if (current.metrics.length + current.params.length + current.tags.length > 0) chunks.push(current);
  return chunks;
}
