import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createS3ArtifactStore } from '@tunekit/core';
import {
  findPostgresBinaries,
  findRedisServer,
  findS3Server,
  POSTGRES_SERVER_MISSING_REASON,
  type PostgresTestServer,
  REDIS_SERVER_MISSING_REASON,
  type RedisTestServer,
  S3_SERVER_MISSING_REASON,
  type S3TestServer,
  startPostgresServer,
  startRedisServer,
  startS3Server,
} from '@tunekit/core/testing';
import { type ClientServerSentEvent, createTunekitClient } from '@tunekit/server-adapter/client';
import { createTinyGpt2 } from '@tunekit/trainer/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The failure that matters: a worker dies in the middle of a training. Real servers (redis-server or
// PostgreSQL, s3rver), a `tunekit serve` process as the API (jobs are submitted and followed over
// HTTP and Server-Sent Events) and two `tunekit worker` processes, one of which is SIGKILLed once
// the checkpoint of the training it runs is published in S3. The process layout of deploy/compose.yaml.
const root = join(import.meta.dirname, '..');
// The `tunekit` command as npm installs it (bin/tunekit.js over the built dist/, as in the Docker image).
const cli = join(root, 'packages', 'server-adapter', 'bin', 'tunekit.js');
const missingS3 = findS3Server() === undefined ? S3_SERVER_MISSING_REASON : undefined;
const engines = [
  { engine: 'bullmq', missing: findRedisServer() === undefined ? REDIS_SERVER_MISSING_REASON : missingS3 },
  {
    engine: 'pg-boss',
    missing: findPostgresBinaries() === undefined ? POSTGRES_SERVER_MISSING_REASON : missingS3,
  },
] as const;
for (const { engine, missing } of engines) {
  if (missing !== undefined) console.warn(`scale-out kill test on ${engine} skipped: ${missing}`);
}

/**
 * Six trainings on two workers (the issue's layout): both workers busy when one dies, four jobs
 * waiting in the queue. Each job is cheap (a 2-layer width-64 GPT-2, 12 steps of 4 × 48 tokens) and
 * checkpoints every 2 steps, so that the kill falls after a published checkpoint with steps left.
 */
const JOBS = 6;
const STEPS = 12;
const CHECKPOINT_EVERY = 2;
const MODEL = { n_positions: 64, n_embd: 64, n_layer: 2, n_head: 2 };
const BATCH = 4;
const MAX_LENGTH = 48;
const ADMIN = { username: 'admin', password: 'scale-out-admin-password' };
const JWT_SECRET = 'scale-out-test-secret-of-at-least-32-chars';

let directory: string;
let model: string;
let redis: RedisTestServer | undefined;
let postgres: PostgresTestServer | undefined;
let s3: S3TestServer | undefined;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'tunekit-scale-out-'));
  [model, redis, postgres, s3] = await Promise.all([
    createTinyGpt2(join(directory, 'model'), MODEL),
    startRedisServer(),
    startPostgresServer(),
    startS3Server(),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([redis?.stop(), postgres?.stop(), s3?.stop()]);
  await rm(directory, { recursive: true, force: true });
});

interface CliProcess {
  child: ChildProcess;
  output: () => string;
}

/** Runs the `tunekit` CLI and waits until its output matches `ready`. */
async function startCli(args: string[], env: Record<string, string>, ready: RegExp) {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (data) => {
    output += data.toString();
  });
  child.stderr?.on('data', (data) => {
    output += data.toString();
  });
  const running: CliProcess = { child, output: () => output };
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && child.exitCode === null) {
    const match = ready.exec(output);
    if (match) return { ...running, match };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`tunekit ${args[0]} did not start: ${output.slice(-3000)}`);
}

interface WorkerProcess extends CliProcess {
  health: string;
  runnerId: string;
}

interface WorkerHealth {
  runnerId: string;
  jobs: string[];
}

async function startWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const started = await startCli(
    ['worker', '--concurrency', '1', '--health-port', '0', '--log-level', 'warn'],
    env,
    /health on (http:\/\/\S+)/,
  );
  const health = started.match[1] as string;
  const { runnerId } = (await (await fetch(`${health}/health`)).json()) as WorkerHealth;
  return { child: started.child, output: started.output, health, runnerId };
}

const stopped = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });

/**
 * The steps reported by a job's SSE `progress` events, of one attempt when given: each progress
 * event names the attempt of the run that reported it, so late progress of a killed run (relayed
 * through the engine, it may reach the API after the kill) is never taken for the resumed run's.
 */
