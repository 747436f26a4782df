import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TRAINING_JOB_KIND, type Tunekit } from '@tunekit/core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hasChromium,
  openLoggedIn as openLoggedInAs,
  skippedWithoutChromium as skipped,
  startWebUi,
  type WebUiSession,
} from './fixtures/web-ui-browser.js';

/** Screenshots for review and for docs/dashboard.md. */
const screenshots = join(import.meta.dirname, '..', 'docs', 'images');

let session: WebUiSession;
let model: string;
let kit: Tunekit;
let pageUrl: string;

/** What a hostile model description tries: script tags, event handlers, javascript: links. */
const hostileDescription = [
  'Summarizes **support tickets**.',
  '',
  '<script>window.injected = "script"</script>',
  '<img src="x" onerror="window.injected = \'img\'">',
  '[click me](javascript:window.injected="link")',
  '',
  '| metric | value |',
  '| --- | --- |',
  '| rouge-l | 0.41 |',
].join('\n');

beforeAll(async () => {
  if (!hasChromium) return;
  await mkdir(screenshots, { recursive: true });
  session = await startWebUi({
    prefix: 'tunekit-dashboard-pages-',
    user: { username: 'ada', password: 'ada-password', roles: ['admin'] },
  });
  ({ model, kit, pageUrl } = session);

  // A classification dataset: lengths from 10 to ~200 characters, three labels.
  const rows = Array.from({ length: 60 }, (_, index) => ({
    text: `ticket ${index} ${'about the invoice '.repeat(index % 11)}`.trim(),
    label: ['billing', 'bug', 'praise'][index % 7 === 0 ? 2 : index % 2] as string,
  }));
  await kit.datasets.register({ name: 'tickets', kind: 'training', source: { rows } }, { actor: 'ada' });

  // Three versions of a model with a hostile card, each evaluated (accuracy with bootstrap intervals).
  for (const [index, accuracy] of [0.55, 0.7, 0.85].entries()) {
    const version = await kit.registry.register({
      name: 'ticket-router',
      artifactUri: `artifact://models/ticket-router-${index + 1}`,
      baseModel: 'tiny-gpt2',
      task: 'text-classification',
      metrics: { validation_loss: 2 - index * 0.4 },
      description: hostileDescription,
      limitations: 'Trained on <b>synthetic</b> tickets only.',
    });
    const samples = Array.from({ length: 40 }, (_, sample) => ({
      text: `sample ${sample}`,
      label: sample / 40 < accuracy ? 'yes' : 'no',
    }));
    await kit.evaluators.evaluate({
      model: { id: version.id, predict: () => ({ label: 'yes' }) },
      dataset: { rows: samples },
      evaluators: ['accuracy'],
      bootstrapResamples: 200,
      seed: 7,
    });
  }

  // An A/B test whose treatment converts better: per-variant means, intervals, a winner.
  const test = await kit.abTests.create({
    name: 'router-v3-vs-v2',
    variants: [
      { modelId: 'ticket-router@2', weight: 1, name: 'control' },
      { modelId: 'ticket-router@3', weight: 1, name: 'treatment' },
    ],
    successMetric: { kind: 'binary', name: 'resolved' },
    minSamplesPerVariant: 20,
  });
  for (let unit = 0; unit < 400; unit += 1) {
    const unitId = `user-${unit}`;
    const { variant } = await kit.abTests.assign(test.id, unitId);
    const rate = variant === 'treatment' ? 0.6 : 0.3;
    await kit.abTests.record(test.id, unitId, { outcome: (unit * 0.618) % 1 < rate });
  }

  // Feedback with ratings and a correction.
  for (const [index, rating] of [5, 4, 4, 2, 5, 3].entries()) {
    await kit.feedback.record({
      modelId: 'ticket-router@3',
      userId: `user-${index}`,
      input: `ticket ${index}`,
      output: 'billing',
      rating,
      ...(index === 3 ? { correctedText: 'bug' } : {}),
    });
  }
}, 180_000);

afterAll(() => session?.close());

const openLoggedIn = () => openLoggedInAs(session);

/** The part of the browser's globals these checks use (this file is type-checked without the DOM library). */
interface BrowserGlobals {
  injected?: string;
  document: {
    querySelector(selector: string): {
      width: number;
      height: number;
      getContext(kind: '2d'): {
        getImageData(x: number, y: number, width: number, height: number): { data: Uint8ClampedArray };
      };
    } | null;
  };
}

