import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTunekit } from '@tunekit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const bin = join(root, 'packages', 'server-adapter', 'bin', 'tunekit.js');
const builtCli = join(root, 'packages', 'server-adapter', 'dist', 'cli', 'index.js');
const example = join(root, 'examples', 'tiny-gpt.yaml');
const hasScript = existsSync('/usr/bin/script');

let directory: string;

/** What the bar drew after each carriage return + clear-line (ESC [2K). */
function barFrames(output: string): string[] {
  return output.split('\r\u001b[2K').slice(1);
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-cli-train-'));
  // CI builds before testing; a checkout that was never built is built here.
  if (!existsSync(builtCli)) await run('npm', ['run', 'build'], { cwd: root });
}, 900_000);

afterAll(async () => {
  if (directory) await rm(directory, { recursive: true, force: true });
});

/** Runs the real `tunekit` binary; resolves with its exit status and output (never rejects on a status). */
async function tunekit(
  args: string[],
  data: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args, '--data', data], {
      cwd: root,
      env: { ...process.env, TUNEKIT_LOG_LEVEL: 'warn' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

/** Starts `tunekit train` (JSON events), sends SIGINT after its first step; resolves with the job id once it exits 130. */
async function interruptedRun(data: string): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      bin,
      'train',
      example,
      '--json',
      '--data',
      data,
      '--set',
      'hyperparameters.maxSteps=30',
      '--set',
      'hyperparameters.evalEvery=0',
    ],
    { cwd: root, env: { ...process.env, TUNEKIT_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  let jobId: string | undefined;
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (jobId === undefined && /"type":"step"/.test(output)) {
      jobId = /"jobId":"([^"]+)"/.exec(output)?.[1];
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(130);
  expect(jobId).toBeDefined();
  return jobId as string;
}

describe('tunekit train (the real binary)', () => {
  it('trains examples/tiny-gpt.yaml with plain lines when not on a terminal, registers the model, exits 0', async () => {
    const data = join(directory, 'plain');
    const result = await tunekit(['train', example, '--set', 'hyperparameters.maxSteps=4'], data);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const steps =
      result.stdout.match(/^step \d+\/4 {2}loss \d+\.\d{4} {2}lr [\d.e+-]+ {2}\d+ tok\/s/gm) ?? [];
    expect(steps).toHaveLength(4);
    expect(result.stdout).not.toContain('\r');
    expect(result.stdout).toMatch(/step 4 evaluation: validationLoss \d/);
    expect(result.stdout).toMatch(/succeeded, 4 steps, final loss \d/);
    expect(result.stdout).toContain('registered: tiny-moby@1');
  });

  it('prints one JSON object per event with --json', async () => {
    const data = join(directory, 'json');
    const result = await tunekit(['train', example, '--json', '--set', 'hyperparameters.maxSteps=3'], data);
    expect(result.code).toBe(0);
    const events = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; step?: number; status?: string });
    expect(events[0]?.type).toBe('submitted');
    expect(events.filter((event) => event.type === 'step').map((event) => event.step)).toEqual([1, 2, 3]);
    expect(events.at(-1)).toMatchObject({ type: 'finished', status: 'succeeded' });
  });

  it('rejects a misspelled field before anything runs, naming it, with exit status 1', async () => {
    const data = join(directory, 'typo');
    const result = await tunekit(['train', example, '--set', 'hyperparameters.max_steps=4'], data);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('VALIDATION_FAILED');
    expect(result.stderr).toContain('max_steps');
    // Validated before the store is touched: no dataset was registered.
    expect(existsSync(join(data, 'tunekit.sqlite'))).toBe(false);
    const usage = await tunekit(['train'], data);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('missing config file');
  });

  it.skipIf(!hasScript)(
    `under a pseudo-terminal: the bar redraws, Ctrl-C exits 130 with a checkpoint, --resume continues from it${hasScript ? '' : ' (skipped: util-linux script missing)'}`,
    async () => {
      const data = join(directory, 'pty');
      const command = [
        process.execPath,
        bin,
        'train',
        example,
        '--data',
        data,
        '--set',
        'hyperparameters.maxSteps=150',
        '--set',
        'hyperparameters.checkpointEvery=100000',
        '--set',
        'hyperparameters.evalEvery=0',
      ]
        .map((part) => `'${part}'`)
        .join(' ');
      // `script` runs the command on a pseudo-terminal; Ctrl-C typed into it reaches tunekit as SIGINT.
      const child: ChildProcess = spawn('script', ['-qfec', command, '/dev/null'], {
        env: { ...process.env, TUNEKIT_LOG_LEVEL: 'warn', COLUMNS: '120' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let output = '';
      let interrupted = false;
      const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const redraws = barFrames(output).filter((frame) => /^step \d+\/150 \[[#-]+\]/.test(frame));
        if (!interrupted && redraws.length >= 5) {
          interrupted = true;
          child.stdin?.write('\x03');
        }
      });
      const code = await exit;
      expect(interrupted).toBe(true);
      expect(code).toBe(130);
      const redrawn = barFrames(output).flatMap((frame) => {
        const match = /^step (\d+)\/150 /.exec(frame);
        return match ? [Number(match[1])] : [];
      });
      expect(redrawn.length).toBeGreaterThanOrEqual(5);
      expect(redrawn.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
      const checkpoint = /step (\d+) checkpoint artifact:\/\/jobs\/\S+\/checkpoints\/step-0*(\d+)/.exec(
        output,
      );
      expect(checkpoint).not.toBeNull();
      const savedAt = Number(checkpoint?.[1]);
      expect(savedAt).toBeGreaterThanOrEqual(5);
      expect(savedAt).toBeLessThan(150);
      const jobId = /--resume (\S+)` continues it/.exec(output)?.[1] as string;
      expect(jobId).toBeDefined();

      const resumed = await tunekit(['train', '--resume', jobId, '--json'], data);
      expect(resumed.code).toBe(0);
      const events = resumed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; step?: number; status?: string });
      expect(events[0]).toMatchObject({ type: 'submitted', jobId, resumed: true });
      const steps = events.filter((event) => event.type === 'step').map((event) => event.step);
      expect(steps[0]).toBe(savedAt + 1);
      expect(steps.at(-1)).toBe(150);
      expect(events.at(-1)).toMatchObject({ type: 'finished', status: 'succeeded' });
      // A finished run cannot resume again.
      const again = await tunekit(['train', '--resume', jobId], data);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already succeeded');
    },
    180_000,
  );

  it('--resume re-queues only the named job: another interrupted run of the same store stays interrupted', async () => {
    const data = join(directory, 'two-interrupted');
    const first = await interruptedRun(data);
    const second = await interruptedRun(data);
    expect(second).not.toBe(first);
    const resumed = await tunekit(['train', '--resume', first, '--json'], data);
    expect(resumed.code).toBe(0);
    const events = resumed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; jobId?: string; step?: number; status?: string });
    // Every event is the named job's: the other run did not start in this process.
    expect(new Set(events.map((event) => event.jobId))).toEqual(new Set([first]));
    expect(events.filter((event) => event.type === 'step').at(-1)?.step).toBe(30);
    expect(events.at(-1)).toMatchObject({ type: 'finished', status: 'succeeded' });
    // The store after the process exited: the second run is still interrupted (running, lease released).
    const kit = await createTunekit({ dataDirectory: data, jobs: { recover: false } });
    try {
      expect((await kit.jobs.get(first))?.status).toBe('succeeded');
      // …and never ran again: a recovering process would have claimed it (attempt 2).
      expect(await kit.jobs.get(second)).toMatchObject({ status: 'running', attempt: 1 });
    } finally {
      await kit.close();
    }
  }, 180_000);
});
