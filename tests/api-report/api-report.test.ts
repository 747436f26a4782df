import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { apiReport, entryPointsOf, packageDirectories, reportPath } from './api-report.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('API report', () => {
  it('matches the committed report (update with `npx tsx tests/api-report/api-report.ts --write`)', () => {
    for (const [fileName, text] of apiReport()) {
      expect(text, `tests/api-report/${fileName} is out of date`).toBe(
        readFileSync(reportPath(fileName), 'utf8'),
      );
    }
  });

  it('every @tunekit/<package>/<subpath> import in the repository is an exported entry point', () => {
    const exported = new Set(
      packageDirectories().flatMap((directory) => entryPointsOf(directory).map((entry) => entry.specifier)),
    );
    const files = execFileSync('git', ['ls-files', '*.ts', '*.mts', '*.cts', '*.md'], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((file) => file !== '');
    const unknown: string[] = [];
    for (const file of files) {
      const text = readFileSync(`${root}/${file}`, 'utf8');
      for (const match of text.matchAll(/['"](@tunekit\/[a-z-]+(?:\/[a-z-]+)?)['"]/g)) {
        const specifier = match[1] as string;
        if (!exported.has(specifier)) unknown.push(`${file}: ${specifier}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('bench, tests and examples import packages through their entry points, never by source path', () => {
    const files = execFileSync('git', ['ls-files', 'bench', 'tests', 'examples'], {
      cwd: root,
      encoding: 'utf8',
    })
      .split('\n')
      .filter((file) => /\.(ts|mts|cts)$/.test(file));
    const bySourcePath: string[] = [];
    for (const file of files) {
      const text = readFileSync(`${root}/${file}`, 'utf8');
      for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*)['"]((?:\.\.\/)+packages\/[^'"]+)['"]/g)) {
        bySourcePath.push(`${file}: ${match[1]}`);
      }
    }
    expect(bySourcePath).toEqual([]);
  });
});
