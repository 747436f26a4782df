import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The inputs of the real transformers + PEFT cross-check (bench/device/hf-crosscheck.sh) must stay in
// step with the layout fixtures: a fixture regenerated without re-running
// tests/golden/tunekit-written-adapters.ts leaves cases whose base logits no longer match.
const crosscheck = join(import.meta.dirname, 'golden', 'real_peft_crosscheck.py');

/** Debian's python3 with torch, when installed (CI has none: the check then does not run). */
function pythonWithTorch(): string | undefined {
  if (!existsSync('/usr/bin/python3')) return undefined;
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
    return '/usr/bin/python3';
  } catch {
    return undefined;
  }
}
const python = pythonWithTorch();

describe.skipIf(!python)('real_peft_crosscheck.py --dry-run (needs /usr/bin/python3 with torch)', () => {
  it('finds every input of parts A and B staged and the Tunekit-written cases in step with the fixtures', () => {
    const run = spawnSync(python as string, [crosscheck, '--dry-run'], { encoding: 'utf8' });
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.filter((line) => line.staged === false)).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ summary: true, dry_run: true, not_staged: 0 });
    expect(lines.filter((line) => String(line.check).startsWith('B')).length).toBeGreaterThanOrEqual(12);
    expect(run.status).toBe(0);
  });
});
