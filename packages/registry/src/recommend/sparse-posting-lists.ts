/** Bytes one posting entry takes: an Int32 label and a Float32 value. */
const BYTES_PER_POSTING = 8;

/**
 * An inverted index over the dimensions of sparse vectors: per dimension, a posting list of
 * `(label, value)` for every item whose value there is non-zero. A query touches only the lists of
 * its own non-zero dimensions, so an exact dot product with every item costs the sum of those
 * lists' lengths (known before scanning: {@link SparsePostingLists.cost}) instead of
 * `items × dimensions`.
 *
 * Removal is a swap with the list's last entry; each item keeps its non-zero dimensions and its
 * position in each of their lists, so removing or replacing an item costs its own non-zero count.
 */
export interface SparsePostingLists {
  readonly dimensions: number;
  /** Posting entries held (the non-zero values of all items). */
  readonly entries: number;
  /** Adds an item's non-zero values, or replaces those it had. */
  set(label: number, vector: ArrayLike<number>): void;
  /** Removes an item's entries; false when it had none. */
  delete(label: number): boolean;
  /** Posting entries a query with these non-zero dimensions would read. */
  cost(queryDimensions: ArrayLike<number>): number;
  /**
   * Adds `query[d] * value` of every entry of every dimension in `queryDimensions` (ascending) to
   * `scores[label]`. Items accumulate their terms in ascending dimension order, as a dense dot
   * product does, so the sums are bit-identical to one.
   */
  accumulate(query: ArrayLike<number>, queryDimensions: ArrayLike<number>, scores: Float64Array): void;
  /** Approximate memory held, in bytes (typed-array capacity, not JS object headers). */
  bytes(): number;
}

interface PostingList {
  labels: Int32Array;
  values: Float32Array;
  length: number;
}

interface ItemRow {
  /** The item's non-zero dimensions, ascending. */
  dimensions: Uint16Array;
  /** `positions[j]`: index of the item's entry in the list of `dimensions[j]`. */
  positions: Int32Array;
}

/** Creates empty posting lists for vectors of `dimensions` (at most 65,536) dimensions. */
export function createSparsePostingLists(dimensions: number): SparsePostingLists {
  const lists: PostingList[] = Array.from({ length: dimensions }, () => ({
    labels: new Int32Array(8),
    values: new Float32Array(8),
    length: 0,
  }));
  const rows = new Map<number, ItemRow>();
  let entries = 0;

  const append = (list: PostingList, label: number, value: number): number => {
    if (list.length === list.labels.length) {
      const labels = new Int32Array(list.labels.length * 2);
      labels.set(list.labels);
      const values = new Float32Array(list.values.length * 2);
      values.set(list.values);
      list.labels = labels;
      list.values = values;
    }
    list.labels[list.length] = label;
    list.values[list.length] = value;
    list.length += 1;
    return list.length - 1;
  };

  const positionInRow = (row: ItemRow, dimension: number): number => {
    let low = 0;
    let high = row.dimensions.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const value = row.dimensions[middle] as number;
      if (value === dimension) return middle;
      if (value < dimension) low = middle + 1;
      else high = middle - 1;
    }
    return -1;
  };

  const remove = (label: number): boolean => {
    const row = rows.get(label);
    if (row === undefined) return false;
    for (let j = 0; j < row.dimensions.length; j += 1) {
      const dimension = row.dimensions[j] as number;
      const list = lists[dimension] as PostingList;
      const position = row.positions[j] as number;
      const last = list.length - 1;
      if (position !== last) {
        const moved = list.labels[last] as number;
        list.labels[position] = moved;
        list.values[position] = list.values[last] as number;
        const movedRow = rows.get(moved) as ItemRow;
        movedRow.positions[positionInRow(movedRow, dimension)] = position;
      }
      list.length = last;
    }
    entries -= row.dimensions.length;
    rows.delete(label);
    return true;
  };

  return {
    dimensions,
    get entries() {
      return entries;
    },
    set(label, vector) {
      remove(label);
      let count = 0;
      for (let dimension = 0; dimension < dimensions; dimension += 1) if (vector[dimension] !== 0) count += 1;
      const row: ItemRow = { dimensions: new Uint16Array(count), positions: new Int32Array(count) };
      let j = 0;
      for (let dimension = 0; dimension < dimensions; dimension += 1) {
        const value = vector[dimension] as number;
        if (value === 0) continue;
        row.dimensions[j] = dimension;
        row.positions[j] = append(lists[dimension] as PostingList, label, value);
        j += 1;
      }
      rows.set(label, row);
      entries += count;
    },
    delete: remove,
    cost(queryDimensions) {
      let total = 0;
      for (let j = 0; j < queryDimensions.length; j += 1) {
        total += (lists[queryDimensions[j] as number] as PostingList).length;
      }
      return total;
    },
    accumulate(query, queryDimensions, scores) {
      for (let j = 0; j < queryDimensions.length; j += 1) {
        const dimension = queryDimensions[j] as number;
        const weight = query[dimension] as number;
        const { labels, values, length } = lists[dimension] as PostingList;
        for (let position = 0; position < length; position += 1) {
          const label = labels[position] as number;
          scores[label] = (scores[label] as number) + weight * (values[position] as number);
        }
      }
    },
    bytes() {
      let total = 0;
      for (const list of lists) total += list.labels.length * BYTES_PER_POSTING;
      for (const row of rows.values()) total += row.dimensions.byteLength + row.positions.byteLength;
      return total;
    },
  };
}
