import { afterEach, describe, expect, it } from 'vitest';
import { adapters, call, type SecurityFixture, startSecurityFixture } from './security-fixture.js';

/**
 * Issue 15, medium: anyone with `feedback:create` could record A/B outcomes for invented unit ids and
 * move another owner's results. Outcomes (and exposures) are now accepted only for units the server
 * assigned: `assign` returns a signed exposure token that `record` and `/feedback` require.
 */
describe.each(adapters)('A/B exposure tokens on %s', (adapter) => {
  let fixture: SecurityFixture | undefined;
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });

  async function createTest(current: SecurityFixture, kind: 'binary' | 'rating' = 'binary') {
    const created = await call(`${current.url}/ab-tests`, 'POST', await current.as('admin'), {
      name: `forgery-${kind}`,
      variants: [
        { model_id: 'a', weight: 1 },
        { model_id: 'b', weight: 1 },
      ],
      success_metric: { kind, name: kind },
    });
    expect(created.status).toBe(201);
    return String(created.body.id);
  }

  async function assign(current: SecurityFixture, user: 'alice' | 'bob', id: string, unit: string) {
    const assigned = await call(`${current.url}/ab-tests/${id}/assign`, 'POST', await current.as(user), {
      unit_id: unit,
    });
    expect(assigned.status).toBe(200);
    return String(assigned.body.exposure_token);
  }

  it('refuses outcomes for units the server did not assign (missing, forged, replayed tokens)', async () => {
    fixture = await startSecurityFixture(adapter);
    const current = fixture;
    const id = await createTest(current);
    const bob = await current.as('bob');
    const record = (body: Record<string, unknown>, headers = bob) =>
      call(`${current.url}/ab-tests/${id}/record`, 'POST', headers, body);

    // An invented unit without a token.
    const bare = await record({ unit_id: 'invented-1', outcome: true });
    expect(bare.status).toBe(400);
    expect(bare.body.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(bare.body)).toContain('exposure_token');

    // A token assigned to alice's unit: bob may not use it, nor may alice use it for another unit.
    const aliceToken = await assign(current, 'alice', id, 'alice-unit');
    const stolen = await record({ unit_id: 'alice-unit', outcome: true, exposure_token: aliceToken });
    expect(stolen.status).toBe(403);
    expect(stolen.body.code).toBe('ABTEST_EXPOSURE_INVALID');
    const moved = await record(
      { unit_id: 'invented-2', outcome: true, exposure_token: aliceToken },
      await current.as('alice'),
    );
    expect(moved.status).toBe(403);
    expect(moved.body.code).toBe('ABTEST_EXPOSURE_INVALID');

    // Forged tokens: edited claims with the old signature, a made-up signature, garbage.
    const [prefix, body, signature] = aliceToken.split('.');
    const claims = JSON.parse(Buffer.from(String(body), 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    const edited = Buffer.from(JSON.stringify({ ...claims, u: 'invented-3', p: 'bob' })).toString(
      'base64url',
    );
    for (const forged of [
      `${prefix}.${edited}.${signature}`,
      `${prefix}.${edited}.${Buffer.alloc(32, 1).toString('base64url')}`,
      'v1.e30.AAAA',
      'not-a-token',
    ]) {
      const response = await record({ unit_id: 'invented-3', outcome: true, exposure_token: forged });
      expect(response.status, forged).toBe(403);
      expect(response.body.code).toBe('ABTEST_EXPOSURE_INVALID');
    }

    // A token of another test does not carry over.
    const otherTest = await createTest(current);
    const otherToken = await assign(current, 'bob', otherTest, 'bob-unit');
    expect((await record({ unit_id: 'bob-unit', outcome: true, exposure_token: otherToken })).status).toBe(
      403,
    );

    // Nothing of the above reached the results; a properly assigned unit does.
    const results = async () =>
      (await call(`${current.url}/ab-tests/${id}/results`, 'GET', bob)).body as {
        variants: Array<{ n: number }>;
      };
    expect((await results()).variants.reduce((sum, variant) => sum + variant.n, 0)).toBe(0);
    const bobToken = await assign(current, 'bob', id, 'bob-unit');
    expect((await record({ unit_id: 'bob-unit', outcome: true, exposure_token: bobToken })).status).toBe(200);
    expect((await results()).variants.reduce((sum, variant) => sum + variant.n, 0)).toBe(1);
    // A principal with abtests:record (admin) records without a token.
    expect((await record({ unit_id: 'server-side', exposure: true }, await current.as('admin'))).status).toBe(
      200,
    );
  });

  it('refuses feedback that would count as an outcome of an invented unit', async () => {
    fixture = await startSecurityFixture(adapter);
    const current = fixture;
    const id = await createTest(current, 'rating');
    const bob = await current.as('bob');
    const feedback = (extra: Record<string, unknown>) =>
      call(`${current.url}/feedback`, 'POST', bob, {
        model_id: 'a',
        input: 'hi',
        output: 'hello',
        rating: 1,
        ab_test_id: id,
        ...extra,
      });
    const bare = await feedback({ unit_id: 'invented' });
    expect(bare.status).toBe(400);
    expect(bare.body.code).toBe('VALIDATION_FAILED');
    const aliceToken = await assign(current, 'alice', id, 'alice-unit');
    const stolen = await feedback({ unit_id: 'alice-unit', exposure_token: aliceToken });
    expect(stolen.status).toBe(403);
    expect(stolen.body.code).toBe('ABTEST_EXPOSURE_INVALID');
    // The unit defaults to the caller's id: the token must be for that unit.
    const own = await assign(current, 'bob', id, 'bob');
    expect((await feedback({ exposure_token: own })).status).toBe(201);
    expect(
      (await current.kit.abTests.results(id)).variants.reduce((sum, variant) => sum + variant.n, 0),
    ).toBe(1);
  });
});
