/** One column of a table: a header and how to read a cell from a row. */
export interface TableColumn<Row> {
  header: string;
  value(row: Row): unknown;
}

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '-';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(5);
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/\s+/g, ' ');
}

/**
 * A shell-friendly table: a header row, then one line per row, columns separated by two spaces and
 * padded to the widest cell (no box drawing, so `grep`, `awk` and `cut` work on it).
 */
export function formatTable<Row>(rows: readonly Row[], columns: readonly TableColumn<Row>[]): string {
  const cells = [
    columns.map((column) => column.header),
    ...rows.map((row) => columns.map((column) => cellText(column.value(row)))),
  ];
  const widths = columns.map((_, index) => Math.max(...cells.map((line) => (line[index] as string).length)));
  return `${cells
    .map((line) =>
      line
        .map((cell, index) => (index === line.length - 1 ? cell : cell.padEnd(widths[index] as number)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** `key  value` lines for one record (nested values as JSON). */
export function formatRecord(record: Record<string, unknown>): string {
  const entries = Object.entries(record).filter(([, value]) => value !== undefined);
  const width = Math.max(0, ...entries.map(([key]) => key.length));
  return `${entries.map(([key, value]) => `${key.padEnd(width)}  ${cellText(value)}`).join('\n')}\n`;
}
