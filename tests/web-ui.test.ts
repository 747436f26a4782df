import type { TrainingJobInput, Tunekit } from '@tunekit/core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hasChromium,
  logIn as logInAs,
  openPage as openPageOf,
  skippedWithoutChromium as skipped,
  startWebUi,
  type WebUiSession,
} from './fixtures/web-ui-browser.js';

let session: WebUiSession;
let kit: Tunekit;

beforeAll(async () => {
  if (!hasChromium) return;
  session = await startWebUi({
    prefix: 'tunekit-web-ui-',
    user: { username: 'alice', password: 'alice-password', roles: ['user'] },
    models: (model) => ({ 'tiny-gpt2': { path: model, baseModel: 'tiny-gpt2', language: 'en', threads: 1 } }),
    defaultModel: 'tiny-gpt2',
  });
  ({ kit } = session);
}, 120_000);

afterAll(() => session?.close());

/** A fresh page (own sessionStorage) that records script errors and Content-Security-Policy violations. */
const openPage = () => openPageOf(session, { problems: /Content Security Policy|Refused to/i });

const logIn = (page: Page, password: string) => logInAs(page, session.user, password);

describe('web UI in Chromium against createServer (Fastify) on 127.0.0.1', () => {
  it.skipIf(!hasChromium)(`shows the server's error on a wrong password${skipped}`, async () => {
    const { page, problems } = await openPage();
    await logIn(page, 'not-the-password');
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('Wrong username or password (UNAUTHENTICATED)');
    expect(await page.getByRole('navigation').isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.context().close();
  });

  it.skipIf(!hasChromium)(
    `logs in, uploads a dataset, trains following progress live, stops a job and lists the model${skipped}`,
    async () => {
      const { page, problems } = await openPage();
      await logIn(page, 'alice-password');
      // Generous timeouts: on a loaded 2-core machine the first page actions take seconds.
      await expect
        .poll(() => page.locator('#who').textContent(), { timeout: 30_000 })
        .toBe('Signed in as alice');

      // Upload a small JSON-lines dataset through the file input.
      await page.getByRole('link', { name: 'Datasets' }).click();
      await page.getByLabel('Name').fill('cats');
      const lines = Array.from({ length: 24 }, (_, index) =>
        JSON.stringify({ text: `the cat sat on the mat, take ${index}. ` }),
      );
      await page.getByLabel(/^File/).setInputFiles({
        name: 'cats.jsonl',
        mimeType: 'application/x-ndjson',
        buffer: Buffer.from(`${lines.join('\n')}\n`),
      });
      await page.getByRole('button', { name: 'Upload' }).click();
      await expect
        .poll(() => page.getByRole('status').textContent(), { timeout: 30_000 })
        .toContain('Uploaded cats: 24 rows');
      await expect
        .poll(() => page.getByRole('table', { name: 'Datasets' }).textContent(), { timeout: 30_000 })
        .toContain('cats');

      // Submit a short LoRA training run on the uploaded version.
      await page.getByRole('link', { name: 'Train on it' }).click();
      await page.getByLabel('Output name').fill('cats-lora');
      await page.getByLabel('Max steps').fill('8');
      await page.getByLabel('Batch size').fill('4');
      await page.getByLabel('Learning rate').fill('0.01');
      await page.getByLabel('Max length (tokens)').fill('32');
      await page.getByLabel('LoRA rank (0: all weights)').fill('4');
      await page.getByLabel('Register as (optional model name)').fill('cats-lora');
      expect(await page.getByLabel('Base model').inputValue()).toBe('tiny-gpt2');
      await page.getByRole('button', { name: 'Start training' }).click();

      // The job view follows the job over SSE until it ends.
      await expect
        .poll(() => page.locator('#job-status').textContent(), { timeout: 120_000 })
        .toBe('succeeded');
      expect(await page.locator('#job-percent').textContent()).toBe('100 %');
      expect(await page.locator('#job-progress').getAttribute('value')).toBe('1');
      // Progress reached the page live: step and progress events (newest first) with values below 100 %.
      const events = await page.getByRole('list', { name: 'Events' }).locator('li').allTextContents();
      expect(events[0]).toMatch(/^succeeded /);
      expect(events.filter((event) => event.startsWith('step ')).length).toBeGreaterThan(1);
      const progress = events
        .filter((event) => event.startsWith('progress '))
        .map((event) => (JSON.parse(event.slice('progress '.length)) as { progress: number }).progress);
      expect(progress.some((value) => value > 0 && value < 1)).toBe(true);
      expect(progress[0]).toBe(1);
      expect(await page.locator('#job-loss').textContent()).toMatch(/at step 8$/);
      expect(await page.getByRole('button', { name: 'Stop' }).isDisabled()).toBe(true);

      // A long run, stopped from the page.
      await page.getByRole('link', { name: 'Train' }).click();
      await page.getByLabel('Output name').fill('long-run');
      await page.getByLabel('Max steps').fill('100000');
      await page.getByLabel('Max length (tokens)').fill('32');
      await page.getByRole('button', { name: 'Start training' }).click();
      await page.waitForSelector('#job-status');
      await page.getByRole('button', { name: 'Stop' }).click();
      await expect
        .poll(() => page.locator('#job-status').textContent(), { timeout: 30_000 })
        .toBe('cancelled');

      // The jobs list shows both jobs with their status.
      await page.getByRole('link', { name: 'Jobs' }).click();
      const jobs = page.getByRole('table', { name: 'Training jobs' });
      await expect
        .poll(() => jobs.locator('[data-status]').allTextContents())
        .toEqual(expect.arrayContaining(['succeeded', 'cancelled']));

      // The registry registered the first output as a draft (shortly after the job succeeded).
      await page.getByRole('link', { name: 'Models' }).click();
      await expect
        .poll(
          async () => {
            await page.reload();
            return page.getByRole('table', { name: 'Registered models' }).textContent({ timeout: 1000 });
          },
          { timeout: 20_000 },
        )
        .toMatch(/cats-lora.*draft.*tiny-gpt2/);

      expect(problems).toEqual([]);
      await page.context().close();
    },
    240_000,
  );

  it.skipIf(!hasChromium)(`trains with DPO on a feedback export picked in the form${skipped}`, async () => {
    for (let index = 0; index < 6; index++) {
      await kit.feedback.record({
        modelId: 'ui-assistant',
        userId: 'alice',
        input: `Ask for item ${index}:`,
        output: ' give it now.',
        correctedText: ' could you please pass it?',
        type: 'correction',
        tags: [],
      });
    }
    await kit.feedback.export({ as: 'preference', name: 'ui-prefs', filter: { modelId: 'ui-assistant' } });
    const { page, problems } = await openPage();
    await logIn(page, 'alice-password');
    await page.getByRole('link', { name: 'Train' }).click();
    await page.getByLabel('Dataset version').selectOption({ label: 'ui-prefs (feedback)' });
    await page.getByLabel('Output name').fill('polite-dpo');
    await page.getByLabel('Max steps').fill('3');
    await page.getByLabel('Batch size').fill('2');
    await page.getByLabel('Learning rate').fill('0.002');
    await page.getByLabel('Max length (tokens)').fill('48');
    await page.getByLabel('LoRA rank (0: all weights)').fill('4');
    await page.getByLabel('DPO β (optional: preference pairs)').fill('0.1');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect
      .poll(() => page.locator('#job-status').textContent(), { timeout: 120_000 })
      .toBe('succeeded');
    const job = (await kit.jobs.list({ kind: 'train' })).items.find(
      (candidate) => (candidate.input as TrainingJobInput).outputName === 'polite-dpo',
    );
    expect(job).toBeDefined();
    expect(((job as { input: unknown }).input as TrainingJobInput).dpo).toEqual({ beta: 0.1 });
    expect(problems).toEqual([]);
    await page.context().close();
  });
});
