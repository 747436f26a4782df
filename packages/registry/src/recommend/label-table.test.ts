import { describe, expect, it } from 'vitest';
import { decodeLabelTable, encodeLabelTable } from './label-table.js';

describe('encodeLabelTable / decodeLabelTable', () => {
  it('round-trips ids (any characters), deleted labels and fingerprints', () => {
    const labels = ['tone-ja@1', null, 'größe-modèle@12', '日本語モデル@3', null, 'emoji-🙂@2', 'a\nb@1'];
    const fingerprints = Uint32Array.from([1, 0, 4294967295, 7, 0, 123456789, 42]);
    const bytes = encodeLabelTable({ labels, fingerprints });
    // A misaligned copy must decode too (the store may hand back any byte offset).
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    for (const input of [bytes, shifted.subarray(1)]) {
      const decoded = decodeLabelTable(input);
      expect(decoded.labels).toEqual(labels);
      expect([...decoded.fingerprints]).toEqual([...fingerprints]);
    }
    expect(decodeLabelTable(encodeLabelTable({ labels: [], fingerprints: new Uint32Array(0) }))).toEqual({
      labels: [],
      fingerprints: new Uint32Array(0),
    });
  });

  it('rejects bytes that are not a label table, and mismatched inputs', () => {
    const bytes = encodeLabelTable({ labels: ['a@1', 'b@2'], fingerprints: Uint32Array.from([1, 2]) });
    expect(() => decodeLabelTable(new Uint8Array([1, 2, 3]))).toThrow(/Invalid label table/);
    const wrongMagic = bytes.slice();
    wrongMagic[0] = 0;
    expect(() => decodeLabelTable(wrongMagic)).toThrow(/magic/);
    expect(() => decodeLabelTable(bytes.subarray(0, 20))).toThrow(/truncated/);
    expect(() => decodeLabelTable(bytes.subarray(0, bytes.byteLength - 1))).toThrow(/out of range/);
    const trailing = new Uint8Array(bytes.byteLength + 1);
    trailing.set(bytes);
    trailing[bytes.byteLength] = 65;
    expect(() => decodeLabelTable(trailing)).toThrow(/trailing/);
    expect(() => encodeLabelTable({ labels: ['a@1'], fingerprints: new Uint32Array(2) })).toThrow(
      /1 labels but 2 fingerprints/,
    );
  });
});
