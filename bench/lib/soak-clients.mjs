/**
 * Soak client worker: many thin Socket.IO clients (Engine.IO v4 / Socket.IO v5 over a raw websocket, as in
 * loadgen.mjs), each following one topic, each keeping its cursor (the last event id it got) and reconnecting
 * with it: when told to churn, after its node went away, or when a connect fails. Per client it keeps only
 * counters and a checksum, so 2,000 clients x 10 minutes fit in memory:
 *  - every id must be higher than the one before (else doubled, if seen recently, or out of order);
 *  - count and sum of hash(id) since the first event (or since the last `resync`) are compared at the end with
 *    the same figures over the history: equal count and sum = nothing lost, nothing foreign.
 */
import { parentPort, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { hashId } from './soak-hash.mjs';

/** @type {{ ports: number[], clients: Array<{ topic: string, port: number }>, offset: number }} */
const job = workerData;
const NEWS = /^42\["news",\{"id":"(\d+)-(\d+)"/;
const RECENT = 64;

function compare(aMs, aSeq, bMs, bSeq) {
  return aMs !== bMs ? aMs - bMs : aSeq - bSeq;
}

let live = new Set(job.ports);
let closing = false;

class Client {
  constructor(index, spec) {
    this.index = index;
    this.topic = spec.topic;
    this.port = spec.port;
    this.ws = null;
    this.connected = false;
    this.last = null; // [ms, seq] of the cursor
    this.lastId = null;
    this.recent = [];
    this.segStart = null;
    this.count = 0;
    this.sum = 0;
    this.doubled = 0;
    this.outOfOrder = 0;
    this.resyncs = 0;
    this.connects = 0;
    this.connectFailures = 0;
    this.drops = 0;
    this.retry = 0;
  }

  open() {
    if (closing) return Promise.resolve();
    return new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${this.port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
      this.ws = ws;
      let settled = false;
      const settle = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      ws.on('message', (d) => this.onFrame(d.toString(), ws, settle));
      ws.on('error', () => undefined);
      ws.on('close', () => {
        settle();
        if (this.ws !== ws) return; // replaced on purpose (churn)
        const was = this.connected;
        this.connected = false;
        if (closing) return;
        if (was) this.drops++;
        else this.connectFailures++;
        this.reconnectLater();
      });
    });
  }

  onFrame(s, ws, settle) {
    if (s === '2') return ws.send('3');
    const m = NEWS.exec(s);
    if (m) return this.onNews(Number(m[1]), Number(m[2]));
    if (s.startsWith('42["news"')) {
      const ev = JSON.parse(s.slice(2))[1];
      const [ms, seq] = ev.id.split('-').map(Number);
      return this.onNews(ms, seq);
    }
    if (s.startsWith('42["resync"')) {
      this.resyncs++;
      this.segStart = null; // a resync allows a gap: count again from the next event
      this.count = 0;
      this.sum = 0;
      return;
    }
    if (s.startsWith('0{')) {
      const auth = { topics: [this.topic], ...(this.lastId ? { since: this.lastId } : {}) };
      return ws.send('40' + JSON.stringify(auth));
    }
    if (s.startsWith('40')) {
      this.connected = true;
      this.connects++;
      this.retry = 0;
      return settle();
    }
    if (s.startsWith('44')) ws.terminate();
  }

  onNews(ms, seq) {
    const id = `${ms}-${seq}`;
    if (this.last && compare(ms, seq, this.last[0], this.last[1]) <= 0) {
      if (this.recent.includes(id)) this.doubled++;
      else this.outOfOrder++;
      return;
    }
    this.last = [ms, seq];
    this.lastId = id;
    this.recent.push(id);
    if (this.recent.length > RECENT) this.recent.shift();
    if (this.segStart === null) this.segStart = id;
    this.count++;
    this.sum = (this.sum + hashId(id)) >>> 0;
  }

  /** Back to a node that is up, as a load balancer would send it, after a jittered back-off. */
  reconnectLater() {
    this.retry++;
    const delay = Math.min(200 * 2 ** Math.min(this.retry, 4), 3_000) * (0.5 + Math.random());
    setTimeout(() => {
      if (closing) return;
      const ports = [...live];
      if (ports.length > 0) this.port = ports[Math.floor(Math.random() * ports.length)];
      void this.open();
    }, delay);
  }

  /** Churn: drop the connection and come back with the cursor, as a reloaded tab or a phone changing networks. */
  churn() {
    if (!this.connected) return;
    const old = this.ws;
    this.ws = null;
    this.connected = false;
    old.terminate();
    void this.open();
  }

  report() {
    return {
      index: this.index, topic: this.topic, connected: this.connected, lastId: this.lastId, segStart: this.segStart, count: this.count,
      sum: this.sum, doubled: this.doubled, outOfOrder: this.outOfOrder, resyncs: this.resyncs, connects: this.connects,
      drops: this.drops, connectFailures: this.connectFailures,
    };
  }
}

const clients = job.clients.map((spec, i) => new Client(job.offset + i, spec));

async function connectAll() {
  const BATCH = 100;
  for (let i = 0; i < clients.length; i += BATCH) await Promise.all(clients.slice(i, i + BATCH).map((c) => c.open()));
}

parentPort.on('message', (m) => {
  if (m.type === 'churn') {
    let n = 0;
    for (const c of clients) if (Math.random() < m.share && c.connected) {
      c.churn();
      n++;
    }
    parentPort.postMessage({ type: 'churned', n });
  } else if (m.type === 'live') {
    live = new Set(m.ports);
  } else if (m.type === 'progress') {
    parentPort.postMessage({ type: 'progress', clients: clients.map((c) => [c.lastId, c.connected]) });
  } else if (m.type === 'report') {
    parentPort.postMessage({ type: 'report', clients: clients.map((c) => c.report()) });
  } else if (m.type === 'close') {
    closing = true;
    for (const c of clients) c.ws?.terminate();
    parentPort.postMessage({ type: 'closed' });
  }
});

connectAll().then(
  () => parentPort.postMessage({ type: 'ready', connected: clients.filter((c) => c.connected).length }),
  (err) => parentPort.postMessage({ type: 'error', message: String(err) }),
);
