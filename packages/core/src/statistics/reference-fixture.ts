import { readFileSync } from 'node:fs';

/**
 * The reference values computed by `tests/golden/evaluation_reference.py` (scipy, sacreBLEU,
 * rouge_score), for tests. Not exported from the package.
 */
// biome-ignore lint/suspicious/noExplicitAny: fixture JSON read in tests only
export function loadEvaluationReference(): any {
  const url = new URL('../../../../tests/golden/fixtures/evaluation-reference.json', import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8'));
}
