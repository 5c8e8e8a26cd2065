import { spawn, type ChildProcess } from 'node:child_process';
import { TEST_KEY } from './server.ts';
import { waitFor } from './wait.ts';

export interface NodeProcess {
  url: string;
  auth: { Authorization: string };
  /** JSON facts the node printed so far (see node-child.ts). */
  facts: Array<Record<string, unknown>>;
  /** Kills the process with SIGKILL, as a crash would, and waits for it to be gone. */
  kill(): Promise<void>;
}

/** Starts a server node as a child process (tests/support/node-child.ts) and waits until it listens. */
export async function spawnNode(opts: { env: Record<string, string>; holdFanout?: boolean }): Promise<NodeProcess> {
  const arg = JSON.stringify({ env: opts.env, holdFanout: opts.holdFanout });
  // Node itself with tsx's loader, not the tsx command: that one runs node as a grandchild, which SIGKILL misses.
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'tests/support/node-child.ts', arg], { stdio: ['ignore', 'pipe', 'pipe'] });
  const facts: Array<Record<string, unknown>> = [];
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const lines = out.split('\n');
    out = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) facts.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await waitFor(`the node to listen${err ? `: ${err}` : ''}`, () => {
    if (child.exitCode !== null) throw new Error(`node exited with ${child.exitCode}: ${err}`);
    return facts.find((f) => typeof f.listening === 'number')?.listening as number | undefined;
  }, 30_000);
  return {
    url: `http://127.0.0.1:${port}`,
    auth: { Authorization: `Bearer ${TEST_KEY}` },
    facts,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
