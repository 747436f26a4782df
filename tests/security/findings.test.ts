import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  adapters,
  call,
  rawExchange,
  type SecurityFixture,
  startSecurityFixture,
  trainBody,
} from './security-fixture.js';

/**
 * One regression test per finding row of issue 15 (an attack run on `tunekit serve`), on both
 * adapters over real HTTP. Each failed on the code before the fix (see docs/security.md).
 */
describe.each(adapters)('issue 15 findings on %s', (adapter) => {
  let fixture: SecurityFixture | undefined;
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });

  it('high: a large JSON body without credentials is answered 401 before it is read', async () => {
    fixture = await startSecurityFixture(adapter);
    const { pathname, host } = new URL(fixture.url);
    const declared = 250 * 1024 * 1024;
    const head = [
      `POST ${pathname}/datasets/validate HTTP/1.1`,
      `Host: ${host}`,
      'Content-Type: application/json',
      `Content-Length: ${declared}`,
      '',
      '',
    ].join('\r\n');
    const exchange = await rawExchange(fixture.url, head, { bodyBytes: 16 * 1024 * 1024, waitMs: 5_000 });
    expect(exchange.response).toMatch(/^HTTP\/1\.1 401 /);
    expect(exchange.sent).toBeLessThan(declared);
    expect((await fetch(`${fixture.url}/live`)).status).toBe(200);
  });

  it('high: lora.r and the training hyperparameters are bounded (400), not run', async () => {
    fixture = await startSecurityFixture(adapter);
    const alice = await fixture.as('alice');
    const huge = await call(
      `${fixture.url}/train`,
      'POST',
      alice,
      trainBody(fixture.datasetVersionId, { lora: { r: 100_000 } }),
    );
    expect(huge.status).toBe(400);
    expect(JSON.stringify(huge.body)).toContain('lora.r');
    const long = await call(
      `${fixture.url}/train`,
      'POST',
      alice,
      trainBody(fixture.datasetVersionId, { hyperparameters: { max_steps: 1_000_000 } }),
    );
    expect(long.status).toBe(400);
    // The failing field in the wire's casing.
    expect(long.body.issues).toEqual([expect.objectContaining({ path: 'hyperparameters.max_steps' })]);
  });

  it('medium: queued and running jobs are capped per user (429 with Retry-After)', async () => {
    fixture = await startSecurityFixture(adapter, { activeJobs: { perUser: 2, total: 100 } });
    const alice = await fixture.as('alice');
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let index = 0; index < 3; index += 1) {
      const response = await call(`${fixture.url}/train`, 'POST', alice, trainBody(fixture.datasetVersionId));
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
    }
    expect(statuses).toEqual([202, 202, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // Bob is not affected by Alice's quota.
    const bob = await call(
      `${fixture.url}/train`,
      'POST',
      await fixture.as('bob'),
      trainBody(fixture.datasetVersionId),
    );
    expect(bob.status).toBe(202);
  });

  it('medium: a job past the time limit fails with JOB_TIMEOUT', async () => {
    fixture = await startSecurityFixture(adapter, { jobTimeLimitMs: 1_000 });
    const alice = await fixture.as('alice');
    const accepted = await call(`${fixture.url}/train`, 'POST', alice, trainBody(fixture.datasetVersionId));
    expect(accepted.status).toBe(202);
    const job = await fixture.kit.jobs.wait(String(accepted.body.job_id), { timeoutMs: 20_000 });
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('JOB_TIMEOUT');
  });

  it('medium: concurrent event streams are capped per user (429 with Retry-After)', async () => {
    fixture = await startSecurityFixture(adapter, { streams: { perUser: 2, total: 100 } });
    const alice = await fixture.as('alice');
    const accepted = await call(`${fixture.url}/train`, 'POST', alice, trainBody(fixture.datasetVersionId));
    const id = String(accepted.body.job_id);
    const controllers: AbortController[] = [];
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let index = 0; index < 3; index += 1) {
      const controller = new AbortController();
      controllers.push(controller);
      const response = await fetch(`${fixture.url}/train/${id}/events`, {
        headers: alice,
        signal: controller.signal,
      });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get('retry-after');
    }
    for (const controller of controllers) controller.abort();
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // Closed streams give their slots back.
    await expect
      .poll(
        async () => {
          const controller = new AbortController();
          const response = await fetch(`${fixture?.url}/train/${id}/events`, {
            headers: alice,
            signal: controller.signal,
          });
          controller.abort();
          return response.status;
          // The server gives a slot back once it notices the client left: allow for a loaded machine.
        },
        { timeout: 15_000, interval: 200 },
      )
      .toBe(200);
  });

  it('medium: anonymous failures cannot grow the audit log without bound', async () => {
    fixture = await startSecurityFixture(adapter, { anonymousAuditPerMinute: 5 });
    const before = (await fixture.kit.audit.query({ limit: 1000 })).items.length;
    for (let index = 0; index < 60; index += 1) {
      await call(`${fixture.url}/train`, 'POST', {}, { anything: index });
    }
    const after = (await fixture.kit.audit.query({ limit: 1000 })).items.length;
    expect(after - before).toBeLessThanOrEqual(5);
    expect(after - before).toBeGreaterThan(0);
  });

  it('low: a slow request body is cut off by the request timeout', async () => {
    fixture = await startSecurityFixture(adapter, { requestTimeoutMs: 1_500, headersTimeoutMs: 1_000 });
    const alice = await fixture.as('alice');
    const { pathname, host } = new URL(fixture.url);
    const head = [
      `POST ${pathname}/datasets/validate HTTP/1.1`,
      `Host: ${host}`,
      `Authorization: ${alice.authorization}`,
      'Content-Type: application/x-ndjson',
      'Content-Length: 100000',
      '',
      '',
    ].join('\r\n');
    // One byte every 200 ms: the body would take ~5.5 hours.
    const exchange = await rawExchange(fixture.url, head, {
      bodyBytes: 100_000,
      chunkBytes: 1,
      chunkDelayMs: 200,
      waitMs: 10_000,
    });
    expect(exchange.elapsedMs).toBeLessThan(9_000);
  });

  it('low (hardening; the 500 did not reproduce here): deeply nested JSON answers 400', async () => {
    fixture = await startSecurityFixture(adapter);
    const alice = await fixture.as('alice');
    const depth = 20_000;
    const nested = `{"base_model":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const response = await call(`${fixture.url}/train`, 'POST', alice, nested);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
  });

  it('low: a garbage Parquet file answers 4xx, not 500', async () => {
    fixture = await startSecurityFixture(adapter);
    const alice = await fixture.as('alice');
    const garbage = Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(200, 7), Buffer.from('PAR1')]);
    const response = await fetch(`${fixture.url}/datasets/validate?file_format=parquet`, {
      method: 'POST',
      headers: { ...alice, 'content-type': 'application/octet-stream' },
      body: garbage,
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
  });

  it('low: base_model "job:<id>" of another user answers like an unknown id', async () => {
    fixture = await startSecurityFixture(adapter);
    const aliceJob = await call(
      `${fixture.url}/train`,
      'POST',
      await fixture.as('alice'),
      trainBody(fixture.datasetVersionId, { hyperparameters: { max_steps: 1 } }),
    );
    const id = String(aliceJob.body.job_id);
    expect((await fixture.kit.jobs.wait(id, { timeoutMs: 10_000 })).status).toBe('succeeded');
    const bob = await fixture.as('bob');
    const existing = await call(
      `${fixture.url}/train`,
      'POST',
      bob,
      trainBody(fixture.datasetVersionId, { base_model: `job:${id}` }),
    );
    const missing = await call(
      `${fixture.url}/train`,
      'POST',
      bob,
      trainBody(fixture.datasetVersionId, { base_model: 'job:00000000-0000-4000-8000-000000000000' }),
    );
    expect(existing.status).toBe(400);
    expect(missing.status).toBe(400);
    expect(existing.body.details).toEqual(missing.body.details);
  });

  it('low: failed logins of one account do not lock out others behind the same address', async () => {
    fixture = await startSecurityFixture(adapter, { login: {} });
    const statuses: number[] = [];
    for (let index = 0; index < 12; index += 1) {
      const response = await call(
        `${fixture.url}/auth/login`,
        'POST',
        {},
        { username: 'alice', password: 'wrong' },
      );
      statuses.push(response.status);
    }
    // The account is limited after 10 failures...
    expect(statuses.slice(0, 10).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    // ...but bob, behind the same address, still logs in.
    const bob = await call(
      `${fixture.url}/auth/login`,
      'POST',
      {},
      { username: 'bob', password: 'bob-password-1' },
    );
    expect(bob.status).toBe(200);
  });

  it('low: X-Forwarded-For from an untrusted peer does not change the limited address', async () => {
    fixture = await startSecurityFixture(adapter, { login: { perAddress: 3, perAccount: 100 } });
    const statuses: number[] = [];
    for (let index = 0; index < 5; index += 1) {
      const response = await call(
        `${fixture.url}/auth/login`,
        'POST',
        { 'x-forwarded-for': `203.0.113.${index}` },
        { username: `nobody${index}`, password: 'wrong' },
      );
      statuses.push(response.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it('low: a denied GET is audited', async () => {
    fixture = await startSecurityFixture(adapter);
    const denied = await call(`${fixture.url}/audit/logs`, 'GET', await fixture.as('viewer'));
    expect(denied.status).toBe(403);
    const events = await fixture.kit.audit.query({ actor: 'viewer', outcome: 'denied' });
    expect(events.items.map((event) => event.action)).toContain('http.listAuditLogs');
  });

  it('medium: a registered model name belongs to its owner: another user cannot add a version', async () => {
    fixture = await startSecurityFixture(adapter);
    const outputs = {
      alice: (await fixture.finishedJobOutput('alice')).output,
      bob: (await fixture.finishedJobOutput('bob')).output,
      admin: 'artifact://models/admin-upload/1',
    };
    const register = async (user: 'alice' | 'bob' | 'admin') =>
      call(`${fixture?.url}/models`, 'POST', await (fixture as SecurityFixture).as(user), {
        name: 'alice-model',
        artifact_uri: outputs[user],
      });
    expect((await register('alice')).status).toBe(201);
    // Bob's artifact is his own: the name is what he may not take.
    const bob = await register('bob');
    expect(bob.status).toBe(403);
    expect(bob.body.code).toBe('FORBIDDEN');
    expect((await register('alice')).status).toBe(201);
    expect((await register('admin')).status).toBe(201);
    const versions = await call(`${fixture.url}/models?name=alice-model`, 'GET', await fixture.as('alice'));
    expect((versions.body.items as unknown[]).length).toBe(3);
  });

  it("medium: artifact_uri must be the caller's own artifact; registering never writes into another user's folder", async () => {
    fixture = await startSecurityFixture(adapter);
    const alice = await fixture.finishedJobOutput('alice');
    const bob = await fixture.finishedJobOutput('bob');
    const as = async (user: 'alice' | 'bob' | 'admin', name: string, uri: string, extra = {}) =>
      call(`${fixture?.url}/models`, 'POST', await (fixture as SecurityFixture).as(user), {
        name,
        artifact_uri: uri,
        ...extra,
      });
    const datasetFolder = 'artifact://datasets/alice-data';
    const attempts = [
      await as('bob', 'bob-steals', alice.output),
      await as('bob', 'bob-steals', `${alice.output}/`),
      await as('bob', 'bob-steals', datasetFolder),
      await as('bob', 'bob-steals', 'artifact://models/out'),
      // His own job id does not make Alice's output his.
      await as('bob', 'bob-steals', alice.output, { training_job_id: bob.jobId }),
    ];
    expect(attempts.map((attempt) => attempt.status)).toEqual([403, 403, 403, 403, 403]);
    expect(attempts[0]?.body.code).toBe('FORBIDDEN');
    // Nothing was written into Alice's output or the dataset folder.
    expect(await fixture.kit.artifacts.exists(`${alice.output}/README.md`)).toBe(false);
    expect(await fixture.kit.artifacts.exists(`${alice.output}/model-card.json`)).toBe(false);
    expect(await fixture.kit.artifacts.exists(`${datasetFolder}/README.md`)).toBe(false);
    // ".." cannot climb out of one's own output.
    const climb = await as('bob', 'bob-climbs', `${bob.output}/../${alice.jobId}`);
    expect(climb.status).toBe(400);
    // Each owner registers their own output (the card lands in it); an admin registers any artifact.
    expect((await as('bob', 'bob-model', bob.output)).status).toBe(201);
    expect(
      (await as('alice', 'alice-model', `${alice.output}/`, { training_job_id: alice.jobId })).status,
    ).toBe(201);
    expect(await fixture.kit.artifacts.exists(`${alice.output}/README.md`)).toBe(true);
    expect((await as('admin', 'shared-model', datasetFolder)).status).toBe(201);
  });

  it("medium: another user cannot push a version that becomes latest_version_id of someone else's dataset", async () => {
    fixture = await startSecurityFixture(adapter);
    const upload = async (user: 'alice' | 'bob' | 'admin', rows: string) =>
      fetch(`${fixture?.url}/datasets?name=alice-data`, {
        method: 'POST',
        headers: { ...(await (fixture as SecurityFixture).as(user)), 'content-type': 'application/x-ndjson' },
        body: rows,
      });
    const poisoned = await upload('bob', '{"text":"poison"}\n');
    expect(poisoned.status).toBe(403);
    expect(((await poisoned.json()) as { code: string }).code).toBe('FORBIDDEN');
    const dataset = await call(`${fixture.url}/datasets/alice-data`, 'GET', await fixture.as('alice'));
    expect(dataset.body.latest_version_id).toBe(fixture.datasetVersionId);
    expect(dataset.body.created_by).toBe('alice');
    expect(dataset.body.version_count).toBe(1);
    // The owner and admins add versions; each version records its uploader.
    const second = await upload('alice', '{"text":"three"}\n');
    expect(second.status).toBe(201);
    expect(((await second.json()) as { created_by: string }).created_by).toBe('alice');
    expect((await upload('admin', '{"text":"four"}\n')).status).toBe(201);
    // A new name is anyone's.
    const bobs = await fetch(`${fixture.url}/datasets?name=bob-data`, {
      method: 'POST',
      headers: { ...(await fixture.as('bob')), 'content-type': 'application/x-ndjson' },
      body: '{"text":"mine"}\n',
    });
    expect(bobs.status).toBe(201);
  });

  it('medium: the OpenAI-compatible /v1 routes take a slot of limits.generations (429 with Retry-After)', async () => {
    fixture = await startSecurityFixture(adapter, { generations: { perUser: 1, total: 16 } });
    const alice = await fixture.as('alice');
    const limiter = fixture.server.context.generationLimiter;
    const chat = () =>
      call(`${fixture?.url}/v1/chat/completions`, 'POST', alice, {
        model: 'tiny',
        messages: [{ role: 'user', content: 'hi' }],
      });
    const completion = () =>
      call(`${fixture?.url}/v1/completions`, 'POST', alice, { model: 'tiny', prompt: 'hi' });
    // Alice's one generation is running (held here as /generate would hold it).
    const release = limiter.acquire('alice');
    for (const response of [await chat(), await completion()]) {
      expect(response.status).toBe(429);
      expect(response.body.code).toBe('RATE_LIMITED');
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    release();
    // With the slot free the request runs (the fixture's model folder is empty, so loading fails),
    // and a failed completion gives its slot back.
    const ran = await chat();
    expect(ran.status).not.toBe(429);
    expect(limiter.active('alice')).toBe(0);
  });

  it('medium: the suppressed count of an anonymous flood that stops is written at shutdown', async () => {
    fixture = await startSecurityFixture(adapter, { anonymousAuditPerMinute: 5 });
    const { kit, directory } = fixture;
    for (let index = 0; index < 20; index += 1) {
      await call(`${fixture.url}/train`, 'POST', {}, { anything: index });
    }
    const summaries = async () => (await kit.audit.query({ action: 'http.suppressed' })).items;
    expect(await summaries()).toEqual([]);
    // The flood stops; the server shuts down within the minute: the count is not lost.
    await fixture.server.close();
    fixture = undefined;
    try {
      const written = await summaries();
      expect(written).toHaveLength(1);
      expect(written[0]?.details).toMatchObject({
        suppressed: 15,
        latest: { action: 'http.submitTraining' },
      });
      expect(written[0]?.actor).toBe('anonymous');
    } finally {
      await kit.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
