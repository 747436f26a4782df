import type { RowFormat } from '../schemas/dataset-row.js';

type AnyRow = Record<string, unknown>;

function messages(row: AnyRow): { role: string; content: string }[] {
  return Array.isArray(row.messages) ? (row.messages as { role: string; content: string }[]) : [];
}

/**
 * All the text of a row, joined with newlines: `text`; `prompt` and `completion`; every message's
 * content; `prompt`, `chosen` and `rejected`. Length statistics are measured on it.
 */
export function rowText(row: unknown, format: RowFormat): string {
  const value = row as AnyRow;
  switch (format) {
    case 'text':
    case 'classification':
      return String(value.text ?? '');
    case 'prompt-completion':
      return `${value.prompt ?? ''}\n${value.completion ?? ''}`;
    case 'chat':
      return messages(value)
        .map((message) => message.content)
        .join('\n');
    case 'preference':
      return `${value.prompt ?? ''}\n${value.chosen ?? ''}\n${value.rejected ?? ''}`;
  }
}

/**
 * The input side of a row (what a model is shown): `text`; `prompt`; the non-assistant messages.
 * Leakage between two versions is also measured on inputs, since the same question with another
 * answer still leaks.
 */
export function rowInput(row: unknown, format: RowFormat): string {
  const value = row as AnyRow;
  switch (format) {
    case 'text':
    case 'classification':
      return String(value.text ?? '');
    case 'prompt-completion':
    case 'preference':
      return String(value.prompt ?? '');
    case 'chat':
      return messages(value)
        .filter((message) => message.role !== 'assistant')
        .map((message) => `${message.role}: ${message.content}`)
        .join('\n');
  }
}

/** The label of a classification row as a string; undefined for other formats. */
export function rowLabel(row: unknown, format: RowFormat): string | undefined {
  if (format !== 'classification') {
    return undefined;
  }
  const label = (row as AnyRow).label;
  return label === undefined || label === null ? undefined : String(label);
}
