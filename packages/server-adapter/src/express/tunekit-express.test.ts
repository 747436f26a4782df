import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTunekit } from '@tunekit/core';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { tunekitExpress } from './tunekit-express.js';

describe('tunekitExpress mounted at the root of a host app', () => {
  it('passes unmatched paths on to the host routes when notFound is false', async () => {
    const kit = await createTunekit({});
    const app = express();
    const router = tunekitExpress(kit, { notFound: false });
    app.use(router);
    app.get('/host-route', (_request, response) => {
      response.json({ host: true });
    });
    const server: Server = await new Promise((resolve) => {
      const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${base}/host-route`)).json()).toEqual({ host: true });
      expect(await (await fetch(`${base}/live`)).json()).toEqual({ status: 'alive' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await router.tunekit.close();
      await kit.close();
    }
  });
});
