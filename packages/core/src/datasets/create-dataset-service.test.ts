import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TunekitError } from '../errors/tunekit-error.js';
import { createDatasetService } from './create-dataset-service.js';
import type { DatasetService } from './dataset-service.js';
import {
  createRecordingAudit,
  createTestArtifactStore,
  createTestEvents,
  createTestStorage,
  eventsNamed,
} from './dataset-test-harness.js';

let directory: string;
let artifacts: Awaited<ReturnType<typeof createTestArtifactStore>>;
let events: ReturnType<typeof createTestEvents>;
let audit: ReturnType<typeof createRecordingAudit>;
let datasets: DatasetService;

beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-dataset-test-'));
  artifacts = await createTestArtifactStore();
  events = createTestEvents();
  audit = createRecordingAudit();
  datasets = createDatasetService({
    storage: await createTestStorage(),
    artifacts,
    events,
    audit,
    maxLineBytes: 4096,
    maxReportedIssues: 3,
  });
});

afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
  await artifacts.dispose();
});

async function file(name: string, content: string | Uint8Array): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, content);
  return path;
}

async function rejection(promise: Promise<unknown>): Promise<TunekitError> {
  try {
    await promise;
  } catch (error) {
    if (TunekitError.isInstance(error)) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a rejection');
}

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const row of rows) {
    result.push(row);
  }
  return result;
}

const reviews = [
  { text: 'great product', label: 'positive' },
  { text: 'terrible, broke in a day', label: 'negative' },
  { text: 'works as described', label: 'positive' },
];

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

