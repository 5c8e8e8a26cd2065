/**
 * Load-generator worker: opens many thin clients and records when each alert arrives. For the project it speaks
 * just enough Engine.IO v4 / Socket.IO v5 over `ws` (open, CONNECT with auth, ping/pong, EVENT frames) or reads
 * its SSE stream over a raw TCP socket; for the baseline it reads plain JSON frames. Alerts carry their sequence
 * number in the headline ("bench <n>"). Answers `cpu` with this thread's CPU time, to compare what each kind of
 * client costs the shared cores.
 */
import { connect } from 'node:net';
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
/**
 * CPU time of this thread (user + system, microseconds): what the clients cost the shared cores. Node >= 23.9 has
 * process.threadCpuUsage(); on older ones the event loop's active time stands in (wall clock, so it also counts
 * time the thread waited for a core).
 */
const threadCpu = () => {
  if (typeof process.threadCpuUsage === 'function') {
    const u = process.threadCpuUsage();
    return u.user + u.system;
  }
  return performance.eventLoopUtilization().active * 1000;
};

function record(text) {
  const m = SEQ.exec(text);
  if (!m) return;
  const seq = Number(m[1]);
  let list = receipts.get(seq);
  if (!list) receipts.set(seq, (list = []));
  list.push(now());
}

/**
 * An EventSource-like reader of the project's SSE stream, as thin as the Socket.IO client above is over `ws`: a
 * raw TCP socket that sends the GET, checks the status line, undoes the HTTP/1.1 chunked framing (as `ws` undoes
 * WebSocket framing), decodes complete chunks as UTF-8 and splits messages on blank lines. node:http's client
 * (llhttp, an IncomingMessage stream, a StringDecoder per response) cost the shared cores more per message than
 * the `ws` client does (docs/benchmarks.md), which the SSE figure then paid for.
 */
function openSse(i) {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: job.port });
    sockets[i] = { terminate: () => socket.destroy() };
    socket.setNoDelay(true);
    socket.on('error', reject);
    socket.on('connect', () =>
      socket.write(`GET /api/v1/stream?topics=${job.topics.join(',')} HTTP/1.1\r\nHost: 127.0.0.1:${job.port}\r\nAccept: text/event-stream\r\n\r\n`),
    );
    /** Bytes received and not parsed yet (the head, or an incomplete chunk). */
    let bytes = Buffer.alloc(0);
    let head = true;
    /** Stream text not split into messages yet. */
    let pending = '';
    socket.on('data', (data) => {
      bytes = bytes.length === 0 ? data : Buffer.concat([bytes, data]);
      if (head) {
        const end = bytes.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = bytes.toString('latin1', 0, end);
        if (!lines.startsWith('HTTP/1.1 200 ')) return reject(new Error(`SSE answered ${lines.slice(0, lines.indexOf('\r\n'))}`));
        if (!/\r\ntransfer-encoding: chunked\r?$/im.test(lines)) return reject(new Error('SSE stream is not chunked'));
        head = false;
        bytes = bytes.subarray(end + 4);
      }
      let at = 0;
      for (;;) {
        const eol = bytes.indexOf('\r\n', at);
        if (eol < 0) break;
        const size = parseInt(bytes.toString('latin1', at, eol), 16);
        if (bytes.length < eol + 2 + size + 2) break;
        pending += bytes.toString('utf8', eol + 2, eol + 2 + size);
        at = eol + 2 + size + 2;
      }
      bytes = at === bytes.length ? Buffer.alloc(0) : bytes.subarray(at);
      let end;
      while ((end = pending.indexOf('\n\n')) >= 0) {
        const message = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (message.includes(': connected')) resolve();
        else if (message.includes('\ndata: ')) record(message);
      }
    });
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
  } else if (m.type === 'cpu') {
    parentPort.postMessage({ type: 'cpu', micros: threadCpu() });
  } else if (m.type === 'close') {
    for (const s of sockets) s?.terminate();
    parentPort.postMessage({ type: 'closed' });
  }
});

connectAll().then(
  () => parentPort.postMessage({ type: 'ready', ready }),
  (err) => parentPort.postMessage({ type: 'error', message: String(err) }),
);
