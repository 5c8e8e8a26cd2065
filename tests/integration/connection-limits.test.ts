import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { api, startServer, type TestServer } from '../support/server.ts';

// An idle connection costs the node memory for as long as the client keeps it: one client address may hold
// MAX_CONNECTIONS_PER_ADDRESS of them (Socket.IO and SSE together), a node MAX_CONNECTIONS.

let srv: TestServer | null = null;
const open: Array<{ close(): void }> = [];
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await srv?.close();
  srv = null;
});

/** An SSE stream: resolves with its status and, for an error, the JSON body. */
function stream(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(`${url}/api/v1/stream?topics=world`, { headers: { Accept: 'text/event-stream', ...headers } }, (res: IncomingMessage) => {
      if (res.statusCode === 200) {
        open.push({ close: () => req.destroy() });
        // Counted once its first bytes arrive (the route has run).
        res.once('data', () => resolve({ status: 200, body: null }));
        return;
      }
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text), retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.setTimeout(5_000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

/** A Socket.IO client over WebSocket only: resolves once connected, rejects with the connect error. */
function socket(url: string, headers: Record<string, string> = {}): Promise<Socket> {
  const s = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: headers, auth: { topics: ['world'] } });
  open.push(s);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('neither connect nor connect_error within 5 s')), 5_000);
    s.once('connect', () => (clearTimeout(t), resolve(s)));
    s.once('connect_error', (err) => (clearTimeout(t), reject(err)));
  });
}

/** A raw Engine.IO WebSocket that never joins a namespace (what a hostile client could hold open). */
function rawEngine(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  open.push({ close: () => ws.terminate() });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no open packet within 5 s')), 5_000);
    ws.once('message', () => (clearTimeout(t), resolve(ws)));
    ws.once('error', (err) => (clearTimeout(t), reject(err)));
  });
}

async function refusedCount(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^newspush_connections_refused_total\{channel="(\w+)",reason="(\w+)"\} (\d+)/gm)) out[`${m[1]}/${m[2]}`] = Number(m[3]);
  return out;
}

const portOf = (url: string) => Number(new URL(url).port);

describe('MAX_CONNECTIONS_PER_ADDRESS', () => {
  it('lets one address hold that many Socket.IO and SSE connections together, refuses more, and frees a place on close', async () => {
    srv = await startServer({ MAX_CONNECTIONS_PER_ADDRESS: '3' });
    const first = await socket(srv.url);
    await stream(srv.url);
    await rawEngine(portOf(srv.url)); // counts though it never sent CONNECT

    const sse = await stream(srv.url);
    expect(sse.status).toBe(429);
    expect(sse.body.error).toMatchObject({ code: 'rate_limited', retryAfter: 30 });
    expect(sse.body.error.message).toMatch(/MAX_CONNECTIONS_PER_ADDRESS/);
    expect(sse.retryAfter).toBe('30');

    await expect(socket(srv.url)).rejects.toThrow();
    // Polling clients are refused at Engine.IO's handshake with the same words.
    const polling = await fetch(`${srv.url}/socket.io/?EIO=4&transport=polling`);
    expect(polling.status).toBe(403);
    expect((await polling.json()).message).toMatch(/MAX_CONNECTIONS_PER_ADDRESS/);
    expect(await refusedCount(srv.url)).toEqual({ 'sse/address': 1, 'socketio/address': 2 });

    first.close();
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        await socket(srv.url);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    // Publishing and reading history are not connections: a full address still does both.
    expect((await api(srv.url, 'POST', '/api/v1/articles', { headline: 'Still open for writes', topics: ['world'] }, srv.auth)).status).toBe(201);
    expect((await api(srv.url, 'GET', '/api/v1/events?topics=world')).status).toBe(200);
  });

  it('counts each client address apart behind a trusted proxy', async () => {
    srv = await startServer({ MAX_CONNECTIONS_PER_ADDRESS: '1', TRUST_PROXY: '1' });
    await stream(srv.url, { 'X-Forwarded-For': '198.51.100.1' });
    await socket(srv.url, { 'X-Forwarded-For': '198.51.100.2' });
    expect((await stream(srv.url, { 'X-Forwarded-For': '198.51.100.2' })).status).toBe(429);
    await expect(socket(srv.url, { 'X-Forwarded-For': '198.51.100.1' })).rejects.toThrow();
    expect((await stream(srv.url, { 'X-Forwarded-For': '198.51.100.3' })).status).toBe(200);
  });

  it('0 turns the cap off', async () => {
    srv = await startServer({ MAX_CONNECTIONS_PER_ADDRESS: '0' });
    for (let i = 0; i < 5; i++) await stream(srv.url);
    await socket(srv.url);
  });
});

describe('MAX_CONNECTIONS', () => {
  it('caps the node: past it, 503 unavailable with Retry-After, whatever the address', async () => {
    srv = await startServer({ MAX_CONNECTIONS: '2', MAX_CONNECTIONS_PER_ADDRESS: '0' });
    await socket(srv.url);
    await stream(srv.url);
    const sse = await stream(srv.url);
    expect(sse.status).toBe(503);
    expect(sse.body.error).toMatchObject({ code: 'unavailable' });
    expect(sse.body.error.message).toMatch(/MAX_CONNECTIONS/);
    expect(sse.retryAfter).toBe('5');
    await expect(socket(srv.url)).rejects.toThrow();
    expect(await refusedCount(srv.url)).toEqual({ 'sse/node': 1, 'socketio/node': 1 });
  });
});
