import { KEY, Load, now, pct, publish, sleep, startServer, waitAll } from './harness.ts';

type Sub = { endpoint: string; keys: { p256dh: string; auth: string } };

export interface LatencyRun {
  clients: number;
  subscriptions: Sub[];
  pushHost: string;
  /** Resolves when the push service has accepted n pushes. */
  waitPushes: (n: number) => Promise<void>;
}

interface Phase {
  count: number;
  p50: number;
  p99: number;
}

/**
 * The whole server in its own process, `clients` Socket.IO clients following `world`, and as many Web Push
 * subscriptions following `breaking`: Socket.IO alerts are timed with no push run, then while one alert goes out
 * by Web Push to every subscription.
 */
export async function socketLatencies(run: LatencyRun): Promise<{ quiet: Phase; busy: Phase; pushMs: number }> {
  const server = await startServer('project', { BENCH_PUSH_HOST: run.pushHost });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < run.subscriptions.length) {
          const subscription = run.subscriptions[next++];
          const r = await fetch(`${base}/api/v1/push/subscriptions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ subscription, topics: ['breaking'], maxUrgency: 9 }) });
          if (r.status !== 201) throw new Error(`subscribe answered ${r.status}: ${await r.text()}`);
        }
      }),
    );
    const load = await Load.start('project', server.port, run.clients);
    let seq = 1_000_000;
    const timed = async (): Promise<[number, number]> => {
      const s = ++seq;
      const t0 = now();
      await publish(server, s, { notify: false, topics: ['world'] });
      await waitAll(load, [s], run.clients);
      return [s, t0];
    };
    const latencies = async (pairs: Array<[number, number]>): Promise<Phase> => {
      const rec = await load.receipts(pairs.map(([s]) => s));
      const t0 = new Map(pairs);
      const lat = [...rec].flatMap(([s, times]) => times.map((t) => t - t0.get(s)!)).sort((a, b) => a - b);
      return { count: pairs.length, p50: pct(lat, 50), p99: pct(lat, 99) };
    };
    for (let i = 0; i < 3; i++) await timed(); // warm-up
    const quietPairs: Array<[number, number]> = [];
    for (let i = 0; i < 30; i++) {
      quietPairs.push(await timed());
      await sleep(20);
    }
    const busyPairs: Array<[number, number]> = [];
    const p0 = now();
    const r = await fetch(`${base}/api/v1/articles`, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${KEY}` }, body: JSON.stringify({ id: `push-${Date.now()}`, headline: 'Breaking: push bench', summary: 'An alert for every push subscriber.', topics: ['breaking'], urgency: 1 }) });
    if (r.status !== 201) throw new Error(`publish answered ${r.status}`);
    let pushing = true;
    const pushed = run.waitPushes(run.subscriptions.length).then(() => {
      pushing = false;
      return now() - p0;
    });
    while (pushing) {
      busyPairs.push(await timed());
      await sleep(20);
    }
    const pushMs = await pushed;
    const result = { quiet: await latencies(quietPairs), busy: await latencies(busyPairs), pushMs };
    await load.close();
    return result;
  } finally {
    await server.stop();
  }
}
