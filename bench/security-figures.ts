/**
 * The figures of issue 15's attack run, re-measured on 127.0.0.1: `npx tsx bench/security-figures.ts`
 * prints one JSON line per figure for the Fastify server (`createServer`), run in a child process,
 * then one `load` line (the load average before and after: the figures mean little without it):
 *
 * - `pre-auth-body`: an anonymous 250 MB `application/json` body to `POST /datasets` (the issue's
 *   request): when the answer arrives, how many bytes were sent by then, `/live` p95/max while it
 *   runs (polled every 100 ms), server RSS before and at its peak.
 * - `sse-streams`: one user opens 200 event streams on a running job that reports progress every
 *   20 ms (so every open stream carries events): how many the server accepts (the rest 429), and
 *   `/live` p95 before and with them open.
 * - `anonymous-flood`: unauthenticated `POST /train` over 16 connections for 20 s: audit events
 *   added, and the median of five runs of a filtered audit query (`actor=admin`) before and after.
 *
 * The same file runs against an older checkout (copy it into that tree's `bench/`): it reads both
 * the camelCase (`nextCursor`) and snake_case (`next_cursor`) page shapes. Environment:
 * `SECURITY_FIGURES_BODY_MB` (250), `SECURITY_FIGURES_BODY_PATH` (`/datasets?name=bench-big`),
 * `SECURITY_FIGURES_STREAMS` (200), `SECURITY_FIGURES_FLOOD_SECONDS` (20).
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const USER_KEY = 'tk_security_user_0123456789abcdef';
const ADMIN_KEY = 'tk_security_admin_0123456789abcdef';

async function serve(directory: string): Promise<void> {
  const { createTunekit } = await import('@tunekit/core');
  const { createServer } = await import('@tunekit/server-adapter');
  const kit = await createTunekit({ dataDirectory: join(directory, 'kit') });
  kit.jobs.register(
    'train',
    async (
      _input: unknown,
      context: {
        signal: AbortSignal;
        progress(value: number, update?: { metrics?: Record<string, number> }): void;
      },
    ) => {
      // A running job that reports progress (and a loss) every 20 ms until it is stopped.
      let step = 0;
      const timer = setInterval(() => {
        step += 1;
        context.progress((step % 1000) / 1000, { metrics: { step, loss: 1 / step } });
      }, 20);
      await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
      clearInterval(timer);
      return { output: '' };
    },
  );
  await mkdir(join(directory, 'tiny'), { recursive: true });
  const server = await createServer(kit, {
    auth: {
      apiKeys: [
        { name: 'alice', key: USER_KEY, roles: ['user'] },
        { name: 'admin', key: ADMIN_KEY, roles: ['admin'] },
      ],
    },
    models: { tiny: { path: join(directory, 'tiny') } },
  });
  const url = await server.listen();
  process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);
  process.on('SIGTERM', () => {
    void server.close().then(() => kit.close().then(() => process.exit(0)));
  });
}

async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

function call(
  url: string,
  method: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - started }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls `/live` every 100 ms until `stop` resolves; returns the latencies. */
