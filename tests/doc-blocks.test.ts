import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The documentation is a test. Every fenced TypeScript block of README.md and docs/*.md is extracted
 * and says in its info string how it is checked:
 *
 * - ```ts run — a script on its own: it runs verbatim with tsx in a fresh folder and must exit 0.
 * - ```ts continues — goes on from the previous `run` block of the same guide and the blocks that
 *   continued it (it uses their `kit`, their variables); the chain runs verbatim as one script.
 *   `ts run <name>` … `ts continues <name>` join a named chain across other `run` blocks.
 * - ```ts check <reason> — cannot run here (a remote MLflow, a GPU, a Redis server…): the reason is
 *   required, and the block is type-checked on its own.
 *
 * README.md blocks run whatever their info string. Every script, run or not, is also type-checked
 * with the repository's compiler options, so a guide cannot drift from the API's types.
 */
const root = join(import.meta.dirname, '..');
const workspace = join(root, '.doc-tests');
const tsxCli = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** One fenced block. */
interface DocBlock {
  file: string;
  index: number;
  line: number;
  mode: 'run' | 'continues' | 'check' | 'unmarked';
  reason: string;
  code: string;
}

/** What is checked: one block, or a chain of blocks run as one script. */
interface DocScript {
  name: string;
  folder: string;
  blocks: DocBlock[];
  runs: boolean;
  code: string;
}

/** Fenced ```ts / ```typescript blocks of a markdown text, with their mode and reason. */
function extractBlocks(file: string, markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const fence = /^```(ts|typescript)([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (let match = fence.exec(markdown); match !== null; match = fence.exec(markdown)) {
    const [word = '', ...rest] = (match[2] ?? '').trim().split(/\s+/).filter(Boolean);
    const mode = word === 'run' || word === 'continues' || word === 'check' ? word : 'unmarked';
    blocks.push({
      file,
      index: blocks.length,
      line: markdown.slice(0, match.index).split('\n').length,
      mode,
      reason: mode === 'unmarked' ? '' : rest.join(' '),
      code: match[3] ?? '',
    });
  }
  return blocks;
}

/**
 * Groups a guide's blocks into scripts: a `run` block and the `continues` blocks after it form one
 * (a `check` block between them stands alone). `ts run <name>` names a chain that a later
 * `ts continues <name>` joins even when other `run` blocks come between.
 */
function scriptsOf(blocks: DocBlock[]): { scripts: DocScript[]; problems: string[] } {
  const scripts: DocScript[] = [];
  const problems: string[] = [];
  let chain: DocScript | undefined;
  const named = new Map<string, DocScript>();
  for (const block of blocks) {
    const where = `${block.file}:${block.line}`;
    const mode = block.file === 'README.md' && block.mode === 'unmarked' ? 'run' : block.mode;
    if (mode === 'unmarked') {
      problems.push(
        `${where}: mark the block \`ts run\`, \`ts continues\` or \`ts check <why it cannot run>\``,
      );
      continue;
    }
    if (mode === 'check' && block.reason.length < 10) {
      problems.push(`${where}: \`ts check\` needs the reason the block cannot run`);
    }
    if (mode === 'continues') {
      const target = block.reason === '' ? chain : named.get(block.reason);
      if (target === undefined) {
        problems.push(
          `${where}: \`ts continues${block.reason ? ` ${block.reason}` : ''}\` but no such \`ts run\` block before it in ${block.file}`,
        );
        continue;
      }
      target.blocks.push(block);
      continue;
    }
    const name = `${block.file.replace(/[^A-Za-z0-9]+/g, '-')}-${block.line}`;
    const script: DocScript = {
      name,
      folder: join(workspace, name),
      blocks: [block],
      runs: mode === 'run',
      code: '',
    };
    scripts.push(script);
    // A `check` block stands alone and does not interrupt the chain around it.
    if (mode === 'run') {
      chain = script;
      if (block.reason !== '') named.set(block.reason, script);
    }
  }
  for (const script of scripts) {
    script.code = `${script.blocks
      .map((block) => `// ${block.file}:${block.line}\n${block.code}`)
      .join('\n')}\nexport {};\n`;
  }
  return { scripts, problems };
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

/** Scripts running at once: two, one per core of the CI machine (the tests themselves are concurrent). */
const parallelRuns = 2;
let running = 0;
const waiting: Array<() => void> = [];

/** Runs a script verbatim in its own folder; resolves with its exit code and output. */
async function runScript(script: DocScript, timeoutMs: number) {
  if (running >= parallelRuns) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await spawnScript(script, timeoutMs);
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

function spawnScript(script: DocScript, timeoutMs: number) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [tsxCli, '--tsconfig', join(root, 'tsconfig.json'), 'block.ts'], {
      cwd: script.folder,
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

/** Type errors of the scripts, with the repository's compiler options (workspace packages from source). */
function typeErrors(scripts: DocScript[]): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const files = scripts.map((script) => join(script.folder, 'block.ts'));
  const program = ts.createProgram(files, { ...config.options, noEmit: true, incremental: false });
  const errors = new Map<string, string[]>();
  for (const script of scripts) {
    const source = program.getSourceFile(join(script.folder, 'block.ts'));
    const diagnostics = source
      ? [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
      : [];
    errors.set(
      script.name,
      diagnostics.map((diagnostic) => {
        const line =
          diagnostic.file && diagnostic.start !== undefined
            ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1
            : 0;
        return `${relative(root, join(script.folder, 'block.ts'))}:${line}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
      }),
    );
  }
  return errors;
}

