import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { superdeskSignature } from '../../src/ninjs/router.ts';
import { NewsClient } from '../support/clients.ts';
import { api, startServer } from '../support/server.ts';
import { sleep, waitFor } from '../support/wait.ts';

const SECRET = 'newsroom-shared-secret';
const doc = JSON.parse(readFileSync(new URL('../fixtures/ninjs/superdesk/embargoed.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('embargo scheduler on the injected clock', () => {
  it('releases an item embargoed for an hour when the server\'s clock reaches that hour, without waiting for it', async () => {
    let ahead = 0;
    const srv = await startServer({ NINJS_HMAC_SECRET: SECRET }, { clock: () => Date.now() + ahead });
    try {
      const reader = await NewsClient.connect(srv.url, { topics: ['agriculture'] });
      const at = new Date(Math.ceil((Date.now() + 3_600_000) / 1000) * 1000);
      const body = JSON.stringify({ ...doc, guid: 'embargo-clock-1', embargoed: at.toISOString().replace('.000Z', '+0000') });
      const r = await api(srv.url, 'POST', '/api/v1/ninjs', body, { 'x-superdesk-signature': superdeskSignature(SECRET, body) });
      expect([r.status, r.body.held?.releaseAt]).toEqual([202, at.toISOString()]);
      await sleep(1_200); // a couple of the scheduler's polls: still held
      expect(reader.events).toEqual([]);
      expect((await api(srv.url, 'GET', '/api/v1/articles/embargo-clock-1')).status).toBe(404);
      ahead = at.getTime() - Date.now() + 1_000;
      const e = await waitFor('the embargoed alert', () => reader.events[0], 10_000);
      expect(e.article.id).toBe('embargo-clock-1');
      reader.close();
    } finally {
      await srv.close();
    }
  });
});