async function liveLatencies(url: string, stop: Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  while (!stopped) {
    const started = performance.now();
    await call(`${url}/live`, 'GET').catch(() => undefined);
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return latencies;
}

async function preAuthBody(url: string, pid: number) {
  const megabytes = Number(process.env.SECURITY_FIGURES_BODY_MB ?? 250);
  const declared = megabytes * 1_000_000;
  const target = process.env.SECURITY_FIGURES_BODY_PATH ?? '/datasets?name=bench-big';
  const { hostname, port, pathname } = new URL(url);
  const rssBefore = await rss(pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => {
    void rss(pid).then((value) => {
      rssPeak = Math.max(rssPeak, value);
    });
  }, 100);
  const started = performance.now();
  const exchange = new Promise<{ status: string; sent: number; ms: number }>((resolve) => {
    const socket = connect(Number(port), hostname);
    let sent = 0;
    let answer = '';
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ status: answer.split('\r\n')[0] ?? '(none)', sent, ms: performance.now() - started });
    };
    setTimeout(finish, 120_000);
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    const chunk = Buffer.alloc(1 << 20, 0x20);
    const pump = () => {
      while (!done && sent < declared) {
        const slice = chunk.subarray(0, Math.min(chunk.length, declared - sent));
        sent += slice.length;
        if (!socket.write(slice)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.write(
      `POST ${pathname === '/' ? '' : pathname}${target} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
      pump,
    );
  });
  const latencies = await liveLatencies(url, exchange);
  const result = await exchange;
  clearInterval(sampler);
  return {
    figure: 'pre-auth-body',
    request: `POST ${target}`,
    declaredBytes: declared,
    answer: result.status,
    answeredAfterMs: Math.round(result.ms),
    bytesSentByThen: result.sent,
    liveP95Ms: Math.round(percentile(latencies, 95)),
    liveMaxMs: Math.round(Math.max(...latencies)),
    rssBeforeMB: Math.round(rssBefore / 1e6),
    rssPeakMB: Math.round(rssPeak / 1e6),
    rssGrowthMB: Math.round((rssPeak - rssBefore) / 1e6),
  };
}

async function sseStreams(url: string) {
  const count = Number(process.env.SECURITY_FIGURES_STREAMS ?? 200);
  const user = { 'x-api-key': USER_KEY };
  const upload = await call(
    `${url}/datasets?name=bench`,
    'POST',
    { ...user, 'content-type': 'application/x-ndjson' },
    '{"text":"a"}\n{"text":"b"}\n',
  );
  const versionId = (JSON.parse(upload.body) as { id: string }).id;
  const submitted = await call(
    `${url}/train`,
    'POST',
    { ...user, 'content-type': 'application/json' },
    JSON.stringify({ base_model: 'tiny', dataset_version_id: versionId, output_name: 'bench' }),
  );
  const jobId = (JSON.parse(submitted.body) as { job_id: string }).job_id;
  const baseline: number[] = [];
  for (let index = 0; index < 50; index++) baseline.push((await call(`${url}/live`, 'GET')).ms);
  const statuses = new Map<number, number>();
  const open: Array<() => void> = [];
  for (let index = 0; index < count; index++) {
    const status = await new Promise<number>((resolve) => {
      const req = request(`${url}/train/${jobId}/events`, { headers: user }, (res) => {
        resolve(res.statusCode ?? 0);
        if (res.statusCode === 200) open.push(() => req.destroy());
        else res.resume();
      });
      req.on('error', () => resolve(0));
      req.end();
    });
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const loaded: number[] = [];
  for (let index = 0; index < 50; index++) {
    loaded.push((await call(`${url}/live`, 'GET')).ms);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  for (const close of open) close();
  await call(`${url}/train/${jobId}/stop`, 'POST', user);
  return {
    figure: 'sse-streams',
    requested: count,
    statuses: Object.fromEntries(statuses),
    liveP95BeforeMs: Math.round(percentile(baseline, 95) * 10) / 10,
    liveP95WithStreamsMs: Math.round(percentile(loaded, 95) * 10) / 10,
  };
}

async function countAudit(url: string): Promise<number> {
  let total = 0;
  let cursor: string | undefined;
  do {
    const page = await call(
      `${url}/audit/logs?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      'GET',
      { 'x-api-key': ADMIN_KEY },
    );
    const parsed = JSON.parse(page.body) as { items: unknown[]; nextCursor?: string; next_cursor?: string };
    total += parsed.items.length;
    cursor = parsed.next_cursor ?? parsed.nextCursor;
  } while (cursor);
  return total;
}

/** Median time of five runs of a filtered audit query (the admin's own events, one page). */
async function auditQueryMs(url: string): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < 5; run++) {
    times.push((await call(`${url}/audit/logs?actor=admin&limit=50`, 'GET', { 'x-api-key': ADMIN_KEY })).ms);
  }
  return Math.round(percentile(times, 50));
}

async function anonymousFlood(url: string) {
  const seconds = Number(process.env.SECURITY_FIGURES_FLOOD_SECONDS ?? 20);
  const before = await countAudit(url);
  const queryBefore = await auditQueryMs(url);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let requests = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      requests += 1;
      await call(`${url}/train`, 'POST', { 'content-type': 'application/json' }, '{}');
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const elapsed = (performance.now() - started) / 1000;
  // Writes of the last responses may still be in flight; let them land before counting.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = await countAudit(url);
  return {
    figure: 'anonymous-flood',
    requests,
    seconds: Math.round(elapsed * 10) / 10,
    auditEventsAdded: after - before,
    filteredAuditQueryMsBefore: queryBefore,
    filteredAuditQueryMsAfter: await auditQueryMs(url),
  };
}

async function main() {
  if (process.argv[2] === '--serve') return serve(process.argv[3] as string);
  const directory = await mkdtemp(join(tmpdir(), 'tunekit-security-figures-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve', directory],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const { url, pid } = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        const line = buffer.split('\n').find((entry) => entry.startsWith('{'));
        if (line) resolve(JSON.parse(line) as { url: string; pid: number });
      });
      child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const loadBefore = loadavg().map((value) => Math.round(value * 100) / 100);
    console.log(JSON.stringify(await preAuthBody(url, pid)));
    console.log(JSON.stringify(await sseStreams(url)));
    console.log(JSON.stringify(await anonymousFlood(url)));
    const loadAfter = loadavg().map((value) => Math.round(value * 100) / 100);
    console.log(
      JSON.stringify({ figure: 'load', loadAverageBefore: loadBefore, loadAverageAfter: loadAfter }),
    );
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(directory, { recursive: true, force: true });
    agent.destroy();
  }
}

await main();
