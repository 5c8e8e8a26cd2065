/**
 * Storm load-generator worker: thin Socket.IO clients (raw Engine.IO v4 / Socket.IO v5 over ws, as loadgen.mjs)
 * that remember every event id they get. They can connect all at once spread over a time span, each with its
 * own cursor (the last id it got), and report whether what they got since is exactly the expected list.
 */
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

/** @type {{ clients: number, topics: string[] }} */
const job = workerData;
const ID = /^42\["news",\{"id":"(\d+-\d+)"/;
const now = () => performance.timeOrigin + performance.now();

/** One client: its socket, the ids it got since it last connected, when it got each, its cursor. */
const clients = Array.from({ length: job.clients }, () => ({ ws: null, got: [], times: [], last: null, open: false, resyncs: 0 }));

let retries = 0;

/**
 * Connects one client; a refused or reset connection (the listen backlog overflows when thousands arrive in the
 * same second) is retried after 100-300 ms, as Socket.IO's client retries with a delay.
 */
function open(c, port, since) {
  return new Promise((resolve, reject) => {
    const attempt = (left) => connectOnce(c, port, since).then(resolve, (err) => {
      if (left === 0 || c.open) return reject(err);
      retries++;
      setTimeout(() => attempt(left - 1), 100 + Math.random() * 200);
    });
    attempt(20);
  });
}

function connectOnce(c, port, since) {
  return new Promise((resolve, reject) => {
    c.got = [];
    c.times = [];
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    c.ws = ws;
    ws.on('error', (err) => {
      if (!c.open) reject(err);
    });
    ws.on('close', () => {
      c.open = false;
    });
    ws.on('message', (d) => {
      const s = d.toString();
      if (s === '2') return ws.send('3');
      const m = ID.exec(s);
      if (m) {
        c.got.push(m[1]);
        c.times.push(now());
        c.last = m[1];
        return;
      }
      if (s.startsWith('42["resync"')) c.resyncs++;
      else if (s.startsWith('0{')) ws.send('40' + JSON.stringify({ topics: job.topics, ...(since ? { since } : {}) }));
      else if (s.startsWith('40')) {
        c.open = true;
        resolve(now());
      } else if (s.startsWith('44')) reject(new Error(`connect refused: ${s}`));
    });
  });
}

/** Opens every client, spread evenly over `spreadMs`; resolves with when the first was opened and the last acked. */
async function connectAll(port, spreadMs, withCursor) {
  const start = now();
  const ticks = Math.max(1, Math.floor(spreadMs / 10));
  const per = Math.ceil(clients.length / ticks);
  const acks = [];
  for (let t = 0, i = 0; i < clients.length; t++) {
    const wait = start + t * 10 - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let k = 0; k < per && i < clients.length; k++, i++) acks.push(open(clients[i], port, withCursor ? clients[i].last : null));
  }
  const before = retries;
  const times = await Promise.all(acks);
  return { start, end: Math.max(...times), retries: retries - before };
}

function check(expected) {
  let complete = 0;
  let short = 0;
  let wrong = 0;
  let lastDone = 0;
  for (const c of clients) {
    const n = c.got.length;
    let prefix = n <= expected.length;
    for (let i = 0; prefix && i < n; i++) if (c.got[i] !== expected[i]) prefix = false;
    if (!prefix || c.resyncs > 0) wrong++;
    else if (n < expected.length) short++;
    else {
      complete++;
      lastDone = Math.max(lastDone, c.times[n - 1]);
    }
  }
  return { complete, short, wrong, lastDone };
}

parentPort.on('message', async (m) => {
  try {
    if (m.type === 'connect') parentPort.postMessage({ type: 'connect', ...(await connectAll(m.port, m.spreadMs, m.withCursor)) });
    else if (m.type === 'check') parentPort.postMessage({ type: 'check', ...check(m.expected) });
    else if (m.type === 'state') {
      parentPort.postMessage({ type: 'state', open: clients.filter((c) => c.open).length, at: clients.filter((c) => c.last === m.id).length });
    } else if (m.type === 'close') {
      for (const c of clients) c.ws?.terminate();
      parentPort.postMessage({ type: 'close' });
    }
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: String(err) });
  }
});
parentPort.postMessage({ type: 'ready' });
