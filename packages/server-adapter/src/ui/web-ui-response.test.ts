import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTunekit, type Tunekit } from '@tunekit/core';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { tunekitExpress } from '../express/tunekit-express.js';
import { tunekitFastify } from '../fastify/tunekit-fastify.js';
import { createServer } from '../server/create-server.js';
import { WEB_UI_CONTENT_SECURITY_POLICY, webUiFileNames, webUiResponse } from './web-ui-response.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function newKit(): Promise<Tunekit> {
  const kit = await createTunekit({});
  cleanups.push(() => kit.close());
  return kit;
}

/** Checks what every adapter must answer under `base` (the mount's URL, without a trailing slash). */
async function expectServedUi(base: string) {
  const redirect = await fetch(`${base}/ui`, { redirect: 'manual' });
  expect(redirect.status).toBe(301);
  expect(new URL(redirect.headers.get('location') ?? '', `${base}/ui`).href).toBe(`${base}/ui/`);

  const page = await fetch(`${base}/ui/`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(page.headers.get('content-security-policy')).toBe(WEB_UI_CONTENT_SECURITY_POLICY);
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  expect(page.headers.get('cache-control')).toBe('no-cache');
  expect(await page.text()).toContain('<script type="module" src="app.js"></script>');

  const script = await fetch(`${base}/ui/app.js`);
  expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  const etag = script.headers.get('etag') as string;
  expect(etag).toMatch(/^"[\w-]{22}"$/);
  const revalidated = await fetch(`${base}/ui/app.js`, { headers: { 'if-none-match': etag } });
  expect(revalidated.status).toBe(304);
  expect(await revalidated.text()).toBe('');

  expect((await fetch(`${base}/ui/style.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
  const missing = await fetch(`${base}/ui/missing.js`);
  expect(missing.status).toBe(404);
  expect(missing.headers.get('content-type')).toContain('application/problem+json');
}

describe('web UI files', () => {
  it('are the page, its modules, its stylesheet and the vendored uPlot and markdown-it, with no inline script or style', () => {
    expect(webUiFileNames().sort()).toEqual([
      'api.js',
      'app.js',
      'charts.js',
      'dom.js',
      'index.html',
      'insight-views.js',
      'markdown-it.js',
      'markdown.js',
      'style.css',
      'uplot.css',
      'uplot.js',
    ]);
    const page = webUiResponse('')?.body as string;
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(page).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i);
    expect(webUiResponse('../package.json')).toBeUndefined();
    expect(WEB_UI_CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(WEB_UI_CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
  });

  it('are served by createServer at /ui/ and left out with ui: false', async () => {
    const kit = await newKit();
    const server = await createServer(kit);
    cleanups.push(() => server.close());
    await expectServedUi(await server.listen());

    const without = await createServer(kit, { ui: false });
    cleanups.push(() => without.close());
    expect((await fetch(`${await without.listen()}/ui/`)).status).toBe(404);
  });

  it('are served by the Fastify plugin under its prefix', async () => {
    const kit = await newKit();
    const app = Fastify();
    await app.register(tunekitFastify, { kit, prefix: '/api' });
    cleanups.push(() => app.close());
    await app.listen({ host: '127.0.0.1', port: 0 });
    await expectServedUi(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api`);
  });

  it('are served by the Express router under its mount, and left to the host app with ui: false', async () => {
    const kit = await newKit();
    const app = express();
    const router = tunekitExpress(kit);
    app.use('/api', router);
    const without = tunekitExpress(kit, { ui: false, notFound: false });
    app.use('/plain', without);
    app.get('/plain/ui/', (_request, response) => {
      response.send('host page');
    });
    const server: Server = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await router.tunekit.close();
      await without.tunekit.close();
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await expectServedUi(`${base}/api`);
    expect(await (await fetch(`${base}/plain/ui/`)).text()).toBe('host page');
  });
});
