import { request } from 'node:http';
import type { Tunekit } from '@tunekit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { adapters, call, type SecurityFixture, startSecurityFixture } from './security-fixture.js';

/**
 * Opens `POST /datasets?name=…` as `headers` and sends the head only: the route checks ownership
 * before it reads the body, so the request waits there. `send(rows)` ends the body; `answer`
 * resolves with the status and parsed body.
 */
function openUpload(url: string, name: string, headers: Record<string, string>, bytes: number) {
  const upload = request(`${url}/datasets?name=${name}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/x-ndjson', 'content-length': String(bytes) },
  });
  const answer = new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    upload.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        text += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    upload.on('error', reject);
  });
  upload.flushHeaders();
  return { answer, send: (rows: string) => upload.end(rows) };
}

/**
 * Resolves once `kit.datasets.get(name)` has been called `count` times: the route's ownership
 * check reads the dataset before the upload, so both racers have passed it (seen it absent).
 */
function checksOf(kit: Tunekit, name: string, count: number): Promise<void> {
  const original = kit.datasets.get.bind(kit.datasets);
  let seen = 0;
  return new Promise((resolve) => {
    kit.datasets.get = async (asked) => {
      const result = await original(asked);
      if (asked === name && ++seen === count) resolve();
      return result;
    };
  });
}

/**
 * Issue 15, ownership race: the route checks that a dataset name is new or the caller's before it
 * reads the upload, so two users uploading to the same new name at once both passed that check and
 * both versions landed (the second user's could become `latest_version_id` of the first's dataset).
 * The dataset record is now created with an atomic insert-if-absent where it is written: exactly one
 * user owns the name, the other gets 409 `DATASET_NAME_TAKEN`, and nothing of the winner is lost.
 */
describe.each(adapters)('dataset creation race on %s', (adapter) => {
  let fixture: SecurityFixture | undefined;
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });

  it('two users creating the same new dataset name at once: one owns it, the other gets 409', async () => {
    fixture = await startSecurityFixture(adapter);
    const { url, kit } = fixture;
    const rows = { alice: '{"text":"alice row"}\n', bob: '{"text":"bob row"}\n' };
    const bothChecked = checksOf(kit, 'contested', 2);
    const alice = openUpload(url, 'contested', await fixture.as('alice'), rows.alice.length);
    const bob = openUpload(url, 'contested', await fixture.as('bob'), rows.bob.length);
    await bothChecked;
    alice.send(rows.alice);
    bob.send(rows.bob);
    const answers = { alice: await alice.answer, bob: await bob.answer };
    const statuses = [answers.alice.status, answers.bob.status].sort();
    expect(statuses).toEqual([201, 409]);
    const winner = answers.alice.status === 201 ? 'alice' : 'bob';
    const loser = winner === 'alice' ? 'bob' : 'alice';
    expect(answers[loser].body.code).toBe('DATASET_NAME_TAKEN');
    const dataset = await call(`${url}/datasets/contested`, 'GET', await fixture.as('admin'));
    expect(dataset.body).toMatchObject({
      created_by: winner,
      version_count: 1,
      latest_version_id: answers[winner].body.id,
    });
    const versions = await kit.datasets.versions('contested');
    expect(versions.map((version) => version.createdBy)).toEqual([winner]);
    // The winner's rows are what the dataset holds; the loser's were not stored.
    const stored: unknown[] = [];
    for await (const row of kit.datasets.rows(versions[0]?.id as string)) stored.push(row);
    expect(stored).toEqual([{ text: `${winner} row` }]);
    // The owner keeps adding versions; the loser is refused before the body is read.
    const upload = async (user: 'alice' | 'bob', text: string) =>
      fetch(`${url}/datasets?name=contested`, {
        method: 'POST',
        headers: { ...(await fixture?.as(user)), 'content-type': 'application/x-ndjson' },
        body: `${JSON.stringify({ text })}\n`,
      });
    expect((await upload(winner, 'second')).status).toBe(201);
    const refused = await upload(loser, 'again');
    expect(refused.status).toBe(403);
    expect((await kit.datasets.get('contested'))?.versionCount).toBe(2);
  });

  it('one user racing two uploads to a new name keeps both versions', async () => {
    fixture = await startSecurityFixture(adapter);
    const { url, kit } = fixture;
    const bothChecked = checksOf(kit, 'mine', 2);
    const rows = ['{"text":"one"}\n', '{"text":"two"}\n'];
    const first = openUpload(url, 'mine', await fixture.as('alice'), rows[0]?.length ?? 0);
    const second = openUpload(url, 'mine', await fixture.as('alice'), rows[1]?.length ?? 0);
    await bothChecked;
    first.send(rows[0] as string);
    second.send(rows[1] as string);
    expect([(await first.answer).status, (await second.answer).status]).toEqual([201, 201]);
    const dataset = await kit.datasets.get('mine');
    expect(dataset).toMatchObject({ createdBy: 'alice', versionCount: 2 });
  });
});