const stepsOf = (events: ClientServerSentEvent[], attempt?: number) =>
  events
    .filter(
      (event) =>
        event.event === 'progress' &&
        (attempt === undefined || (event.data as { attempt?: number }).attempt === attempt),
    )
    .map((event) => (event.data as { metrics?: { step?: number } }).metrics?.step)
    .filter((step): step is number => typeof step === 'number');

for (const { engine, missing } of engines) {
  describe.skipIf(missing !== undefined)(`scale-out on ${engine}`, () => {
    it(`${JOBS} trainings over a tunekit serve API and 2 workers, one SIGKILLed after its checkpoint is in S3: the other resumes it, SSE follows it, one more is stopped and resumed over HTTP, each job succeeds once${missing ? ` (skipped: ${missing})` : ''}`, async () => {
      const began = Date.now();
      const tag = `${engine.replace('-', '_')}_${process.pid}`;
      const storageUrl =
        engine === 'bullmq' ? (redis as RedisTestServer).url : (postgres as PostgresTestServer).uri;
      const bucket = s3 as S3TestServer;
      const env = {
        TUNEKIT_STORAGE_URL: storageUrl,
        TUNEKIT_QUEUE_ENGINE: engine,
        TUNEKIT_S3_BUCKET: bucket.bucket,
        TUNEKIT_S3_ENDPOINT: bucket.endpoint,
        TUNEKIT_S3_PREFIX: `${tag}/`,
        AWS_ACCESS_KEY_ID: bucket.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: bucket.credentials.secretAccessKey,
        TUNEKIT_JWT_SECRET: JWT_SECRET,
        TUNEKIT_LEASE_MS: '12000',
        // Workers read a running job's record this often: a stop reaches the training within it.
        TUNEKIT_POLL_INTERVAL_MS: '200',
      };
      // The test reads the shared bucket directly only to see when a checkpoint is published.
      const artifacts = createS3ArtifactStore({
        bucket: bucket.bucket,
        endpoint: bucket.endpoint,
        prefix: `${tag}/`,
        credentials: { ...bucket.credentials },
      });
      const config = join(directory, `serve-${engine}.json`);
      await writeFile(
        config,
        JSON.stringify({
          dataDirectory: join(directory, `api-${engine}`),
          port: 0,
          registry: false,
          server: {
            users: [{ ...ADMIN, roles: ['admin'] }],
            // One admin submits every job: lift the per-user quota of active jobs (5 by default).
            limits: { activeJobs: { perUser: JOBS } },
            models: { 'tiny-gpt2': { path: model, baseModel: 'tiny-gpt2', threads: 1 } },
          },
        }),
      );
      const processes: CliProcess[] = [];
      const streams = new AbortController();
      try {
        const [api, ...workers] = await Promise.all([
          startCli(['serve', '--config', config, '--log-level', 'warn'], env, /listening on (http:\/\/\S+)/),
          startWorker(env),
          startWorker(env),
        ]);
        processes.push(api, ...workers);
        const upAt = Date.now() - began;
        const client = createTunekitClient({ baseUrl: api.match[1] as string });
        await client.login(ADMIN.username, ADMIN.password);
        const rows = Array.from({ length: 16 }, (_, index) =>
          JSON.stringify({ text: `to be or not to be, take ${index}: that is the question. `.repeat(3) }),
        );
        const dataset = (await client.uploadDataset(
          { name: `lines-${engine}`, kind: 'training' },
          `${rows.join('\n')}\n`,
          'application/x-ndjson',
        )) as { id: string };
        const jobIds: string[] = [];
        for (let index = 0; index < JOBS; index++) {
          const { data, response } = await client.POST('/train', {
            body: {
              base_model: 'tiny-gpt2',
              dataset_version_id: dataset.id,
              output_name: `lines-${index}`,
              lora: { r: 4, alpha: 8 },
              threads: 1,
              hyperparameters: {
                max_steps: STEPS,
                batch_size: BATCH,
                max_length: MAX_LENGTH,
                seed: 7,
                checkpoint_every: CHECKPOINT_EVERY,
              },
            },
          });
          expect(response.status).toBe(202);
          jobIds.push(data?.job_id as string);
        }
        // One SSE request per job against the API, open from submit to the job's end.
        const events = new Map<string, ClientServerSentEvent[]>(jobIds.map((id) => [id, []]));
        // When each event arrived (ms since the test began), for the timing line.
        const arrivals = new Map<string, number[]>(jobIds.map((id) => [id, []]));
        const followed = jobIds.map(async (id) => {
          try {
            for await (const event of client.trainingEvents(id, { signal: streams.signal })) {
              events.get(id)?.push(event);
              arrivals.get(id)?.push(Date.now() - began);
            }
          } catch (error) {
            if (!streams.signal.aborted) throw error;
          }
        });
        for (const following of followed) following.catch(() => undefined);

        /**
         * A job's checkpoints in S3: the steps of the complete ones (the manifest, trainer_state.json,
         * is published last) and the newest step with any file (a checkpoint being uploaded).
         */
        const checkpointsOf = async (jobId: string) => {
          const uris = (await artifacts.list(`artifact://jobs/${jobId}/checkpoints/`)).map(
            (info) => info.uri,
          );
          const stepOf = (pattern: RegExp) =>
            uris.flatMap((uri) => {
              const step = pattern.exec(uri)?.[1];
              return step === undefined ? [] : [Number(step)];
            });
          const complete = stepOf(/step-(\d+)\/trainer_state\.json$/);
          return { complete, newest: Math.max(0, ...stepOf(/step-(\d+)\//)) };
        };
        const publishedSteps = async (jobId: string) => (await checkpointsOf(jobId)).complete;
        // Kill -9 the worker of a running job once a complete checkpoint of it is in S3 (its
        // manifest, trainer_state.json, is published last) and the job is past that step.
        let victim: { jobId: string; worker: WorkerProcess; checkpointStep: number; eventsBefore: number };
        const deadline = Date.now() + 90_000;
        const looked: string[] = [];
        let killedAt = 0;
        let inStoreAfterKill: { complete: number[]; newest: number } | undefined;
        search: while (true) {
          if (Date.now() > deadline) {
            const seen = [...events].map(
              ([id, list]) => `${id}: ${list.map((event) => event.event).join(',')}`,
            );
            const listed = await artifacts.list('artifact://jobs/');
            throw new Error(
              `no job reached a published checkpoint in 90 s\n${looked
                .filter((line, index) => index < 4 || !line.includes('"jobs":[]'))
                .slice(-40)
                .join('\n')}\n${seen.join('\n')}\nS3: ${listed.map((info) => info.uri).join(' ')}\n` +
                processes.map((process) => process.output().slice(-1500)).join('\n---\n'),
            );
          }
          for (const worker of workers) {
            const health = (await (await fetch(`${worker.health}/health`)).json()) as WorkerHealth;
            looked.push(`${Date.now() - began} ${worker.runnerId.slice(0, 4)} ${JSON.stringify(health)}`);
            for (const jobId of health.jobs) {
              const { complete: saved, newest } = await checkpointsOf(jobId);
              const last = stepsOf(events.get(jobId) ?? []).at(-1) ?? 0;
              looked.push(
                `${Date.now() - began} ${jobId.slice(0, 4)} saved ${saved} newest ${newest} last ${last}`,
              );
              // A published checkpoint with at least two checkpoint intervals left after it, and no
              // newer one being uploaded. The trainer runs ahead of the uploads (it may even have
              // finished), and the worker uploads the newest checkpoint it has, often the final one
              // (it skips those deleted meanwhile): killed while that upload was in flight, the final
              // checkpoint could still complete in S3, leaving the resumed run nothing to run.
              if (saved.length === 0 || Math.max(...saved) > STEPS - 2 * CHECKPOINT_EVERY) continue;
              if (newest > Math.max(...saved)) continue;
              worker.child.kill('SIGKILL');
              await stopped(worker.child);
              killedAt = Date.now() - began;
              // What the dead worker's last requests still published (read before any redelivery).
              await new Promise((resolve) => setTimeout(resolve, 500));
              inStoreAfterKill = await checkpointsOf(jobId);
              victim = {
                jobId,
                worker,
                checkpointStep: Math.max(...saved),
                eventsBefore: (events.get(jobId) ?? []).length,
              };
              break search;
            }
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const survivor = workers.find((worker) => worker !== victim.worker) as WorkerProcess;

        // Where the time goes: process start, then per job its first and last event (s since start).
        const seconds = (ms: number) => (ms / 1000).toFixed(1);
        const timing = () => {
          const timeline = jobIds.map((id) => {
            const times = arrivals.get(id) ?? [];
            const steps = (events.get(id) ?? []).flatMap((event, index) =>
              event.event === 'progress' ? [times[index] as number] : [],
            );
            return `${id.slice(0, 4)}${id === victim.jobId ? '(killed)' : ''} ${seconds(steps[0] ?? 0)}-${seconds(times.at(-1) ?? 0)}`;
          });
          return `killed at checkpoint step ${victim.checkpointStep} (${seconds(killedAt)} s), ${seconds(Date.now() - began)} s; processes up ${seconds(upAt)} s; jobs ${timeline.join(', ')}`;
        };

        // Resume over HTTP on the engine: stop a job that the survivor runs as soon as its first steps
        // show (POST /train/{id}/stop: the trainer saves a checkpoint where it stops), then
        // POST /train/{id}/resume: a new engine job for the same job, which continues from there.
        let stoppedRun: { jobId: string; checkpointStep: number; eventsBefore: number } | undefined;
        const stopDeadline = Date.now() + 90_000;
        const finishedBeforeStop: string[] = [];
        stopping: while (Date.now() < stopDeadline) {
          const health = (await (await fetch(`${survivor.health}/health`)).json()) as WorkerHealth;
          for (const jobId of health.jobs) {
            if (jobId === victim.jobId || finishedBeforeStop.includes(jobId)) continue;
            const last = stepsOf(events.get(jobId) ?? []).at(-1) ?? 0;
            if (last < 1 || last > STEPS - 2 * CHECKPOINT_EVERY) continue;
            const saved = await publishedSteps(jobId);
            const { response } = await client.POST('/train/{id}/stop', { params: { path: { id: jobId } } });
            // The progress the stream showed trails the run: it may have finished meanwhile (409
            // JOB_NOT_CANCELLABLE), and then another job of the survivor is stopped instead.
            if (response.status === 409) {
              finishedBeforeStop.push(jobId);
              continue;
            }
            expect(response.status).toBe(200);
            stoppedRun = { jobId, checkpointStep: Math.max(0, ...saved), eventsBefore: 0 };
            break stopping;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        if (stoppedRun === undefined)
          throw new Error(`no job of the survivor was seen running to stop it\n${timing()}`);
        const stoppedId = stoppedRun.jobId;
        // Its stream ends on `cancelled`; then it resumes, followed by a new stream.
        await followed[jobIds.indexOf(stoppedId)];
        expect(events.get(stoppedId)?.at(-1)?.data).toMatchObject({ status: 'cancelled' });
        stoppedRun.eventsBefore = events.get(stoppedId)?.length ?? 0;
        const { data: resumed, response: resumedResponse } = await client.POST('/train/{id}/resume', {
          params: { path: { id: stoppedId } },
        });
        expect(resumedResponse.status, JSON.stringify(resumed)).toBe(200);
        expect(resumed).toMatchObject({ status: 'queued' });
        const refollowed = (async () => {
          try {
            for await (const event of client.trainingEvents(stoppedId, { signal: streams.signal })) {
              events.get(stoppedId)?.push(event);
              arrivals.get(stoppedId)?.push(Date.now() - began);
            }
          } catch (error) {
            if (!streams.signal.aborted) throw error;
          }
        })();
        refollowed.catch(() => undefined);
        followed.push(refollowed);

        // Every SSE stream ends on its job's final status; each job succeeded, once.
        await Promise.race([
          Promise.all(followed),
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('the jobs did not finish in 150 s')), 150_000),
          ),
        ]);
        const finals = jobIds.map((id) => {
          const final = events.get(id)?.at(-1);
          expect(final?.event, `the stream of ${id} ends on its status`).toBe('status');
          return final?.data as { id: string; status: string; attempt: number };
        });
        expect(finals.map((job) => job.status)).toEqual(Array(JOBS).fill('succeeded'));
        const { data: listed } = await client.GET('/train', { params: { query: { limit: 100 } } });
        expect(listed?.items).toHaveLength(JOBS);
        const history = (id: string) =>
          (events.get(id) ?? [])
            .map((event) =>
              event.event === 'status'
                ? `status:${(event.data as { status: string }).status}#${(event.data as { attempt: number }).attempt}`
                : `${event.event}:${(event.data as { metrics?: { step?: number } }).metrics?.step ?? ''}@${(event.data as { attempt?: number }).attempt ?? '?'}`,
            )
            .join(' ');
        const logs = () =>
          `killed ${victim.jobId} at ${victim.eventsBefore} events\n${jobIds.map((id) => `${id}: ${history(id)}`).join('\n')}\n${processes
            .map((process) => process.output().slice(-4000))
            .join('\n---\n')}`;
        for (const job of finals) {
          expect(job.attempt, logs()).toBe(job.id === victim.jobId || job.id === stoppedId ? 2 : 1);
        }

        // The killed job's stream followed it across workers: steps of attempt 1 from the first
        // worker (some may reach the API only after the kill), then steps of attempt 2 from the
        // survivor, starting after the checkpoint.
        const killed = events.get(victim.jobId) ?? [];
        const before = stepsOf(killed, 1);
        const after = stepsOf(killed, 2);
        const diagnosis = `${JSON.stringify({ checkpointStep: victim.checkpointStep, inStoreAfterKill, eventsBeforeKill: victim.eventsBefore, before, after })}\n${timing()}\n${history(victim.jobId)}`;
        // (Attempt 1 may have run further than the checkpoint, even to its last step: the trainer runs
        // ahead of the uploads, and the kill lands while the worker still publishes; the resumed run
        // redoes those steps from the checkpoint the store held.)
        expect(before.length, diagnosis).toBeGreaterThan(0);
        expect(after.length, diagnosis).toBeGreaterThan(0);
        expect(after[0], diagnosis).toBeGreaterThan(1);
        expect(after[0], diagnosis).toBeGreaterThanOrEqual(victim.checkpointStep + 1);
        expect(after.at(-1), diagnosis).toBe(STEPS);
        // The survivor ran the second attempt: it is the only worker left.
        expect(survivor.child.exitCode).toBeNull();

        // Same loss curve as an uninterrupted run of the same input (all jobs are the same input).
        const lastCheckpoint = `step-${String(STEPS).padStart(6, '0')}`;
        const lossCurve = async (jobId: string) => {
          const uri = `artifact://jobs/${jobId}/checkpoints/${lastCheckpoint}/trainer_state.json`;
          return (JSON.parse(Buffer.from(await artifacts.get(uri)).toString()) as { lossHistory: number[] })
            .lossHistory;
        };
        const reference = await lossCurve(
          jobIds.find((id) => id !== victim.jobId && id !== stoppedId) as string,
        );
        for (const jobId of [victim.jobId, stoppedId]) {
          const recovered = await lossCurve(jobId);
          expect(recovered).toHaveLength(STEPS);
          for (const [index, loss] of recovered.entries())
            expect(loss).toBeCloseTo(reference[index] as number, 5);
        }
        // The stopped job's resumed run continued where the first run stopped (the trainer saves a
        // checkpoint when it is stopped, at a step its SSE stream, closed by the `cancelled` status,
        // may not have shown): after the checkpoint seen before the stop, up to the end. A first run
        // that finished every step before it saw the stop leaves its final checkpoint, and the
        // resumed run has no step left (its loss curve was checked above either way).
        const firstSteps = stepsOf(events.get(stoppedId) ?? [], 1);
        const resumedSteps = stepsOf(events.get(stoppedId) ?? [], 2);
        const stopDiagnosis = `${JSON.stringify({ ...stoppedRun, firstSteps, resumedSteps })}\n${history(stoppedId)}`;
        if (resumedSteps.length > 0) {
          expect(resumedSteps[0], stopDiagnosis).toBeGreaterThan(1);
          expect(resumedSteps[0], stopDiagnosis).toBeGreaterThanOrEqual(stoppedRun.checkpointStep + 1);
          expect(resumedSteps.at(-1), stopDiagnosis).toBe(STEPS);
        }
        // Nothing lost or duplicated in the artifact store: each job's last checkpoint, once.
        for (const jobId of jobIds) {
          const files = (await artifacts.list(`artifact://jobs/${jobId}/`)).map((info) => info.uri);
          expect(new Set(files).size).toBe(files.length);
          expect(files.filter((uri) => uri.includes(`${lastCheckpoint}/trainer_state.json`))).toHaveLength(1);
        }
        console.info(
          `scale-out on ${engine}: ${JOBS} jobs of ${STEPS} steps, resumed at step ${after[0]}; ${stoppedId.slice(0, 4)} stopped after step ${firstSteps.at(-1)} and resumed over HTTP at step ${resumedSteps[0] ?? 'none (it had finished)'}; ${timing()}`,
        );
      } finally {
        streams.abort();
        for (const { child } of processes) {
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            await stopped(child);
          }
        }
        artifacts.close();
      }
    }, 240_000);
  });
}
