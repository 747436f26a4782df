/** Precision, recall and F-measure of one ROUGE score. */
export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

/**
 * Tokenization of Google's `rouge_score` (no stemmer, its default): lower-case, every run of
 * characters outside `[a-z0-9]` becomes a space, split on whitespace. Non-ASCII letters are dropped,
 * as in `rouge_score`.
 */
export function rougeTokenize(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .split(/\s+/)
    .filter((token) => token.length > 0);
}

/** Length of the longest common subsequence of two token lists (O(n·m) time, O(m) memory). */
export function longestCommonSubsequence(first: readonly string[], second: readonly string[]): number {
  let previous = new Uint32Array(second.length + 1);
  let current = new Uint32Array(second.length + 1);
  for (let row = 1; row <= first.length; row += 1) {
    for (let column = 1; column <= second.length; column += 1) {
      current[column] =
        first[row - 1] === second[column - 1]
          ? (previous[column - 1] as number) + 1
          : Math.max(previous[column] as number, current[column - 1] as number);
    }
    [previous, current] = [current, previous];
  }
  return previous[second.length] as number;
}

/**
 * ROUGE-L of one prediction against one reference, as `rouge_score.RougeScorer(['rougeL']).score(
 * target, prediction)`: LCS / prediction length (precision), LCS / reference length (recall), and
 * their harmonic mean. Empty inputs score 0.
 */
export function rougeL(prediction: string, reference: string): RougeScore {
  const predicted = rougeTokenize(prediction);
  const expected = rougeTokenize(reference);
  if (predicted.length === 0 || expected.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const common = longestCommonSubsequence(expected, predicted);
  const precision = common / predicted.length;
  const recall = common / expected.length;
  return {
    precision,
    recall,
    fmeasure: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
  };
}
