import type { PopulationStability } from './population-stability-index.js';

/** The share of one label in each of two versions. */
export interface LabelShare {
  label: string;
  /** Share of rows with this label in version A (0..1). */
  a: number;
  /** Share in version B. */
  b: number;
  /** `b − a`. */
  difference: number;
}

/** How two dataset versions differ: overlap (leakage) and distribution shift. */
export interface DatasetComparison {
  versionA: string;
  versionB: string;
  rowCounts: { a: number; b: number };
  /**
   * Exact overlap, the train/validation leakage check: rows of B identical to a row of A, and rows
   * of B whose input (text, prompt, non-assistant messages) is an input of A.
   */
  overlap: { rows: number; inputs: number; rowFractionOfB: number; inputFractionOfB: number };
  /** Label shift, when both versions are classification datasets. */
  labelShift?: {
    labels: LabelShare[];
    /** Half the sum of absolute share differences (0 = same distribution, 1 = disjoint). */
    totalVariationDistance: number;
    /** Labels present in B but not in A. */
    unseenLabels: string[];
  };
  /** Population stability index of B's character lengths against A's. */
  characterLengthStability: PopulationStability;
  /** The same on token lengths, when a tokenizer was given. */
  tokenLengthStability?: PopulationStability;
}
