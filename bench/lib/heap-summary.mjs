/**
 * Where a heap snapshot's bytes go per connection: retained sizes (dominator tree) of the objects there are about
 * one of per connection, and what each retains by property. For snapshots written by `BENCH_HEAP_SNAPSHOT=<dir>`:
 *
 *   node --max-old-space-size=6000 bench/lib/heap-summary.mjs <dir>/project-<pid>-1.heapsnapshot 2000
 *
 * Sockets are told apart by kind: (sio) Socket.IO, (eio) Engine.IO, (net) Node's; WebSocket (ws) or (eio) transport.
 */
import { readFileSync } from 'node:fs';

const [file, connections] = process.argv.slice(2);
if (!file || !connections) throw new Error('usage: heap-summary.mjs <file.heapsnapshot> <connections>');
const n = Number(connections);
const snap = JSON.parse(readFileSync(file, 'utf8'));
const meta = snap.snapshot.meta;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const [nodeTypes, edgeTypes] = [meta.node_types[0], meta.edge_types[0]];
const { nodes, edges, strings } = snap;
const count = nodes.length / NF;
const WEAK = edgeTypes.indexOf('weak');
const first = new Uint32Array(count + 1);
for (let i = 0, e = 0; i < count; i++, e += nodes[i * NF - NF + 4] * EF) first[i] = e;
first[count] = edges.length;
const edgeName = (e) => (['element', 'hidden', 'internal'].includes(edgeTypes[edges[e]]) ? `[${edges[e + 1]}]` : strings[edges[e + 1]]);
const hasProperty = (i, name) => {
  for (let e = first[i]; e < first[i + 1]; e += EF) if (edgeTypes[edges[e]] === 'property' && strings[edges[e + 1]] === name) return true;
  return false;
};
const label = (i) => {
  const name = strings[nodes[i * NF + 1]];
  let l = `${nodeTypes[nodes[i * NF]]}:${name.slice(0, 60)}`;
  if (name === 'Socket') l += hasProperty(i, 'nsp') ? '(sio)' : hasProperty(i, 'transport') ? '(eio)' : '(net)';
  if (name === 'WebSocket') l += hasProperty(i, '_receiver') ? '(ws)' : '(eio)';
  return l;
};

// Dominators (Cooper, Harvey, Kennedy) over the graph from the root, weak edges left out.
const order = new Int32Array(count).fill(-1);
const post = [];
const next = new Uint32Array(count);
const seen = new Uint8Array(count);
const stack = [0];
seen[0] = 1;
next[0] = first[0];
while (stack.length) {
  const i = stack[stack.length - 1];
  let pushed = false;
  while (next[i] < first[i + 1]) {
    const e = next[i];
    next[i] += EF;
    const t = edges[e + 2] / NF;
    if (edges[e] === WEAK || seen[t]) continue;
    seen[t] = 1;
    next[t] = first[t];
    stack.push(t);
    pushed = true;
    break;
  }
  if (!pushed) order[stack.pop()] = post.push(i) - 1;
}
const preds = Array.from({ length: count }, () => []);
for (let i = 0; i < count; i++) {
  if (!seen[i]) continue;
  for (let e = first[i]; e < first[i + 1]; e += EF) if (edges[e] !== WEAK && seen[edges[e + 2] / NF]) preds[edges[e + 2] / NF].push(i);
}
const idom = new Int32Array(count).fill(-1);
idom[0] = 0;
const meet = (a, b) => {
  while (a !== b) {
    while (order[a] < order[b]) a = idom[a];
    while (order[b] < order[a]) b = idom[b];
  }
  return a;
};
for (let changed = true; changed; ) {
  changed = false;
  for (let k = post.length - 2; k >= 0; k--) {
    const i = post[k];
    let d = -1;
    for (const p of preds[i]) if (idom[p] !== -1) d = d === -1 ? p : meet(p, d);
    if (d !== -1 && idom[i] !== d) [idom[i], changed] = [d, true];
  }
}
const retained = new Float64Array(count);
for (let i = 0; i < count; i++) retained[i] = nodes[i * NF + 3];
for (const i of post) if (i !== 0) retained[idom[i]] += retained[i];

// Objects there are about one of per connection, by retained size each; then what each keeps, by property.
const byLabel = new Map();
for (let i = 0; i < count; i++) {
  if (!seen[i] || !nodeTypes[nodes[i * NF]].startsWith('object')) continue;
  const l = label(i);
  const list = byLabel.get(l) ?? [];
  list.push(i);
  byLabel.set(l, list);
}
const perConnection = [...byLabel].filter(([, list]) => list.length >= 0.95 * n && list.length <= 1.05 * n);
const avg = (list, f) => list.reduce((a, i) => a + f(i), 0) / list.length;
perConnection.sort((a, b) => avg(b[1], (i) => retained[i]) - avg(a[1], (i) => retained[i]));
for (const [l, list] of perConnection.slice(0, 25)) {
  const parts = new Map();
  for (const i of list) {
    for (let e = first[i]; e < first[i + 1]; e += EF) {
      const t = edges[e + 2] / NF;
      if (edges[e] !== WEAK && idom[t] === i) parts.set(edgeName(e), (parts.get(edgeName(e)) ?? 0) + retained[t]);
    }
  }
  const top = [...parts].map(([k, v]) => [k, v / list.length]).filter(([, v]) => v >= 32).sort((a, b) => b[1] - a[1]);
  console.log(`${avg(list, (i) => retained[i]).toFixed(0).padStart(6)}  ${l} x${list.length}  ${top.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
}
