/** Prints the functions with the most self time in a .cpuprofile: npx tsx bench/lib/profile-summary.ts <file> */
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
const prof = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const self = new Map<number, number>();
prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
const byFn = new Map<string, number>();
for (const n of prof.nodes) {
  const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/work\/main\//, '')}:${n.callFrame.lineNumber}`;
  byFn.set(key, (byFn.get(key) ?? 0) + (self.get(n.id) ?? 0));
}
const total = [...byFn.values()].reduce((a, b) => a + b, 0);
for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 30))) {
  console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
}
