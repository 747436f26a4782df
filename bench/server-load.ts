/**
 * HTTP load on 127.0.0.1: `npx tsx bench/server-load.ts` prints one JSON line per figure (requests/s,
 * p50 and p99 latency) for `GET /health`, `POST /feedback` (SQLite storage, audited) and
 * `POST /models/recommend` (hnswlib over 200 registered versions), with bounded loops: a fixed number
 * of requests from a fixed number of keep-alive connections. The server runs in a child process so
 * that the load generator does not share its event loop; both adapters are measured (Fastify, then the
 * Express router in an Express 5 app). `SERVER_LOAD_REQUESTS` scales the loops.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const API_KEY = 'tk_bench_key_0123456789abcdef';
const ADMIN_KEY = 'tk_bench_admin_0123456789abcdef';

async function serve(directory: string, adapter: 'fastify' | 'express'): Promise<void> {
  const { createTunekit } = await import('@tunekit/core');
  const { registryPlugin } = await import('@tunekit/registry');
  const { startTestServer } = await import('@tunekit/server-adapter/testing');
  const kit = await createTunekit({ dataDirectory: directory, plugins: [registryPlugin()] });
  const server = await startTestServer(adapter, kit, {
    prefix: '',
    auth: {
      apiKeys: [
        { name: 'bench-user', key: API_KEY, roles: ['user'] },
        { name: 'bench-admin', key: ADMIN_KEY, roles: ['admin'] },
      ],
    },
  });
  const tasks = ['text-classification', 'summarization', 'translation', 'text-generation'];
  const languages = ['en', 'fr', 'de', 'es', 'ja'];
  const topics = ['movie reviews', 'news', 'legal contracts', 'support tickets', 'recipes', 'medical notes'];
  const registry = (kit as unknown as { registry: { register(input: unknown): Promise<unknown> } }).registry;
  for (let index = 0; index < 200; index++) {
    await registry.register({
      name: `model-${index % 40}`,
      artifactUri: `artifact://models/bench/${index}`,
      task: tasks[index % tasks.length],
      language: languages[index % languages.length],
      description: `${tasks[index % tasks.length]} model for ${topics[index % topics.length]} #${index}`,
      tags: ['bench'],
    });
  }
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  process.once(
    'SIGTERM',
    () =>
      void server
        .close()
        .then(() => kit.close())
        .then(() => process.exit(0)),
  );
}

interface Figure {
  route: string;
  method: 'GET' | 'POST';
  body?: (index: number) => string;
  key: string;
  expectStatus: number;
}

async function load(url: string, figure: Figure, total: number, concurrency: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(figure.route, `${url}/`);
  const once = (index: number) =>
    new Promise<number>((resolve, reject) => {
      const payload = figure.body?.(index);
      const started = performance.now();
      const outgoing = request(
        target,
        {
          method: figure.method,
          agent,
          headers: {
            'x-api-key': figure.key,
            ...(payload
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            if (response.statusCode !== figure.expectStatus) {
              reject(new Error(`${figure.route} answered ${response.statusCode}`));
            } else resolve(performance.now() - started);
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  // Warm-up, then the measured bounded loop: `concurrency` workers share `total` requests.
  for (let index = 0; index < Math.min(200, total / 10); index++) await once(-index - 1);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const index = next++;
        latencies.push(await once(index));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (quantile: number) =>
    Math.round(
      (latencies[Math.min(latencies.length - 1, Math.floor(quantile * latencies.length))] as number) * 100,
    ) / 100;
  return { requestsPerSecond: Math.round(total / seconds), p50Ms: at(0.5), p99Ms: at(0.99) };
}

async function measure(adapter: 'fastify' | 'express'): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'tunekit-server-load-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', directory, adapter],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const line = buffered.split('\n').find((candidate) => candidate.startsWith('{"url"'));
        if (line) resolve((JSON.parse(line) as { url: string }).url);
      });
      child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const scale = Number(process.env.SERVER_LOAD_REQUESTS ?? 1);
    const concurrency = 16;
    const figures: Array<Figure & { total: number }> = [
      { route: 'health', method: 'GET', key: API_KEY, expectStatus: 200, total: 20_000 * scale },
      {
        route: 'feedback',
        method: 'POST',
        key: API_KEY,
        expectStatus: 201,
        total: 1_000 * scale,
        body: (index) =>
          JSON.stringify({
            modelId: `model-${Math.abs(index) % 7}`,
            input: `prompt ${index}`,
            output: `answer ${index}`,
            rating: (Math.abs(index) % 5) + 1,
          }),
      },
      {
        route: 'models/recommend',
        method: 'POST',
        key: API_KEY,
        expectStatus: 200,
        total: 3_000 * scale,
        body: (index) =>
          JSON.stringify({
            query: `classifier of ${['movie reviews', 'news', 'recipes'][Math.abs(index) % 3]} sentiment`,
            k: 5,
          }),
      },
    ];
    for (const figure of figures) {
      const result = await load(url, figure, figure.total, concurrency);
      console.log(
        JSON.stringify({
          benchmark: 'server-load',
          route: `${figure.method} /${figure.route}`,
          adapter,
          storage: 'sqlite',
          requests: figure.total,
          concurrency,
          ...result,
          cpus: cpus().length,
          node: process.version,
        }),
      );
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(directory, { recursive: true, force: true });
  }
}

if (process.argv.includes('--serve')) {
  const at = process.argv.indexOf('--serve');
  await serve(process.argv[at + 1] as string, process.argv[at + 2] === 'express' ? 'express' : 'fastify');
} else {
  for (const adapter of ['fastify', 'express'] as const) await measure(adapter);
}
