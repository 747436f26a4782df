/** Maximum n-gram order of BLEU (sacreBLEU's default). */
export const BLEU_MAX_ORDER = 4;

/** sacreBLEU's signature of the configuration implemented here (for reports). */
export const BLEU_SIGNATURE = 'case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0';

/**
 * sacreBLEU's `13a` tokenizer (mteval-v13a, used by WMT): removes `<skipped>`, joins hyphenated line
 * breaks, unescapes `&quot; &amp; &lt; &gt;`, splits off punctuation and symbols, splits `.` and `,`
 * unless between digits, and a `-` after a digit.
 */
export function tokenize13a(line: string): string {
  let text = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (text.includes('&')) {
    text = text
      .replaceAll('&quot;', '"')
      .replaceAll('&amp;', '&')
      .replaceAll('&lt;', '<')
      .replaceAll('&gt;', '>');
  }
  text = ` ${text} `;
  text = text.replace(/([{-~[-` -&(-+:-@/])/g, ' $1 ');
  text = text.replace(/([^0-9])([.,])/g, '$1 $2 ');
  text = text.replace(/([.,])([^0-9])/g, ' $1 $2');
  text = text.replace(/([0-9])(-)/g, '$1 $2 ');
  return text
    .split(/\s+/)
    .filter((token) => token.length > 0)
    .join(' ');
}

/** Sufficient statistics of one segment: `[hypothesisLength, referenceLength, correct₁..₄, total₁..₄]`. */
export type BleuSegmentStatistics = number[];

function countNgrams(tokens: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (let order = 1; order <= BLEU_MAX_ORDER; order += 1) {
    for (let start = 0; start + order <= tokens.length; start += 1) {
      // \u0001 cannot appear inside a whitespace-split token boundary ambiguity.
      const key = `${order}\u0001${tokens.slice(start, start + order).join('\u0001')}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * Segment statistics as sacreBLEU's `BLEU._compute_segment_statistics`: hypothesis n-gram counts
 * clipped by the maximum count over the references, and the reference length closest to the
 * hypothesis length (the shorter one on ties). Texts are right-trimmed and tokenized with 13a;
 * case-sensitive.
 */
export function bleuSegmentStatistics(
  hypothesis: string,
  references: readonly string[],
): BleuSegmentStatistics {
  const hypothesisTokens = tokenize13a(hypothesis.trimEnd()).split(' ').filter(Boolean);
  const referenceCounts = new Map<string, number>();
  const referenceLengths: number[] = [];
  for (const reference of references) {
    const tokens = tokenize13a(reference.trimEnd()).split(' ').filter(Boolean);
    referenceLengths.push(tokens.length);
    for (const [key, count] of countNgrams(tokens)) {
      referenceCounts.set(key, Math.max(referenceCounts.get(key) ?? 0, count));
    }
  }
  let closestLength = -1;
  let closestDifference = -1;
  for (const length of referenceLengths) {
    const difference = Math.abs(hypothesisTokens.length - length);
    if (closestDifference === -1 || difference < closestDifference) {
      closestDifference = difference;
      closestLength = length;
    } else if (difference === closestDifference && length < closestLength) {
      closestLength = length;
    }
  }
  const correct = new Array<number>(BLEU_MAX_ORDER).fill(0);
  const total = new Array<number>(BLEU_MAX_ORDER).fill(0);
  for (const [key, count] of countNgrams(hypothesisTokens)) {
    const order = Number(key.slice(0, key.indexOf('\u0001')));
    total[order - 1] = (total[order - 1] as number) + count;
    const available = referenceCounts.get(key);
    if (available !== undefined)
      correct[order - 1] = (correct[order - 1] as number) + Math.min(count, available);
  }
  return [hypothesisTokens.length, closestLength, ...correct, ...total];
}

/** A corpus BLEU score with its parts, as sacreBLEU reports it (score and precisions on a 0–100 scale). */
export interface BleuScore {
  score: number;
  precisions: number[];
  brevityPenalty: number;
  hypothesisLength: number;
  referenceLength: number;
  /** hypothesisLength / referenceLength. */
  ratio: number;
}

/**
 * Corpus BLEU from summed segment statistics, as sacreBLEU's `BLEU.compute_bleu` with its defaults:
 * max order 4, `smooth_method='exp'` (NIST/mteval-v13a: the k-th zero-match order gets precision
 * 100 / (2^k · total)), `effective_order=False`, brevity penalty exp(1 − r/c) when c < r.
 */
export function corpusBleu(segments: readonly BleuSegmentStatistics[]): BleuScore {
  const sums = new Array<number>(2 + 2 * BLEU_MAX_ORDER).fill(0);
  for (const segment of segments) {
    for (let index = 0; index < sums.length; index += 1)
      sums[index] = (sums[index] as number) + (segment[index] ?? 0);
  }
  const [hypothesisLength, referenceLength] = sums as [number, number];
  const correct = sums.slice(2, 2 + BLEU_MAX_ORDER);
  const total = sums.slice(2 + BLEU_MAX_ORDER);
  let brevityPenalty = 1;
  if (hypothesisLength < referenceLength) {
    brevityPenalty = hypothesisLength > 0 ? Math.exp(1 - referenceLength / hypothesisLength) : 0;
  }
  const precisions = new Array<number>(BLEU_MAX_ORDER).fill(0);
  const ratio = referenceLength > 0 ? hypothesisLength / referenceLength : 0;
  if (!correct.some((count) => count > 0)) {
    return { score: 0, precisions, brevityPenalty, hypothesisLength, referenceLength, ratio };
  }
  let smoothing = 1;
  for (let order = 1; order <= BLEU_MAX_ORDER; order += 1) {
    const orderTotal = total[order - 1] as number;
    if (orderTotal === 0) break;
    const orderCorrect = correct[order - 1] as number;
    if (orderCorrect === 0) {
      smoothing *= 2;
      precisions[order - 1] = 100 / (smoothing * orderTotal);
    } else {
      precisions[order - 1] = (100 * orderCorrect) / orderTotal;
    }
  }
  const logSum = precisions.reduce(
    (sum, precision) => sum + (precision > 0 ? Math.log(precision) : -9999999999),
    0,
  );
  return {
    score: brevityPenalty * Math.exp(logSum / BLEU_MAX_ORDER),
    precisions,
    brevityPenalty,
    hypothesisLength,
    referenceLength,
    ratio,
  };
}