describe('documentation code blocks', async () => {
  const all = (await documents()).map(({ file, text }) => scriptsOf(extractBlocks(file, text)));
  const scripts = all.flatMap((guide) => guide.scripts);
  const problems = all.flatMap((guide) => guide.problems);
  let errors = new Map<string, string[]>();

  beforeAll(async () => {
    await rm(workspace, { recursive: true, force: true });
    for (const script of scripts) {
      await mkdir(script.folder, { recursive: true });
      await writeFile(join(script.folder, 'block.ts'), script.code);
    }
    errors = typeErrors(scripts);
  }, 180_000);

  afterAll(async () => {
    await rm(workspace, { recursive: true, force: true });
  });

  it('reads info strings: run, continues (chained into one script), check with its reason', () => {
    const blocks = extractBlocks(
      'x.md',
      '```ts run\nconst a = 1;\n```\n\n```ts continues\nconsole.log(a);\n```\n\n```ts check needs a GPU to run\nx;\n```\n\n```ts\ny;\n```\n',
    );
    expect(blocks.map((block) => [block.mode, block.reason])).toEqual([
      ['run', ''],
      ['continues', ''],
      ['check', 'needs a GPU to run'],
      ['unmarked', ''],
    ]);
    const { scripts: chained, problems: found } = scriptsOf(blocks);
    expect(chained.map((script) => [script.runs, script.blocks.length])).toEqual([
      [true, 2],
      [false, 1],
    ]);
    expect(chained[0]?.code).toContain('const a = 1;\n\n// x.md:5\nconsole.log(a);');
    expect(found).toEqual([
      'x.md:13: mark the block `ts run`, `ts continues` or `ts check <why it cannot run>`',
    ]);
    expect(scriptsOf(extractBlocks('y.md', '```ts continues\nz;\n```\n')).problems).toEqual([
      'y.md:1: `ts continues` but no such `ts run` block before it in y.md',
    ]);
    const named = scriptsOf(
      extractBlocks(
        'z.md',
        '```ts run server\na;\n```\n```ts run\nb;\n```\n```ts continues server\nc;\n```\n',
      ),
    ).scripts;
    expect(named.map((script) => script.blocks.map((block) => block.code))).toEqual([
      ['a;\n', 'c;\n'],
      ['b;\n'],
    ]);
  });

  it('every docs block is marked run, continues or check with a reason', () => {
    expect(scripts.length).toBeGreaterThan(10);
    expect(problems).toEqual([]);
  });

  it.each(scripts.map((script) => [script.name, script] as const))('type-checks %s', (_name, script) => {
    expect(errors.get(script.name)).toEqual([]);
  });

  const taste = scripts.find(
    (script) => script.blocks[0]?.file === 'README.md' && script.code.includes("submit('train'"),
  );
  it.concurrent('runs the README taste verbatim: the loss falls, the registry has the version, a newcomer can read it', async ({
    expect,
  }) => {
    expect(taste).toBeDefined();
    const started = performance.now();
    const { code, output } = await runScript(taste as DocScript, 170_000);
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

  const others = scripts.filter((script) => script.runs && script !== taste);
  it.concurrent.for(others.map((script) => [script.name, script] as const))(
    'runs %s verbatim',
    { timeout: 240_000 },
    async ([, script], { expect }) => {
      const started = performance.now();
      const { code, output } = await runScript(script, 120_000);
      const seconds = (performance.now() - started) / 1000;
      expect(output.slice(-3000), `exit ${code} after ${seconds.toFixed(1)} s`).not.toMatch(/^\w*Error/m);
      expect(code, output.slice(-3000)).toBe(0);
    },
  );
});
