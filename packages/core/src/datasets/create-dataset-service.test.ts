import { Readable } from 'node:stream';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatasetService } from './dataset-service.js';
import {
  collect,
  createDatasetServiceFixture,
  type DatasetServiceFixture,
  eventsNamed,
  rejection,
  reviews,
} from './dataset-test-harness.js';

let fixture: DatasetServiceFixture;
let artifacts: DatasetServiceFixture['artifacts'];
let events: DatasetServiceFixture['events'];
let audit: DatasetServiceFixture['audit'];
let datasets: DatasetService;

beforeEach(async () => {
  fixture = await createDatasetServiceFixture();
  ({ artifacts, events, audit, datasets } = fixture);
});

afterEach(() => fixture.dispose());

const file = (name: string, content: string | Uint8Array) => fixture.file(name, content);

describe('register: file formats', () => {
  it('reads JSONL, detects classification rows and stores canonical JSONL in the artifact store', async () => {
    const path = await file('reviews.jsonl', `${reviews.map((row) => JSON.stringify(row)).join('\n')}\n`);
    const version = await datasets.register({ name: 'reviews', kind: 'training', source: { path } });
    expect(version).toMatchObject({
      name: 'reviews',
      kind: 'training',
      fileFormat: 'jsonl',
      rowFormat: 'classification',
      origin: 'file',
      rowCount: 3,
      droppedRowCount: 0,
      mode: 'strict',
    });
    expect(version.uri).toBe(`artifact://datasets/reviews/${version.sha256}.jsonl`);
    const stored = Buffer.from(await artifacts.get(version.uri)).toString('utf8');
    expect(stored).toBe(
      '{"label":"positive","text":"great product"}\n' +
        '{"label":"negative","text":"terrible, broke in a day"}\n' +
        '{"label":"positive","text":"works as described"}\n',
    );
    expect(version.bytes).toBe(Buffer.byteLength(stored));
    expect((await artifacts.stat(version.uri))?.sha256).toBe(version.sha256);
    expect(await collect(datasets.rows(version.id))).toEqual(reviews);
  });

  it('reads a JSON array (streamed element by element) with nested chat messages', async () => {
    const rows = [
      {
        messages: [
          { role: 'user', content: 'Hi, [bracket] "quoted" {brace}' },
          { role: 'assistant', content: 'Hello!' },
        ],
      },
      {
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'assistant', content: 'ok' },
        ],
      },
    ];
    const path = await file('chat.json', JSON.stringify(rows, null, 2));
    const version = await datasets.register({ name: 'chat', kind: 'training', source: { path } });
    expect(version).toMatchObject({ fileFormat: 'json', rowFormat: 'chat', rowCount: 2 });
    expect(await collect(datasets.rows(version.id))).toEqual(rows);
  });

  it('reads CSV with a header row (quoted commas and newlines in cells)', async () => {
    const path = await file(
      'pairs.csv',
      'prompt,completion\n"Say hi, politely","Hello,\nfriend"\nAdd 2+2,4\n',
    );
    const version = await datasets.register({ name: 'pairs', kind: 'training', source: { path } });
    expect(version).toMatchObject({ fileFormat: 'csv', rowFormat: 'prompt-completion', rowCount: 2 });
    expect(await collect(datasets.rows(version.id))).toEqual([
      { prompt: 'Say hi, politely', completion: 'Hello,\nfriend' },
      { prompt: 'Add 2+2', completion: '4' },
    ]);
  });

  it('reads Parquet written by hyparquet-writer (several row groups, int64 labels)', async () => {
    const count = 25;
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'text', data: Array.from({ length: count }, (_, index) => `review number ${index}`) },
        {
          name: 'label',
          data: Array.from({ length: count }, (_, index) => BigInt(index % 3)),
          type: 'INT64',
        },
      ],
      rowGroupSize: 10,
    });
    const path = await file('reviews.parquet', new Uint8Array(buffer));
    const version = await datasets.register({ name: 'parquet-reviews', kind: 'test', source: { path } });
    expect(version).toMatchObject({ fileFormat: 'parquet', rowFormat: 'classification', rowCount: 25 });
    expect(version.sourceBytes).toBe(buffer.byteLength);
    const rows = await collect(datasets.rows(version.id));
    expect(rows[0]).toEqual({ text: 'review number 0', label: 0 });
    expect(rows[24]).toEqual({ text: 'review number 24', label: 0 });
    const stats = await datasets.stats(version.id);
    expect(stats.labels).toEqual({ '0': 9, '1': 8, '2': 8 });
  });

  it('reads a Parquet upload from a stream (spooled to a temporary file) and preference rows', async () => {
    const buffer = parquetWriteBuffer({
      columnData: [
        { name: 'prompt', data: ['2+2?', 'capital of France?'] },
        { name: 'chosen', data: ['4', 'Paris'] },
        { name: 'rejected', data: ['5', 'Lyon'] },
      ],
    });
    const version = await datasets.register({
      name: 'preferences',
      kind: 'feedback',
      source: { stream: Readable.from([Buffer.from(buffer)]) },
    });
    expect(version).toMatchObject({
      fileFormat: 'parquet',
      rowFormat: 'preference',
      origin: 'stream',
      rowCount: 2,
    });
  });

  it('registers in-memory rows and a JSONL stream without a file name (format from content)', async () => {
    const fromRows = await datasets.register({
      name: 'notes',
      kind: 'training',
      source: { rows: [{ text: 'alpha' }, { text: 'beta' }] },
    });
    expect(fromRows).toMatchObject({ origin: 'rows', rowFormat: 'text', rowCount: 2 });
    expect(fromRows.fileFormat).toBeUndefined();
    const fromStream = await datasets.register({
      name: 'notes-stream',
      kind: 'training',
      source: { stream: Readable.from(['{"text":"al', 'pha"}\n{"text":"beta"}']) },
    });
    expect(fromStream).toMatchObject({
      origin: 'stream',
      fileFormat: 'jsonl',
      rowCount: 2,
      sha256: fromRows.sha256,
    });
  });
});

