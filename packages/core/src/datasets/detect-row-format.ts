import type { RowFormat } from '../schemas/dataset-row.js';

/**
 * Detects the row format from the fields of one row: `prompt`+`chosen`+`rejected` is a preference
 * pair, `messages` a chat, `prompt`+`completion` prompt/completion, `text`+`label` classification,
 * `text` plain text.
 *
 * @returns undefined when the value is not an object or has none of these field sets.
 */
export function detectRowFormat(value: unknown): RowFormat | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return undefined;
  }
  const has = (key: string) => Object.hasOwn(value, key);
  if (has('prompt') && has('chosen') && has('rejected')) {
    return 'preference';
  }
  if (has('messages')) {
    return 'chat';
  }
  if (has('prompt') && has('completion')) {
    return 'prompt-completion';
  }
  if (has('text') && has('label')) {
    return 'classification';
  }
  if (has('text')) {
    return 'text';
  }
  return undefined;
}
