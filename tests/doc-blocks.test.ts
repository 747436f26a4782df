import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The README is a test: every fenced TypeScript block of README.md and docs/*.md is extracted.
 * README blocks (and docs blocks whose info string says `run`) run verbatim with tsx in a fresh
 * folder; blocks marked `fragment` (they continue an earlier block or elide setup) are compiled for
 * syntax errors only. Info strings: ```ts, ```ts run, ```ts fragment.
 */
const root = join(import.meta.dirname, '..');
const workspace = join(root, '.doc-tests');
const tsxCli = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

interface DocBlock {
  file: string;
  index: number;
  line: number;
  info: string[];
  code: string;
}

/** Fenced ```ts / ```typescript blocks of a markdown text, with their info-string words. */
function extractBlocks(file: string, markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const fence = /^```(ts|typescript)([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (let match = fence.exec(markdown); match !== null; match = fence.exec(markdown)) {
    blocks.push({
      file,
      index: blocks.length,
      line: markdown.slice(0, match.index).split('\n').length,
      info: (match[2] ?? '').trim().split(/\s+/).filter(Boolean),
      code: match[3] ?? '',
    });
  }
  return blocks;
}

async function documents(): Promise<Array<{ file: string; text: string }>> {
  const docs = (await readdir(join(root, 'docs'))).filter((name) => name.endsWith('.md')).sort();
  return Promise.all(
    ['README.md', ...docs.map((name) => join('docs', name))].map(async (file) => ({
      file,
      text: await readFile(join(root, file), 'utf8'),
    })),
  );
}

/** Runs a block verbatim in its own folder; resolves with its exit code and output. */
async function runBlock(block: DocBlock, timeoutMs: number) {
  const folder = join(workspace, `${block.file.replace(/[^A-Za-z0-9]+/g, '-')}-${block.index}`);
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'block.ts'), block.code);
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [tsxCli, '--tsconfig', join(root, 'tsconfig.json'), 'block.ts'], {
      cwd: folder,
      env: { ...process.env, NODE_ENV: 'test' },
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Syntax errors of a block (TypeScript's parser; no type check, fragments elide their setup). */
function syntaxErrors(block: DocBlock): string[] {
  const result = ts.transpileModule(block.code, {
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return (result.diagnostics ?? []).map((diagnostic) =>
    ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
  );
}

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe('documentation code blocks', async () => {
  const blocks = (await documents()).flatMap(({ file, text }) => extractBlocks(file, text));

  it('finds the blocks (the extractor reads info strings)', () => {
    expect(blocks.length).toBeGreaterThan(20);
    expect(extractBlocks('x.md', '```ts run\nconsole.log(1)\n```\n')).toEqual([
      { file: 'x.md', index: 0, line: 1, info: ['run'], code: 'console.log(1)\n' },
    ]);
  });

  it.each(blocks.map((block) => [`${block.file}:${block.line}`, block] as const))(
    'compiles %s without syntax errors',
    (_name, block) => {
      expect(syntaxErrors(block)).toEqual([]);
    },
  );

  const runnable = blocks.filter(
    (block) => !block.info.includes('fragment') && (block.file === 'README.md' || block.info.includes('run')),
  );

  it('runs the README taste verbatim: the loss falls, the registry has the version, a newcomer can read it', async () => {
    const taste = runnable.find(
      (block) => block.file === 'README.md' && block.code.includes("submit('train'"),
    );
    expect(taste).toBeDefined();
    const started = performance.now();
    const { code, output } = await runBlock(taste as DocBlock, 170_000);
    const seconds = (performance.now() - started) / 1000;
    expect(output).not.toContain('Error');
    expect(code).toBe(0);
    const losses = [...output.matchAll(/step \d+: loss ([\d.]+)/g)].map((match) => Number(match[1]));
    expect(losses.length).toBeGreaterThanOrEqual(5);
    expect(losses.at(-1) as number).toBeLessThan((losses[0] as number) * 0.5);
    expect(output).toContain('succeeded, registered as notes@1');
    expect(output).toContain('in the registry: notes@1');
    const perplexities = [...output.matchAll(/(before|after): perplexity ([\d.]+)/g)].map((match) =>
      Number(match[2]),
    );
    expect(perplexities).toHaveLength(2);
    expect(perplexities[1] as number).toBeLessThan((perplexities[0] as number) / 10);
    console.log(`README taste: ${seconds.toFixed(1)} s\n${output}`);
  }, 180_000);

  const others = runnable.filter(
    (block) => !(block.file === 'README.md' && block.code.includes("submit('train'")),
  );
  it.runIf(others.length > 0).each(others.map((block) => [`${block.file}:${block.line}`, block] as const))(
    'runs %s verbatim',
    async (_name, block) => {
      const { code, output } = await runBlock(block, 120_000);
      expect(output.slice(-2000)).not.toMatch(/^\w*Error/m);
      expect(code).toBe(0);
    },
    130_000,
  );
});