/** Pixels of a chart's canvas close to the bar colour (charts.js fills bars with its first colour at 55 %). */
function barPixels(page: Page, chart: string): Promise<{ painted: number; bars: number; dark: number }> {
  return page.evaluate((title) => {
    const canvas = (globalThis as unknown as BrowserGlobals).document.querySelector(
      `figure[data-chart="${title}"] canvas`,
    );
    if (!canvas) return { painted: 0, bars: 0, dark: 0 };
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    let bars = 0;
    let dark = 0;
    for (let index = 0; index < data.length; index += 4) {
      const [red, green, blue, alpha] = [
        data[index],
        data[index + 1],
        data[index + 2],
        data[index + 3],
      ] as number[];
      if ((alpha as number) === 0) continue;
      painted += 1;
      // The bar fill: blue dominant (rgba(31, 95, 191, .55) over white).
      if ((blue as number) > 150 && (blue as number) - (red as number) > 60) bars += 1;
      // The error bars: near-black strokes (#222).
      if ((red as number) < 60 && (green as number) < 60 && (blue as number) < 60 && (alpha as number) > 200)
        dark += 1;
    }
    return { painted, bars, dark };
  }, chart);
}

describe('dashboard pages in Chromium', () => {
  it.skipIf(!hasChromium)(
    `dataset statistics, model evaluations over versions with a safely rendered card, A/B results, feedback${skipped}`,
    async () => {
      const { page, problems } = await openLoggedIn();

      // Dataset statistics: from the datasets list to the dataset page.
      await page.goto(`${pageUrl}#/datasets`);
      await page.getByRole('link', { name: 'tickets', exact: true }).click();
      await page.waitForSelector('figure[data-chart="Label counts"] canvas');
      expect(await page.locator('#dataset-stats').textContent()).toContain('60');
      const labels = await page.getByRole('table', { name: 'Labels' }).textContent();
      expect(labels).toMatch(/billing\s*2\d/);
      expect(labels).toContain('praise');
      expect((await barPixels(page, 'Length histogram (characters)')).bars).toBeGreaterThan(500);
      expect((await barPixels(page, 'Label counts')).bars).toBeGreaterThan(500);
      await page.screenshot({ path: join(screenshots, 'dashboard-dataset.png'), fullPage: true });

      // Model page: evaluations over versions (bars with bootstrap intervals) and the card.
      await page.goto(`${pageUrl}#/models`);
      await page.getByRole('link', { name: 'ticket-router', exact: true }).first().click();
      await page.waitForSelector('figure[data-chart="Evaluation by version"] canvas');
      const evaluationChart = await barPixels(page, 'Evaluation by version');
      expect(evaluationChart.bars).toBeGreaterThan(500);
      expect(evaluationChart.dark).toBeGreaterThan(20);
      const evaluations = await page.getByRole('table', { name: 'Evaluations' }).textContent();
      for (const version of ['ticket-router@1', 'ticket-router@2', 'ticket-router@3']) {
        expect(evaluations).toContain(version);
      }
      expect(evaluations).toContain('0.85');
      const card = page.getByRole('article', { name: 'Model card' });
      await expect.poll(() => card.locator('h1').textContent()).toBe('ticket-router (version 3)');
      expect(await card.locator('strong', { hasText: 'support tickets' }).count()).toBe(1);
      expect(await card.locator('table td', { hasText: 'rouge-l' }).count()).toBe(1);
      // The hostile markup is shown as text: no script, no image with a handler, no javascript: link.
      expect(await card.textContent()).toContain('<script>window.injected');
      expect(await card.textContent()).toContain('<b>synthetic</b>');
      expect(await card.locator('script, img, iframe, [onerror], b').count()).toBe(0);
      expect(await card.locator('a[href^="javascript"]').count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).injected)).toBeUndefined();
      await page.screenshot({ path: join(screenshots, 'dashboard-model.png'), fullPage: true });

      // A/B test: per-variant means with confidence intervals, and the winner from core's statistics.
      await page.goto(`${pageUrl}#/ab-tests`);
      await page.getByRole('link', { name: 'router-v3-vs-v2' }).click();
      await page.waitForSelector('#ab-winner');
      expect(await page.locator('#ab-winner').textContent()).toBe('Winner: treatment (significant)');
      const results = await kit.abTests.results((await kit.abTests.list()).items[0]?.id as string);
      const treatment = results.variants.find((variant) => variant.name === 'treatment');
      const variants = await page.getByRole('table', { name: 'Variants' }).textContent();
      expect(variants).toContain(String(Number(treatment?.mean?.toPrecision(4))));
      expect(variants).toContain(String(Number(treatment?.interval?.lower.toPrecision(4))));
      const abChart = await barPixels(page, 'Mean by variant (95 % confidence interval)');
      expect(abChart.bars).toBeGreaterThan(500);
      expect(abChart.dark).toBeGreaterThan(20);
      await page.screenshot({ path: join(screenshots, 'dashboard-ab-test.png'), fullPage: true });

      // Feedback: summary, rating distribution, latest records; record one from the form.
      await page.goto(`${pageUrl}#/feedback`);
      await page.waitForSelector('figure[data-chart="Ratings"] canvas');
      expect(await page.locator('#feedback-stats').textContent()).toMatch(/Feedback\s*6/);
      expect((await barPixels(page, 'Ratings')).bars).toBeGreaterThan(300);
      await page.getByLabel('Model').fill('ticket-router@3');
      await page.getByLabel('Output', { exact: true }).fill('praise');
      await page.getByLabel('Rating (1–5)').fill('1');
      await page.getByRole('button', { name: 'Record feedback' }).click();
      await expect.poll(() => page.locator('#feedback-stats').textContent()).toMatch(/Feedback\s*7/);
      expect((await kit.feedback.stats()).distribution['1']).toBe(1);
      await page.screenshot({ path: join(screenshots, 'dashboard-feedback.png'), fullPage: true });

      expect(problems).toEqual([]);
      await page.context().close();
    },
    240_000,
  );

  it.skipIf(!hasChromium)(
    `resumes a stopped run from the run page: it continues from its checkpoint and is followed live${skipped}`,
    async () => {
      const rows = Array.from({ length: 48 }, (_, index) => ({
        text: `the cat sat on the mat, take ${index}. `,
      }));
      const job = await kit.jobs.submit(
        TRAINING_JOB_KIND,
        {
          baseModel: model,
          dataset: { rows },
          lora: { r: 4, alpha: 8 },
          hyperparameters: {
            maxSteps: 100_000,
            batchSize: 4,
            maxLength: 32,
            learningRate: 0.01,
            evalEvery: 0,
          },
          threads: 1,
        },
        { owner: 'ada' },
      );
      const steps: number[] = [];
      const stopListening = kit.events.on('training:step', (event) => {
        if (event.jobId === job.id) steps.push(event.step);
      });
      const { page, problems } = await openLoggedIn();
      await page.goto(`${pageUrl}#/jobs/${job.id}`);
      await expect
        .poll(() => page.locator('#job-loss').textContent(), { timeout: 60_000 })
        .toMatch(/at step/);
      expect(await page.getByRole('button', { name: 'Resume' }).isVisible()).toBe(false);
      await page.getByRole('button', { name: 'Stop' }).click();
      await expect
        .poll(() => page.locator('#job-status').textContent(), { timeout: 60_000 })
        .toBe('cancelled');
      const stoppedAt = steps.length;
      expect(stoppedAt).toBeGreaterThan(0);

      await page.getByRole('button', { name: 'Resume' }).click();
      await expect.poll(() => page.locator('#job-status').textContent(), { timeout: 60_000 }).toBe('running');
      expect(await page.getByRole('button', { name: 'Resume' }).isVisible()).toBe(false);
      // The page follows the resumed run live: its loss line shows steps after the stop.
      await expect
        .poll(
          async () =>
            Number(/at step (\d+)/.exec((await page.locator('#job-loss').textContent()) ?? '')?.[1]),
          { timeout: 120_000 },
        )
        .toBeGreaterThan(stoppedAt + 2);
      // It continued from the checkpoint the stop left: the next step, not step 1 again.
      expect(steps.slice(0, stoppedAt + 3).join(' ')).toEqual(
        Array.from({ length: stoppedAt + 3 }, (_, index) => index + 1).join(' '),
      );
      expect((await kit.jobs.get(job.id))?.attempt).toBe(2);
      await page.screenshot({ path: join(screenshots, 'dashboard-resumed-run.png'), fullPage: true });
      await page.getByRole('button', { name: 'Stop' }).click();
      await expect
        .poll(() => page.locator('#job-status').textContent(), { timeout: 60_000 })
        .toBe('cancelled');
      stopListening();
      expect(problems).toEqual([]);
      await page.context().close();
    },
    240_000,
  );
});
