/** Precision, recall, F1 and support of one class. */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  /** Number of samples whose true label is this class. */
  support: number;
}

/** Per-class and averaged classification metrics, as scikit-learn's `precision_recall_fscore_support`. */
export interface ClassificationMetrics {
  /** Sorted labels: the union of true and predicted labels. */
  labels: string[];
  perClass: Record<string, ClassScores>;
  macro: { precision: number; recall: number; f1: number };
  micro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
  /** confusion[i][j]: samples of true label i predicted as j (rows and columns in `labels` order). */
  confusion: number[][];
}

const ratio = (numerator: number, denominator: number) => (denominator === 0 ? 0 : numerator / denominator);
const harmonic = (precision: number, recall: number) =>
  precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);

/**
 * Computes classification metrics from pairs of (true, predicted) labels. A missing prediction
 * (`undefined`) counts as wrong and as a prediction of no class. Undefined ratios are 0, as
 * scikit-learn with `zero_division=0`.
 */
export function classificationMetrics(
  pairs: ReadonlyArray<readonly [string, string | undefined]>,
): ClassificationMetrics {
  const labelSet = new Set<string>();
  for (const [truth, predicted] of pairs) {
    labelSet.add(truth);
    if (predicted !== undefined) labelSet.add(predicted);
  }
  const labels = [...labelSet].sort();
  const position = new Map(labels.map((label, index) => [label, index]));
  const confusion = labels.map(() => new Array<number>(labels.length).fill(0));
  for (const [truth, predicted] of pairs) {
    if (predicted === undefined) continue;
    const row = confusion[position.get(truth) as number] as number[];
    const column = position.get(predicted) as number;
    row[column] = (row[column] as number) + 1;
  }
  const support = new Map<string, number>();
  for (const [truth] of pairs) support.set(truth, (support.get(truth) ?? 0) + 1);

  const perClass: Record<string, ClassScores> = {};
  let truePositives = 0;
  let predictedTotal = 0;
  let actualTotal = 0;
  const macro = { precision: 0, recall: 0, f1: 0 };
  const weighted = { precision: 0, recall: 0, f1: 0 };
  labels.forEach((label, index) => {
    const tp = (confusion[index] as number[])[index] as number;
    const predictedAsLabel = confusion.reduce((sum, row) => sum + (row[index] as number), 0);
    const labelSupport = support.get(label) ?? 0;
    const precision = ratio(tp, predictedAsLabel);
    const recall = ratio(tp, labelSupport);
    const f1 = harmonic(precision, recall);
    perClass[label] = { precision, recall, f1, support: labelSupport };
    truePositives += tp;
    predictedTotal += predictedAsLabel;
    actualTotal += labelSupport;
    macro.precision += precision / labels.length;
    macro.recall += recall / labels.length;
    macro.f1 += f1 / labels.length;
    weighted.precision += (precision * labelSupport) / pairs.length;
    weighted.recall += (recall * labelSupport) / pairs.length;
    weighted.f1 += (f1 * labelSupport) / pairs.length;
  });
  const microPrecision = ratio(truePositives, predictedTotal);
  const microRecall = ratio(truePositives, actualTotal);
  return {
    labels,
    perClass,
    macro,
    micro: { precision: microPrecision, recall: microRecall, f1: harmonic(microPrecision, microRecall) },
    weighted,
    confusion,
  };
}
