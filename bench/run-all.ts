/**
 * `npm run bench`: runs every figure script in `bench/` (each `*.ts` except this one) one after the
 * other in its own process and prints their JSON lines (one per figure). Lines that are not JSON
 * go to stderr. `BENCH_ONLY=trainer-throughput,foo` runs a subset.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.env.BENCH_ONLY?.split(',').map((name) => name.trim());
const scripts = readdirSync(here)
  .filter((file) => file.endsWith('.ts') && file !== 'run-all.ts' && !file.endsWith('.test.ts'))
  .filter((file) => !only || only.includes(file.replace(/\.ts$/, '')))
  .sort();

let failures = 0;
for (const script of scripts) {
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, script)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim().startsWith('{')) process.stdout.write(`${line}\n`);
        else if (line.trim()) process.stderr.write(`[${script}] ${line}\n`);
      }
    });
    child.on('close', (exitCode) => {
      if (pending.trim()) process.stdout.write(`${pending}\n`);
      resolve(exitCode ?? 1);
    });
  });
  if (code !== 0) {
    failures += 1;
    process.stderr.write(`[run-all] ${script} exited with ${code}\n`);
  }
}
process.exitCode = failures === 0 ? 0 : 1;
