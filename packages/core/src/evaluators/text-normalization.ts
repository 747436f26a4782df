const PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/**
 * SQuAD v1.1 answer normalization (the official `evaluate-v1.1.py`): lower-case, drop ASCII
 * punctuation, drop the articles a/an/the, collapse whitespace.
 */
export function normalizeAnswer(text: string): string {
  const lowered = text.toLowerCase();
  let withoutPunctuation = '';
  for (const character of lowered) {
    if (!PUNCTUATION.has(character)) withoutPunctuation += character;
  }
  return withoutPunctuation
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter((token) => token.length > 0)
    .join(' ');
}

/** SQuAD exact match: 1 when the normalized strings are equal, else 0. */
export function exactMatchScore(prediction: string, reference: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(reference) ? 1 : 0;
}

/** SQuAD token-level F1 between the normalized prediction and reference (bag of tokens). */
export function tokenF1Score(prediction: string, reference: string): number {
  const predicted = normalizeAnswer(prediction).split(' ').filter(Boolean);
  const expected = normalizeAnswer(reference).split(' ').filter(Boolean);
  if (predicted.length === 0 || expected.length === 0) {
    return predicted.length === expected.length ? 1 : 0;
  }
  const counts = new Map<string, number>();
  for (const token of expected) counts.set(token, (counts.get(token) ?? 0) + 1);
  let common = 0;
  for (const token of predicted) {
    const available = counts.get(token) ?? 0;
    if (available > 0) {
      common += 1;
      counts.set(token, available - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / predicted.length;
  const recall = common / expected.length;
  return (2 * precision * recall) / (precision + recall);
}
