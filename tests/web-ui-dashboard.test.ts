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

const rows = Array.from({ length: 48 }, (_, index) => ({ text: `the cat sat on the mat, take ${index}. ` }));

/** Submits a training run owned by alice on the tiny model. */
async function submitRun(maxSteps: number): Promise<string> {
  const job = await kit.jobs.submit(
    TRAINING_JOB_KIND,
    {
      baseModel: model,
      dataset: { rows },
      validation: { rows: rows.slice(0, 8) },
      lora: { r: 4, alpha: 8 },
      hyperparameters: { maxSteps, batchSize: 4, maxLength: 32, learningRate: 0.01, evalEvery: 5 },
      threads: 1,
    },
    { owner: 'alice' },
  );
  return job.id;
}

beforeAll(async () => {
  if (!hasChromium) return;
  await mkdir(screenshots, { recursive: true });
  session = await startWebUi({
    prefix: 'tunekit-dashboard-',
    user: { username: 'alice', password: 'alice-password', roles: ['user'] },
  });
  ({ model, kit, pageUrl } = session);
}, 120_000);

afterAll(() => session?.close());

const openLoggedIn = () => openLoggedInAs(session);

/** The part of the browser's globals the pixel checks use (this file is type-checked without the DOM library). */
interface BrowserGlobals {
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

/** Painted pixels of a chart's canvas and a checksum of them (0, 0 for a blank canvas). */
function canvasPixels(page: Page, chart: string): Promise<{ painted: number; checksum: number }> {
  return page.evaluate((title) => {
    const canvas = (globalThis as unknown as BrowserGlobals).document.querySelector(
      `figure[data-chart="${title}"] canvas`,
    );
    if (!canvas) return { painted: 0, checksum: 0 };
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    let checksum = 0;
    for (let index = 0; index < data.length; index += 4) {
      if ((data[index + 3] as number) > 0) {
        painted += 1;
        checksum =
          (checksum * 31 + (data[index] as number) + 7 * (data[index + 1] as number) + 13 * index) %
          1_000_000_007;
      }
    }
    return { painted, checksum };
  }, chart);
}

/** Pixels of a chart's canvas close to a series colour (the lines, not the axes or the grid). */
function seriesPixels(page: Page, chart: string, colour: [number, number, number]): Promise<number> {
  return page.evaluate(
    ({ title, rgb }) => {
      const canvas = (globalThis as unknown as BrowserGlobals).document.querySelector(
        `figure[data-chart="${title}"] canvas`,
      );
      if (!canvas) return 0;
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let count = 0;
      for (let index = 0; index < data.length; index += 4) {
        const distance =
          Math.abs((data[index] as number) - rgb[0]) +
          Math.abs((data[index + 1] as number) - rgb[1]) +
          Math.abs((data[index + 2] as number) - rgb[2]);
        if ((data[index + 3] as number) > 200 && distance < 60) count += 1;
      }
      return count;
    },
    { title: chart, rgb: colour },
  );
}

/** The first two series colours of charts.js. */
const firstSeries: [number, number, number] = [0x1f, 0x5f, 0xbf];
const secondSeries: [number, number, number] = [0xd1, 0x49, 0x5b];

describe('dashboard charts in Chromium (uPlot, vendored)', () => {
  it.skipIf(!hasChromium)(
    `draws a live run's loss, learning rate and tokens/s, and compares runs on one chart${skipped}`,
    async () => {
      const finished = await submitRun(15);
      await kit.jobs.wait(finished);
      const live = await submitRun(100_000);
      const { page, problems } = await openLoggedIn();

      await page.goto(`${pageUrl}#/jobs/${live}`);
      await page.waitForSelector('figure[data-chart="Loss"] canvas');
      await expect
        .poll(async () => (await canvasPixels(page, 'Loss')).painted, { timeout: 60_000 })
        .toBeGreaterThan(500);
      await expect.poll(async () => (await canvasPixels(page, 'Learning rate')).painted).toBeGreaterThan(500);
      await expect
        .poll(async () => (await canvasPixels(page, 'Tokens per second')).painted)
        .toBeGreaterThan(500);
      // Lines, not only axes: the training loss (first colour) and, after an evaluation, the eval loss.
      await expect
        .poll(() => seriesPixels(page, 'Loss', firstSeries), { timeout: 60_000 })
        .toBeGreaterThan(100);
      await expect
        .poll(() => seriesPixels(page, 'Loss', secondSeries), { timeout: 60_000 })
        .toBeGreaterThan(50);
      // The chart redraws as the run progresses over SSE: its pixels change.
      const before = await canvasPixels(page, 'Loss');
      await expect
        .poll(async () => (await canvasPixels(page, 'Loss')).checksum, { timeout: 60_000, interval: 500 })
        .not.toBe(before.checksum);
      await page.screenshot({ path: join(screenshots, 'dashboard-run.png'), fullPage: true });
      await page.getByRole('button', { name: 'Stop' }).click();
      await expect
        .poll(() => page.locator('#job-status').textContent(), { timeout: 60_000 })
        .toBe('cancelled');

      // Runs list: filter, then compare the two runs on one chart.
      await page.goto(`${pageUrl}#/jobs`);
      await page.getByRole('checkbox', { name: `Compare ${finished}` }).check();
      await page.getByRole('checkbox', { name: `Compare ${live}` }).check();
      await page.getByRole('button', { name: 'Compare selected' }).click();
      await page.waitForSelector('figure[data-chart="Training loss by run"] canvas');
      await expect
        .poll(async () => (await canvasPixels(page, 'Training loss by run')).painted)
        .toBeGreaterThan(500);
      expect(await seriesPixels(page, 'Training loss by run', firstSeries)).toBeGreaterThan(50);
      expect(await seriesPixels(page, 'Training loss by run', secondSeries)).toBeGreaterThan(50);
      const legend = await page.locator('figure[data-chart="Training loss by run"] .u-legend').textContent();
      expect(legend).toContain(finished.slice(0, 8));
      expect(legend).toContain(live.slice(0, 8));
      await page.screenshot({ path: join(screenshots, 'dashboard-compare.png'), fullPage: true });
      await page.getByLabel('Status filter').selectOption('succeeded');
      await expect
        .poll(() => page.getByRole('table', { name: 'Training jobs' }).textContent())
        .not.toContain(live);
      expect(await page.getByRole('table', { name: 'Training jobs' }).textContent()).toContain(finished);

      for (const section of ['datasets', 'models']) {
        await page.goto(`${pageUrl}#/${section}`);
        await page.waitForSelector('main h2');
        await page.screenshot({ path: join(screenshots, `dashboard-${section}.png`), fullPage: true });
      }
      expect(problems).toEqual([]);
      await page.context().close();
    },
    240_000,
  );
});
