import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatasetService } from './dataset-service.js';
import {
  createDatasetServiceFixture,
  type DatasetServiceFixture,
  eventsNamed,
  rejection,
} from './dataset-test-harness.js';

let fixture: DatasetServiceFixture;
let directory: string;
let events: DatasetServiceFixture['events'];
let audit: DatasetServiceFixture['audit'];
let datasets: DatasetService;

beforeEach(async () => {
  fixture = await createDatasetServiceFixture();
  ({ directory, events, audit, datasets } = fixture);
});

afterEach(() => fixture.dispose());

const file = (name: string, content: string | Uint8Array) => fixture.file(name, content);

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
