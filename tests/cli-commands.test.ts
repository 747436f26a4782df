import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const bin = join(root, 'packages', 'server-adapter', 'bin', 'tunekit.js');
const builtCli = join(root, 'packages', 'server-adapter', 'dist', 'cli', 'index.js');

let directory: string;
let data: string;

/** Runs the real `tunekit` binary on the test's data directory; never rejects on an exit status. */
async function tunekit(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args, '--data', data], {
      cwd: directory,
      env: { ...process.env, TUNEKIT_LOG_LEVEL: 'warn' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-cli-commands-'));
  data = join(directory, '.tunekit');
  if (!existsSync(builtCli)) await run('npm', ['run', 'build'], { cwd: root });
  const trained = await tunekit(
    'train',
    join(root, 'examples', 'tiny-gpt.yaml'),
    '--set',
    'hyperparameters.maxSteps=3',
  );
  expect(trained.code).toBe(0);
}, 900_000);

afterAll(async () => {
  if (directory) await rm(directory, { recursive: true, force: true });
});

describe('tunekit commands (the real binary)', () => {
  it('models: ls, show, promote to production, generate by bare name, rollback refused without a previous version', async () => {
    const listed = await tunekit('models', 'ls');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+STAGE\s+BASE/);
    expect(listed.stdout).toMatch(/^tiny-moby@1\s+draft/m);
    expect((await tunekit('models', 'promote', 'tiny-moby@1')).stdout).toBe('tiny-moby@1: draft → staging\n');
    expect((await tunekit('models', 'promote', 'tiny-moby@1')).stdout).toBe(
      'tiny-moby@1: staging → production\n',
    );
    const production = JSON.parse(
      (await tunekit('models', 'ls', '--stage', 'production', '--json')).stdout,
    ) as {
      id: string;
    }[];
    expect(production.map((version) => version.id)).toEqual(['tiny-moby@1']);
    const shown = await tunekit('models', 'show', 'tiny-moby@production');
    expect(shown.stdout).toMatch(/^id\s+tiny-moby@1$/m);
    const generated = await tunekit(
      'generate',
      'tiny-moby',
      'Call me',
      '--max-tokens',
      '5',
      '--temperature',
      '0',
      '--json',
    );
    expect(generated.code).toBe(0);
    const result = JSON.parse(generated.stdout) as { tokens_generated: number; finish_reason: string };
    expect(result.tokens_generated).toBeGreaterThan(0);
    expect(result.tokens_generated).toBeLessThanOrEqual(5);
    const rollback = await tunekit('models', 'rollback', 'tiny-moby');
    expect(rollback.code).toBe(1);
    expect(rollback.stderr).toContain('ROLLBACK_UNAVAILABLE');
    expect((await tunekit('models', 'bogus')).code).toBe(2);
  });

  it('datasets: add, validate (invalid rows fail), stats; eval prints metrics with intervals', async () => {
    const good = join(directory, 'qa.jsonl');
    await writeFile(
      good,
      ['Call me', 'It was', 'The whale']
        .map((prompt) => JSON.stringify({ prompt, completion: ' Ishmael' }))
        .join('\n'),
    );
    const added = JSON.parse((await tunekit('datasets', 'add', good, '--kind', 'test', '--json')).stdout) as {
      id: string;
      rowCount: number;
    };
    expect(added.rowCount).toBe(3);
    const stats = await tunekit('datasets', 'stats', added.id);
    expect(stats.stdout).toMatch(/^rowCount\s+3$/m);
    const bad = join(directory, 'bad.jsonl');
    await writeFile(bad, '{"text": "fine"}\nnot json\n');
    const validated = await tunekit('datasets', 'validate', bad);
    expect(validated.code).toBe(1);
    expect(validated.stdout).toMatch(/^invalidRows\s+1$/m);
    const evaluated = await tunekit(
      'eval',
      'tiny-moby',
      good,
      '--evaluators',
      'exact-match,token-f1',
      '--max-tokens',
      '4',
    );
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toMatch(/^METRIC\s+VALUE\s+LOWER\s+UPPER$/m);
    expect(evaluated.stdout).toMatch(/^exact_match\s+\d/m);
    expect(evaluated.stdout).toMatch(/^evaluation \S+ of tiny-moby$/m);
  });

  it('users add prints a one-time password; export writes a transformers.js folder', async () => {
    const added = JSON.parse(
      (await tunekit('users', 'add', 'carol', '--role', 'viewer', '--json')).stdout,
    ) as {
      password: string;
      roles: string[];
    };
    expect(added.roles).toEqual(['viewer']);
    expect(added.password.length).toBeGreaterThanOrEqual(16);
    const users = JSON.parse((await tunekit('users', 'ls', '--json')).stdout) as {
      id: string;
      passwordHash?: string;
    }[];
    expect(users.map((user) => user.id)).toEqual(['carol']);
    expect(users[0]?.passwordHash).toBeUndefined();
    const output = join(directory, 'exported');
    const exported = await tunekit('export', 'tiny-moby@production', output);
    expect(exported.code).toBe(0);
    expect(existsSync(join(output, 'onnx', 'model.onnx'))).toBe(true);
    expect(existsSync(join(output, 'config.json'))).toBe(true);
  });
});
