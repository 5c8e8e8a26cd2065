import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NewsClient } from '../support/clients.ts';
import { api, startServer, type TestServer } from '../support/server.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  await srv.close();
});

const envelope = { code: 'validation_failed', message: expect.any(String), details: [{ field: expect.any(String), message: expect.stringMatching(/^a topic is/) }] };

describe('one error envelope on every channel', () => {
  it('HTTP, SSE, a Socket.IO ack and a Socket.IO connect error answer the same bad topic alike', async () => {
    const http = await api(srv.url, 'GET', '/api/v1/events?topics=Not%20A%20Topic');
    expect(http.status).toBe(400);
    expect(http.body).toEqual({ error: envelope });

    const sse = await api(srv.url, 'GET', '/api/v1/stream?topics=Not%20A%20Topic');
    expect(sse.status).toBe(400);
    expect(sse.body).toEqual({ error: envelope });

    const client = await NewsClient.connect(srv.url);
    const ack = await client.request('subscribe', { topics: ['Not A Topic'] });
    expect(ack).toEqual({ ok: false, error: envelope });
    client.close();

    const socket = io(srv.url, { auth: { topics: ['Not A Topic'] }, transports: ['websocket'], reconnection: false, forceNew: true });
    try {
      const refused = await new Promise<{ data?: unknown }>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no connect_error within 5 s')), 5_000);
        socket.once('connect_error', (err) => {
          clearTimeout(t);
          resolve(err as { data?: unknown });
        });
      });
      expect(refused.data).toEqual(envelope);
    } finally {
      socket.close();
    }
    // The same message in each, field paths aside.
    expect(new Set([http.body.error.message, sse.body.error.message, ack.error.message]).size).toBe(1);
  });
});

describe('validation details in words', () => {
  it('a missing field is "required", a wrong type says what was expected, without zod\'s "Invalid input" prefix', async () => {
    const r = await api(srv.url, 'POST', '/api/v1/articles', { headline: 'Quake hits coast', urgency: 'high' }, srv.auth);
    expect(r.status).toBe(400);
    expect(r.body.error.details).toEqual(
      expect.arrayContaining([
        { field: 'topics', message: 'required (array)' },
        { field: 'urgency', message: 'expected number, received string' },
      ]),
    );
  });
});
