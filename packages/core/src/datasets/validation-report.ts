import type { RowIssueCategory } from './raw-row.js';

/** One rejected row: where it is and why. */
export interface RowIssue {
  /** 1-based data row of the source (header excluded, blank lines skipped). */
  row: number;
  /** 1-based line of the file, when the format has lines. */
  line?: number;
  category: RowIssueCategory;
  /** Readable reason, e.g. `label: Invalid input` or `invalid JSON: Unexpected token …`. */
  reason: string;
}

/** The result of validating every row of a source. */
export interface ValidationReport {
  totalRows: number;
  validRows: number;
  invalidRows: number;
  /** The first issues (at most the configured number), in row order. */
  issues: RowIssue[];
  /** True when more issues occurred than `issues` holds. */
  truncated: boolean;
  /** Number of invalid rows per category. */
  issueCounts: Partial<Record<RowIssueCategory, number>>;
}

/** Collects row issues, keeping the first `maxIssues` and counting all of them. */
export class ValidationReportBuilder {
  private readonly issues: RowIssue[] = [];
  private readonly counts: Partial<Record<RowIssueCategory, number>> = {};
  private valid = 0;
  private invalid = 0;

  /** @param maxIssues - how many issues to keep in full. */
  constructor(private readonly maxIssues: number) {}

  /** Counts one valid row. */
  accept(): void {
    this.valid += 1;
  }

  /** Records one invalid row. */
  reject(issue: RowIssue): void {
    this.invalid += 1;
    this.counts[issue.category] = (this.counts[issue.category] ?? 0) + 1;
    if (this.issues.length < this.maxIssues) {
      this.issues.push(issue);
    }
  }

  /** Number of invalid rows so far. */
  get invalidRows(): number {
    return this.invalid;
  }

  /** The report so far. */
  build(): ValidationReport {
    return {
      totalRows: this.valid + this.invalid,
      validRows: this.valid,
      invalidRows: this.invalid,
      issues: [...this.issues],
      truncated: this.invalid > this.issues.length,
      issueCounts: { ...this.counts },
    };
  }
}

/** One line per issue (`row 3 (line 4): label: Invalid input`), for error messages. */
export function formatRowIssues(issues: readonly RowIssue[], limit = 5): string {
  return issues
    .slice(0, limit)
    .map(
      (issue) =>
        `row ${issue.row}${issue.line === undefined ? '' : ` (line ${issue.line})`}: ${issue.reason}`,
    )
    .join('; ');
}
