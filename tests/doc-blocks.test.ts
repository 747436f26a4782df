import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DocBlockServiceName,
  docBlockServices,
  isDocBlockServiceName,
  startDocBlockServices,
} from './fixtures/doc-block-services.js';

/**
 * The documentation is a test. Every fenced TypeScript block of README.md and docs/*.md is extracted
 * and says in its info string how it is checked:
 *
 * - ```ts run — a script on its own: it runs verbatim with tsx in a fresh folder and must exit 0.
 * - ```ts continues — goes on from the previous `run` block of the same guide and the blocks that
 *   continued it (it uses their `kit`, their variables); the chain runs verbatim as one script.
 *   `ts run <name>` … `ts continues <name>` join a named chain across other `run` blocks.
 * - ```ts test — a vitest test file (e.g. one that declares the storage compliance suite): vitest runs
 *   it verbatim in its folder and it must pass.
 * - `needs=postgres,redis,s3,mlflow,wandb` after the mode — the servers the block talks to. The runner
 *   starts each for real for that script (PostgreSQL and redis-server processes, s3rver, the trackers'
 *   MLflow and W&B stand-ins) and hands their URLs over in environment variables (`DATABASE_URL`,
 *   `REDIS_URL`, `S3_ENDPOINT` with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, `MLFLOW_TRACKING_URI`,
 *   `WANDB_BASE_URL` with `WANDB_API_KEY`), which the block reads with a visible default. Only a
 *   missing binary skips the script, with the reason in the test's name.
 *
 * Nothing is only type-checked: every block runs. README.md blocks run whatever their info string.
 * Every script is also type-checked with the repository's compiler options, so a guide cannot drift
 * from the API's types.
 */
const root = join(import.meta.dirname, '..');
const workspace = join(root, '.doc-tests');
const tsxCli = join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** One fenced block. */
interface DocBlock {
  file: string;
  index: number;
  line: number;
  mode: 'run' | 'continues' | 'test' | 'unmarked';
  /** The chain a `run` block names or a `continues` block joins ('' for none). */
  chainName: string;
  /** Servers named by `needs=…`. */
  needs: string[];
  code: string;
}

/** What is checked: one block, or a chain of blocks run as one script. */
interface DocScript {
  name: string;
  folder: string;
  blocks: DocBlock[];
  /** tsx runs a script; vitest runs a `ts test` block. */
  runner: 'tsx' | 'vitest';
  /** Servers its blocks need, started for it. */
  needs: DocBlockServiceName[];
  /** The file written in its folder. */
  file: string;
  code: string;
}

/** Fenced ```ts / ```typescript blocks of a markdown text, with their mode, chain name and servers. */
function extractBlocks(file: string, markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const fence = /^```(ts|typescript)([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  for (let match = fence.exec(markdown); match !== null; match = fence.exec(markdown)) {
    const [word = '', ...rest] = (match[2] ?? '').trim().split(/\s+/).filter(Boolean);
    const mode = word === 'run' || word === 'continues' || word === 'test' ? word : 'unmarked';
    const needs = rest
      .filter((part) => part.startsWith('needs='))
      .flatMap((part) => part.slice('needs='.length).split(','))
      .filter(Boolean);
    blocks.push({
      file,
      index: blocks.length,
      line: markdown.slice(0, match.index).split('\n').length,
      mode,
      chainName: mode === 'unmarked' ? '' : rest.filter((part) => !part.startsWith('needs=')).join(' '),
      needs,
      code: match[3] ?? '',
    });
  }
  return blocks;
}

/**
 * Groups a guide's blocks into scripts: a `run` block and the `continues` blocks after it form one
 * (a `test` block between them stands alone). `ts run <name>` names a chain that a later
 * `ts continues <name>` joins even when other `run` blocks come between. A chain needs the servers
 * any of its blocks names.
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
        `${where}: mark the block \`ts run\`, \`ts continues\` or \`ts test\` (add \`needs=<servers>\` for the servers it talks to)`,
      );
      continue;
    }
    const needs: DocBlockServiceName[] = [];
    for (const name of block.needs) {
      if (isDocBlockServiceName(name)) needs.push(name);
      else
        problems.push(
          `${where}: unknown server "${name}" in needs= (known: ${Object.keys(docBlockServices).join(', ')})`,
        );
    }
    if (mode === 'continues') {
      const target = block.chainName === '' ? chain : named.get(block.chainName);
      if (target === undefined) {
        problems.push(
          `${where}: \`ts continues${block.chainName ? ` ${block.chainName}` : ''}\` but no such \`ts run\` block before it in ${block.file}`,
        );
        continue;
      }
      target.blocks.push(block);
      target.needs = [...new Set([...target.needs, ...needs])];
      continue;
    }
    const name = `${block.file.replace(/[^A-Za-z0-9]+/g, '-')}-${block.line}`;
    const runner = mode === 'test' ? 'vitest' : 'tsx';
    const script: DocScript = {
      name,
      folder: join(workspace, name),
      blocks: [block],
      runner,
      needs,
      file: runner === 'vitest' ? 'block.test.ts' : 'block.ts',
      code: '',
    };
    scripts.push(script);
    // A `test` block stands alone and does not interrupt the chain around it.
    if (mode === 'run') {
      chain = script;
      if (block.chainName !== '') named.set(block.chainName, script);
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

/** Runs `work` when one of the {@link parallelRuns} slots is free. */
async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= parallelRuns) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

const vitestCli = join(root, 'node_modules', 'vitest', 'vitest.mjs');

