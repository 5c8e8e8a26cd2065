/**
 * Load-generator worker: opens many thin websocket clients and records when each alert arrives. For the project
 * it speaks just enough Engine.IO v4 / Socket.IO v5 (open, CONNECT with auth, ping/pong, EVENT frames); for the
 * baseline it reads plain JSON frames. Alerts carry their sequence number in the headline ("bench <n>").
 */
import { request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';

// Plain JavaScript: worker threads on Node 20 do not take tsx's loader.
/** @type {{ kind: 'project' | 'ws' | 'sse', port: number, clients: number, topics: string[] }} */
const job = workerData;
const SEQ = /"headline":"bench (\d+)"/;
/** receipts[seq] = arrival times (ms, performance time origin shared by all threads). */
const receipts = new Map();
const sockets = [];
let ready = 0;
const now = () => performance.timeOrigin + performance.now();

function record(text) {
  const m = SEQ.exec(text);
  if (!m) return;
  const seq = Number(m[1]);
  let list = receipts.get(seq);
  if (!list) receipts.set(seq, (list = []));
  list.push(now());
}

/** An EventSource-like reader of the project's SSE stream: one HTTP connection, events split on blank lines. */
function openSse(i) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: job.port, path: `/api/v1/stream?topics=${job.topics.join(',')}`, agent: false, headers: { Accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`SSE answered ${res.statusCode}`));
      res.setEncoding('utf8');
      let pending = '';
      res.on('data', (chunk) => {
        pending += chunk;
        let end;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const message = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (message.includes(': connected')) resolve();
          else if (message.includes('\ndata: ')) record(message);
        }
      });
    });
    req.on('error', reject);
    req.end();
    sockets[i] = { terminate: () => req.destroy() };
  });
}

function open(i) {
  if (job.kind === 'sse') return openSse(i);
  return new Promise((resolve, reject) => {
    const url = job.kind === 'project' ? `ws://127.0.0.1:${job.port}/socket.io/?EIO=4&transport=websocket` : `ws://127.0.0.1:${job.port}/`;
    const ws = new WebSocket(url, { perMessageDeflate: false });
    sockets[i] = ws;
    ws.on('error', reject);
    if (job.kind === 'ws') {
      ws.on('open', () => resolve());
      ws.on('message', (d) => record(d.toString()));
      return;
    }
    ws.on('message', (d) => {
      const s = d.toString();
      if (s === '2') return ws.send('3');
      if (s.startsWith('42')) return record(s);
      if (s.startsWith('0{')) return ws.send('40' + JSON.stringify({ topics: job.topics }));
      if (s.startsWith('40')) resolve();
      if (s.startsWith('44')) reject(new Error(`connect refused: ${s}`));
    });
  });
}

async function connectAll() {
  const BATCH = 200;
  for (let i = 0; i < job.clients; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, job.clients - i) }, (_, j) => open(i + j)));
    ready = Math.min(job.clients, i + BATCH);
  }
}

parentPort.on('message', (m) => {
  if (m.type === 'count') {
    let n = 0;
    for (const seq of m.seqs ?? []) n += receipts.get(seq)?.length ?? 0;
    parentPort.postMessage({ type: 'count', n });
  } else if (m.type === 'receipts') {
    const out = (m.seqs ?? []).map((s) => [s, receipts.get(s) ?? []]);
    parentPort.postMessage({ type: 'receipts', receipts: out });
  } else if (m.type === 'close') {
    for (const s of sockets) s?.terminate();
    parentPort.postMessage({ type: 'closed' });
  }
});

connectAll().then(
  () => parentPort.postMessage({ type: 'ready', ready }),
  (err) => parentPort.postMessage({ type: 'error', message: String(err) }),
);