describe('register: malformed sources', () => {
  it('reports a bad JSON line with its line number and rejects in strict mode', async () => {
    const path = await file('bad.jsonl', '{"text":"ok"}\n\n{"text": oops}\n{"text":"fine"}\n');
    const error = await rejection(datasets.register({ name: 'bad', kind: 'training', source: { path } }));
    expect(error.code).toBe('DATASET_INVALID');
    expect(error.status).toBe(422);
    expect(error.message).toContain('row 2 (line 3): invalid JSON');
    const report = error.details.report as { invalidRows: number; issues: unknown[]; issueCounts: unknown };
    expect(report).toMatchObject({
      totalRows: 3,
      validRows: 2,
      invalidRows: 1,
      issueCounts: { 'invalid-json': 1 },
    });
    expect(report.issues).toEqual([expect.objectContaining({ row: 2, line: 3, category: 'invalid-json' })]);
    expect(await datasets.get('bad')).toBeUndefined();
    expect(eventsNamed(events, 'dataset:rejected')).toEqual([
      expect.objectContaining({ name: 'bad', code: 'DATASET_INVALID', invalidRows: 1 }),
    ]);
    expect(audit.entries.at(-1)).toMatchObject({ action: 'dataset.register', outcome: 'failure' });
  });

  it('drops invalid rows in lenient mode and records how many', async () => {
    const lines = [
      '{"text":"a","label":"x"}',
      '{"text":"b","label":7}',
      '{"text":"","label":"x"}',
      '{"text":"c","label":1.5}',
      '[1,2]',
      '{"text":"d","label":"y"}',
    ];
    const path = await file('mixed.jsonl', lines.join('\n'));
    const version = await datasets.register({
      name: 'mixed',
      kind: 'training',
      source: { path },
      mode: 'lenient',
    });
    expect(version).toMatchObject({ rowCount: 3, droppedRowCount: 3, mode: 'lenient' });
    const validation = await datasets.validate({ source: { path } });
    expect(validation.report).toMatchObject({
      totalRows: 6,
      validRows: 3,
      invalidRows: 3,
      truncated: false,
      issueCounts: { schema: 2, 'not-an-object': 1 },
    });
    expect(validation.report.issues.map((issue) => [issue.row, issue.reason])).toEqual([
      [3, 'text: text must not be empty'],
      [4, expect.stringMatching(/^label: /)],
      [5, 'row must be an object, got an array'],
    ]);
  });

  it('keeps only the first N issues but counts all of them', async () => {
    const path = await file('many.jsonl', Array.from({ length: 10 }, () => '{"text": 1}').join('\n'));
    const error = await rejection(datasets.register({ name: 'many', kind: 'training', source: { path } }));
    const report = error.details.report as { invalidRows: number; issues: unknown[]; truncated: boolean };
    expect(report.invalidRows).toBe(10);
    expect(report.issues).toHaveLength(3);
    expect(report.truncated).toBe(true);
  });

  it('reports a CSV row with the wrong number of columns', async () => {
    const path = await file('cols.csv', 'text,label\nfine,pos\ntoo,many,columns\nshort\nalso fine,neg\n');
    const error = await rejection(datasets.register({ name: 'cols', kind: 'training', source: { path } }));
    const report = error.details.report as { issues: { row: number; line: number; reason: string }[] };
    expect(report.issues).toEqual([
      expect.objectContaining({
        row: 2,
        line: 3,
        category: 'wrong-column-count',
        reason: 'expected 2 columns (text, label), found 3',
      }),
      expect.objectContaining({ row: 3, line: 4, reason: 'expected 2 columns (text, label), found 1' }),
    ]);
    const lenient = await datasets.register({
      name: 'cols',
      kind: 'training',
      source: { path },
      mode: 'lenient',
    });
    expect(lenient).toMatchObject({ rowCount: 2, droppedRowCount: 2 });
  });

  it('rejects a CSV whose header has a duplicate column, and an unclosed quote', async () => {
    const duplicate = await file('dup.csv', 'text,text\na,b\n');
    expect(
      await rejection(datasets.register({ name: 'dup', kind: 'training', source: { path: duplicate } })),
    ).toMatchObject({
      code: 'DATASET_INVALID',
      message: expect.stringContaining('duplicate ("text")'),
    });
    const unclosed = await file('unclosed.csv', 'text\n"never closed\n');
    expect(
      await rejection(
        datasets.register({
          name: 'unclosed',
          kind: 'training',
          source: { path: unclosed },
          mode: 'lenient',
        }),
      ),
    ).toMatchObject({ code: 'DATASET_INVALID', message: expect.stringContaining('CSV cannot be parsed') });
  });

  it('reports wrong types with the field path (given row format)', async () => {
    const rows = [
      {
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 42 },
        ],
      },
      {
        messages: [
          { role: 'robot', content: 'x' },
          { role: 'assistant', content: 'y' },
        ],
      },
      { messages: [{ role: 'user', content: 'no answer' }] },
    ];
    const error = await rejection(
      datasets.register({ name: 'chat', kind: 'training', source: { rows }, rowFormat: 'chat' }),
    );
    const report = error.details.report as { issues: { row: number; reason: string }[] };
    expect(report.issues.map((issue) => issue.reason)).toEqual([
      expect.stringMatching(/^messages\.1\.content: /),
      expect.stringMatching(/^messages\.0\.role: /),
      'messages: messages must contain an assistant message',
    ]);
  });

  it('gives a clear error for an empty file, a blank file and an empty row list', async () => {
    for (const content of ['', '\n\n  \n']) {
      const path = await file('empty.jsonl', content);
      const error = await rejection(datasets.register({ name: 'empty', kind: 'training', source: { path } }));
      expect(error.code).toBe('DATASET_EMPTY');
      expect(error.message).toMatch(/empty/);
    }
    expect(
      (await rejection(datasets.register({ name: 'empty', kind: 'training', source: { rows: [] } }))).code,
    ).toBe('DATASET_EMPTY');
    const emptyArray = await file('empty.json', '[ ]');
    expect(
      (await rejection(datasets.register({ name: 'empty', kind: 'training', source: { path: emptyArray } })))
        .code,
    ).toBe('DATASET_EMPTY');
    const headerOnly = await file('header.csv', 'text,label\n');
    expect(
      (await rejection(datasets.register({ name: 'empty', kind: 'training', source: { path: headerOnly } })))
        .code,
    ).toBe('DATASET_EMPTY');
  });

  it('reports a line longer than maxLineBytes without holding it, in JSONL, JSON and CSV', async () => {
    const huge = 'x'.repeat(50_000);
    const jsonl = await file('huge.jsonl', `{"text":"a"}\n{"text":"${huge}"}\n{"text":"b"}\n`);
    const error = await rejection(
      datasets.register({ name: 'huge', kind: 'training', source: { path: jsonl } }),
    );
    const report = error.details.report as {
      issues: { row: number; line: number; category: string; reason: string }[];
    };
    expect(report.issues).toEqual([
      {
        row: 2,
        line: 2,
        category: 'line-too-long',
        reason: `line is ${huge.length + 11} bytes, more than the limit of 4096 bytes`,
      },
    ]);
    const lenient = await datasets.register({
      name: 'huge',
      kind: 'training',
      source: { path: jsonl },
      mode: 'lenient',
    });
    expect(lenient).toMatchObject({ rowCount: 2, droppedRowCount: 1 });

    const json = await file('huge.json', `[{"text":"a"}, {"text":"${huge}"}, {"text":"b"}]`);
    const jsonError = await rejection(
      datasets.register({ name: 'huge-json', kind: 'training', source: { path: json } }),
    );
    expect((jsonError.details.report as { issues: { category: string }[] }).issues[0]?.category).toBe(
      'line-too-long',
    );

    const csv = await file('huge.csv', `text\na\n${huge}\n`);
    expect(
      await rejection(datasets.register({ name: 'huge-csv', kind: 'training', source: { path: csv } })),
    ).toMatchObject({
      code: 'DATASET_INVALID',
    });
  });

  it('reports a truncated JSON array and a JSON object that is not an array', async () => {
    const truncated = await file('truncated.json', '[{"text":"a"},{"text":"b"');
    const error = await rejection(
      datasets.register({ name: 'truncated', kind: 'training', source: { path: truncated } }),
    );
    expect(error.message).toContain('row 2 (line 1): invalid JSON: the file ends inside an array element');
    const object = await file('object.txt', '{"text": "a"}');
    expect(
      await datasets.register({ name: 'object', kind: 'training', source: { path: object } }),
    ).toMatchObject({ fileFormat: 'jsonl', rowCount: 1 });
    expect(
      await rejection(
        datasets.register({ name: 'object', kind: 'training', source: { path: object }, fileFormat: 'json' }),
      ),
    ).toMatchObject({ code: 'DATASET_INVALID', message: expect.stringContaining('must be an array') });
  });

  it('reports a missing file and a directory with coded errors', async () => {
    expect(
      await rejection(
        datasets.register({ name: 'x', kind: 'training', source: { path: join(directory, 'nope.jsonl') } }),
      ),
    ).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('does not exist') });
    expect(
      await rejection(datasets.register({ name: 'x', kind: 'training', source: { path: directory } })),
    ).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('is not a file') });
  });

  it('fails when no row has a known set of fields, and validates registration input', async () => {
    const path = await file('odd.jsonl', '{"question":"q","answer":"a"}\n');
    expect(
      await rejection(datasets.register({ name: 'odd', kind: 'training', source: { path } })),
    ).toMatchObject({
      code: 'DATASET_ROW_FORMAT_UNKNOWN',
      details: { fieldsSeen: ['question', 'answer'] },
    });
    expect(
      await rejection(
        datasets.register({ name: '../escape', kind: 'training', source: { rows: [{ text: 'a' }] } }),
      ),
    ).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('name:') });
    expect(
      await rejection(
        datasets.register({ name: 'x', kind: 'weights' as never, source: { path: 'a', rows: [] } as never }),
      ),
    ).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('source:') });
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