/** Runs a script verbatim in its own folder with the extra environment; resolves with its exit code and output. */
function runScript(script: DocScript, timeoutMs: number, env: Record<string, string> = {}) {
  // This run's own vitest variables would make a nested vitest think it is a worker.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => script.runner === 'tsx' || !key.startsWith('VITEST')),
  );
  const command =
    script.runner === 'tsx'
      ? [tsxCli, '--tsconfig', join(root, 'tsconfig.json'), script.file]
      : [vitestCli, 'run', '--config', 'vitest.config.ts'];
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, command, {
      cwd: script.folder,
      env: { ...inherited, NODE_ENV: 'test', ...env },
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

/**
 * The vitest configuration written next to a `ts test` block: the repository's (workspace imports
 * resolve to source), rooted in the block's folder so it runs only the block.
 */
function vitestConfigFor(): string {
  return [
    "import { mergeConfig } from 'vitest/config';",
    `import base from ${JSON.stringify(join(root, 'vitest.config.ts'))};`,
    "export default mergeConfig(base, { root: import.meta.dirname, test: { include: ['block.test.ts'] } });",
    '',
  ].join('\n');
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
  const files = scripts.map((script) => join(script.folder, script.file));
  const program = ts.createProgram(files, { ...config.options, noEmit: true, incremental: false });
  const errors = new Map<string, string[]>();
  for (const script of scripts) {
    const source = program.getSourceFile(join(script.folder, script.file));
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
        return `${relative(root, join(script.folder, script.file))}:${line}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
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
      await writeFile(join(script.folder, script.file), script.code);
      if (script.runner === 'vitest')
        await writeFile(join(script.folder, 'vitest.config.ts'), vitestConfigFor());
    }
    errors = typeErrors(scripts);
  }, 180_000);

  afterAll(async () => {
    await rm(workspace, { recursive: true, force: true });
  });

  it('reads info strings: run, continues (chained into one script), test, needs=<servers>', () => {
    const blocks = extractBlocks(
      'x.md',
      '```ts run needs=redis\nconst a = 1;\n```\n\n```ts continues needs=postgres,redis\nconsole.log(a);\n```\n\n```ts test\nx;\n```\n\n```ts\ny;\n```\n\n```ts check needs a GPU\nz;\n```\n',
    );
    expect(blocks.map((block) => [block.mode, block.chainName, block.needs])).toEqual([
      ['run', '', ['redis']],
      ['continues', '', ['postgres', 'redis']],
      ['test', '', []],
      ['unmarked', '', []],
      ['unmarked', '', []],
    ]);
    const { scripts: chained, problems: found } = scriptsOf(blocks);
    expect(chained.map((script) => [script.runner, script.file, script.needs, script.blocks.length])).toEqual(
      [
        ['tsx', 'block.ts', ['redis', 'postgres'], 2],
        ['vitest', 'block.test.ts', [], 1],
      ],
    );
    expect(chained[0]?.code).toContain('const a = 1;\n\n// x.md:5\nconsole.log(a);');
    // `ts check` (type-check only) is gone: such a block is unmarked.
    expect(found).toEqual([
      'x.md:13: mark the block `ts run`, `ts continues` or `ts test` (add `needs=<servers>` for the servers it talks to)',
      'x.md:17: mark the block `ts run`, `ts continues` or `ts test` (add `needs=<servers>` for the servers it talks to)',
    ]);
    expect(scriptsOf(extractBlocks('y.md', '```ts continues\nz;\n```\n')).problems).toEqual([
      'y.md:1: `ts continues` but no such `ts run` block before it in y.md',
    ]);
    expect(scriptsOf(extractBlocks('w.md', '```ts run needs=mongo\nz;\n```\n')).problems).toEqual([
      'w.md:1: unknown server "mongo" in needs= (known: postgres, redis, s3, mlflow, wandb)',
    ]);
    const named = scriptsOf(
      extractBlocks(
        'z.md',
        '```ts run server needs=s3\na;\n```\n```ts run\nb;\n```\n```ts continues server\nc;\n```\n',
      ),
    ).scripts;
    expect(named.map((script) => [script.needs, script.blocks.map((block) => block.code)])).toEqual([
      [['s3'], ['a;\n', 'c;\n']],
      [[], ['b;\n']],
    ]);
  });

  it('every docs block is marked run, continues or test, and every one runs', () => {
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
    const { code, output } = await limited(() => runScript(taste as DocScript, 170_000));
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

  const others = scripts.filter((script) => script !== taste);
  /** Why a script cannot run here: a server binary it needs is missing. */
  const missing = (script: DocScript) =>
    script.needs.map((name) => docBlockServices[name].missing()).find((reason) => reason !== undefined);
  const label = (script: DocScript) => {
    const reason = missing(script);
    const needs = script.needs.length > 0 ? ` with ${script.needs.join(', ')}` : '';
    return `${script.name}${needs}${reason === undefined ? '' : ` (skipped: ${reason})`}`;
  };
  for (const script of others) {
    const reason = missing(script);
    if (reason !== undefined) console.log(`doc blocks: ${script.name} skipped: ${reason}`);
  }
  it.concurrent.for(others.map((script) => [label(script), script] as const))(
    'runs %s verbatim',
    { timeout: 240_000 },
    async ([, script], { expect, skip }) => {
      const reason = missing(script);
      if (reason !== undefined) {
        skip(reason);
        return;
      }
      await limited(async () => {
        const started = performance.now();
        const services = await startDocBlockServices(script.needs);
        try {
          const { code, output } = await runScript(script, 120_000, services.env);
          const seconds = (performance.now() - started) / 1000;
          expect(output.slice(-3000), `exit ${code} after ${seconds.toFixed(1)} s`).not.toMatch(/^\w*Error/m);
          expect(code, output.slice(-3000)).toBe(0);
          expect(services.verify(), output.slice(-3000)).toEqual([]);
        } finally {
          await services.stop();
        }
      });
    },
  );
});
