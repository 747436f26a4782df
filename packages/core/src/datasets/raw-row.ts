/** Why a source row could not be read or validated. */
export type RowIssueCategory =
  | 'invalid-json'
  | 'line-too-long'
  | 'wrong-column-count'
  | 'not-an-object'
  | 'schema';

/**
 * One row as a reader produced it, before schema validation: a parsed value, or the reason it
 * could not be parsed. `row` is 1-based and counts every data row of the source (bad ones too);
 * `line` is the 1-based line of the file where the row starts, when the format has lines.
 */
export type RawRow =
  | { kind: 'value'; row: number; line?: number; value: unknown }
  | { kind: 'error'; row: number; line?: number; category: RowIssueCategory; reason: string };
