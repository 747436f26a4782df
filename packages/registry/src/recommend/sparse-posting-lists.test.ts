import { describe, expect, it } from 'vitest';
import { createSparsePostingLists } from './sparse-posting-lists.js';

describe('createSparsePostingLists', () => {
  it('counts costs and entries, replaces and removes items by swapping, and scores exactly', () => {
    const lists = createSparsePostingLists(4);
    lists.set(0, [1, 0, 0.5, 0]);
    lists.set(1, [0, 2, 0.25, 0]);
    lists.set(2, [3, 0, 0, -1]);
    expect(lists.entries).toBe(6);
    expect(lists.cost([0, 2])).toBe(4);
    lists.delete(0); // item 2's entry in dimension 0 moves into item 0's slot
    lists.set(1, [0, 0, 0, 4]); // replaces item 1's entries
    expect(lists.entries).toBe(3);
    expect(lists.cost([0, 1, 2, 3])).toBe(3);
    const scores = new Float64Array(3);
    lists.accumulate([1, 1, 1, 0.5], [0, 1, 2, 3], scores);
    expect([...scores]).toEqual([0, 2, 2.5]);
    lists.delete(2);
    expect(lists.delete(2)).toBe(false);
    expect(lists.cost([0, 3])).toBe(1);
    expect(lists.bytes()).toBeGreaterThan(0);
  });
});