describe('versions and lineage', () => {
  it('is content-addressed: identical content (any key order or source) returns the existing version', async () => {
    const first = await datasets.register({ name: 'reviews', kind: 'training', source: { rows: reviews } });
    const reordered = reviews.map(({ text, label }) => ({ label, text }));
    const path = await file(
      'reviews.csv',
      `label,text\n${reordered.map((row) => `${row.label},"${row.text}"`).join('\n')}\n`,
    );
    const again = await datasets.register({ name: 'reviews', kind: 'training', source: { path } });
    expect(again.id).toBe(first.id);
    expect(await datasets.versions('reviews')).toHaveLength(1);
    expect(eventsNamed(events, 'dataset:registered').map((event) => event.reused)).toEqual([false, true]);

    const changed = await datasets.register({
      name: 'reviews',
      kind: 'training',
      source: { rows: [...reviews, { text: 'meh', label: 'neutral' }] },
      parentVersionId: first.id,
      description: 'added a neutral review',
    });
    expect(changed.id).not.toBe(first.id);
    expect(changed.parentVersionId).toBe(first.id);
    expect((await datasets.versions('reviews')).map((version) => version.id)).toEqual([first.id, changed.id]);
    expect(await datasets.get('reviews')).toMatchObject({
      versionCount: 2,
      latestVersionId: changed.id,
      kind: 'training',
    });
    expect((await datasets.list()).items.map((dataset) => dataset.name)).toEqual(['reviews']);
    expect((await datasets.list({ kind: 'test' })).items).toEqual([]);
  });

  it('rejects an unknown parent and a name reused with another kind', async () => {
    expect(
      await rejection(
        datasets.register({
          name: 'a',
          kind: 'training',
          source: { rows: [{ text: 'x' }] },
          parentVersionId: 'dsv_nope',
        }),
      ),
    ).toMatchObject({ code: 'NOT_FOUND' });
    await datasets.register({ name: 'a', kind: 'training', source: { rows: [{ text: 'x' }] } });
    expect(
      await rejection(datasets.register({ name: 'a', kind: 'test', source: { rows: [{ text: 'y' }] } })),
    ).toMatchObject({ code: 'CONFLICT' });
  });

  it('filters into a child version with lineage, and deletes versions and datasets with their artifacts', async () => {
    const parent = await datasets.register({ name: 'reviews', kind: 'training', source: { rows: reviews } });
    const positive = await datasets.filter(
      parent.id,
      (row) => (row as { label: string }).label === 'positive',
      {},
      {
        actor: 'ada',
        requestId: 'r-1',
      },
    );
    expect(positive).toMatchObject({
      name: 'reviews',
      origin: 'filter',
      rowCount: 2,
      parentVersionId: parent.id,
    });
    expect(eventsNamed(events, 'dataset:filtered')).toEqual([
      { versionId: parent.id, childVersionId: positive.id, keptRows: 2, removedRows: 1 },
    ]);
    expect(audit.entries.at(-1)).toMatchObject({
      action: 'dataset.filter',
      outcome: 'success',
      context: { actor: 'ada', requestId: 'r-1' },
    });
    expect(await rejection(datasets.filter(parent.id, () => false))).toMatchObject({ code: 'DATASET_EMPTY' });

    expect(await datasets.deleteVersion(positive.id)).toBe(true);
    expect(await artifacts.exists(positive.uri)).toBe(false);
    expect(await datasets.get('reviews')).toMatchObject({ versionCount: 1, latestVersionId: parent.id });
    expect(await datasets.delete('reviews')).toBe(true);
    expect(await datasets.delete('reviews')).toBe(false);
    expect(await datasets.getVersion(parent.id)).toBeUndefined();
    expect(await artifacts.list('artifact://datasets/')).toEqual([]);
    expect(audit.entries.map((entry) => `${entry.action}:${entry.outcome}`)).toEqual([
      'dataset.register:success',
      'dataset.filter:success',
      'dataset.filter:failure',
      'dataset.version.delete:success',
      'dataset.delete:success',
    ]);
    await expect(collect(datasets.rows(parent.id))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('statistics and comparison', () => {
  it('computes counts, labels, length distributions in characters and tokens, duplicates and near-empty rows', async () => {
    const rows = [
      { text: 'aaaa', label: 'a' },
      { text: 'bb bb bb', label: 'b' },
      { text: 'aaaa', label: 'a' },
      { text: 'aaaa', label: 'b' },
      { text: ' . ', label: 'a' },
    ];
    const version = await datasets.register({ name: 'small', kind: 'training', source: { rows } });
    const stats = await datasets.stats(version.id, {
      tokenize: (text) => text.split(/\s+/).filter(Boolean),
      histogramBins: 4,
    });
    expect(stats).toMatchObject({
      rowCount: 5,
      bytes: version.bytes,
      labels: { a: 3, b: 2 },
      duplicates: { rows: 1, distinctRows: 4 },
      duplicateInputs: 2,
      nearEmptyRows: 1,
    });
    expect(stats.characters).toMatchObject({ count: 5, min: 3, max: 8, mean: 4.6 });
    expect(stats.characters.percentiles.p50).toBe(4);
    expect(stats.characters.histogram).toEqual([
      { lower: 3, upper: 4.25, count: 4 },
      { lower: 4.25, upper: 5.5, count: 0 },
      { lower: 5.5, upper: 6.75, count: 0 },
      { lower: 6.75, upper: 8, count: 1 },
    ]);
    expect(stats.tokens).toMatchObject({ min: 1, max: 3, mean: 1.4 });
  });

  it('detects leakage between versions, label shift and length shift (PSI)', async () => {
    const train = await datasets.register({
      name: 'train',
      kind: 'training',
      source: {
        rows: Array.from({ length: 200 }, (_, index) => ({
          text: `short ${index}`,
          label: index % 2 ? 'a' : 'b',
        })),
      },
    });
    const leaky = await datasets.register({
      name: 'validation',
      kind: 'validation',
      source: {
        rows: [
          { text: 'short 1', label: 'a' },
          { text: 'short 2', label: 'a' },
          ...Array.from({ length: 48 }, (_, index) => ({
            text: `a much longer validation text ${index}`,
            label: 'c',
          })),
        ],
      },
    });
    const comparison = await datasets.compare(train.id, leaky.id);
    expect(comparison.rowCounts).toEqual({ a: 200, b: 50 });
    expect(comparison.overlap).toEqual({ rows: 1, inputs: 2, rowFractionOfB: 0.02, inputFractionOfB: 0.04 });
    expect(comparison.labelShift?.unseenLabels).toEqual(['c']);
    expect(comparison.labelShift?.totalVariationDistance).toBeCloseTo(0.96, 10);
    expect(comparison.characterLengthStability.interpretation).toBe('significant shift');
    const same = await datasets.compare(train.id, train.id);
    expect(same.characterLengthStability.index).toBeCloseTo(0, 10);
    expect(same.labelShift?.totalVariationDistance).toBe(0);
    expect(same.overlap.rowFractionOfB).toBe(1);
  });
});

describe('split', () => {
  const labelled = Array.from({ length: 300 }, (_, index) => ({
    text: `example ${index}`,
    label: index % 10 === 0 ? 'rare' : 'common',
  }));

  it('is deterministic for a seed, stratified by label, disjoint and linked to its parent', async () => {
    const parent = await datasets.register({
      name: 'labelled',
      kind: 'training',
      source: { rows: labelled },
    });
    const split = await datasets.split(
      parent.id,
      { train: 0.8, validation: 0.1, test: 0.1, seed: 42 },
      { actor: 'ada' },
    );
    expect(split.train).toMatchObject({
      name: 'labelled-train',
      kind: 'training',
      origin: 'split',
      parentVersionId: parent.id,
    });
    expect(split.validation).toMatchObject({
      name: 'labelled-validation',
      kind: 'validation',
      parentVersionId: parent.id,
    });
    expect(split.test).toMatchObject({ name: 'labelled-test', kind: 'test', parentVersionId: parent.id });
    expect([split.train.rowCount, split.validation.rowCount, split.test?.rowCount]).toEqual([240, 30, 30]);
    for (const child of [split.validation, split.test!]) {
      const stats = await datasets.stats(child.id);
      expect(stats.labels).toEqual({ common: 27, rare: 3 });
      expect((await datasets.compare(split.train.id, child.id)).overlap.rows).toBe(0);
    }
    const texts = async (id: string) =>
      (await collect(datasets.rows(id))).map((row) => (row as { text: string }).text);
    const all = [
      ...(await texts(split.train.id)),
      ...(await texts(split.validation.id)),
      ...(await texts(split.test!.id)),
    ];
    expect(new Set(all).size).toBe(300);

    const again = await datasets.split(parent.id, { train: 0.8, validation: 0.1, test: 0.1, seed: 42 });
    expect([again.train.id, again.validation.id, again.test?.id]).toEqual([
      split.train.id,
      split.validation.id,
      split.test?.id,
    ]);
    const other = await datasets.split(parent.id, { train: 0.8, validation: 0.1, test: 0.1, seed: 43 });
    expect(other.validation.id).not.toBe(split.validation.id);
    expect(await texts(other.validation.id)).not.toEqual(await texts(split.validation.id));

    expect(eventsNamed(events, 'dataset:split')[0]).toEqual({
      versionId: parent.id,
      trainVersionId: split.train.id,
      validationVersionId: split.validation.id,
      testVersionId: split.test?.id,
    });
    expect(audit.entries.find((entry) => entry.action === 'dataset.split')).toMatchObject({
      resourceId: parent.id,
      outcome: 'success',
      context: { actor: 'ada' },
      details: { seed: 42, stratified: true },
    });
  });

  it('splits unlabelled rows without a test split, and rejects bad ratios or an empty split', async () => {
    const parent = await datasets.register({
      name: 'plain',
      kind: 'training',
      source: { rows: Array.from({ length: 20 }, (_, index) => ({ text: `t${index}` })) },
    });
    const split = await datasets.split(parent.id, { train: 0.75, validation: 0.25, seed: 1 }, undefined);
    expect(split.test).toBeUndefined();
    expect([split.train.rowCount, split.validation.rowCount]).toEqual([15, 5]);
    expect(
      await rejection(datasets.split(parent.id, { train: 0.5, validation: 0.2, seed: 1 })),
    ).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('add up to 1') });
    expect(
      await rejection(datasets.split(parent.id, { train: 0.99, validation: 0.01, seed: 1 })),
    ).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('validation split of 20 rows would be empty'),
    });
  });
});
