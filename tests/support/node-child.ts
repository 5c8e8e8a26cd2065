/**
 * A server node in its own process, so that a test can kill it with SIGKILL (a crash: nothing closes, nothing
 * flushes). Started by node-process.ts with one JSON argument: { env, holdFanout? } (the push service's CA comes, as for
 * every test process, from NODE_EXTRA_CA_CERTS, which the child inherits). With holdFanout, the
 * engine's push queue never queues a fan-out (the app's engine seam): the node has read the event from the
 * history and not acknowledged it, the window between a commit and its fan-out. Prints one JSON line per fact:
 * {"listening":port}, {"held":eventId}.
 */
import { wrapFanout } from './engines.ts';
import { startServer } from './server.ts';

const { env, holdFanout } = JSON.parse(process.argv[2]!) as { env: Record<string, string>; holdFanout?: boolean };
const say = (fact: Record<string, unknown>) => process.stdout.write(JSON.stringify(fact) + '\n');

const srv = await startServer(env, {
  ...(holdFanout
    ? {
        engine: wrapFanout((eventId) => {
          say({ held: eventId });
          return new Promise<void>(() => undefined);
        }),
      }
    : {}),
});
say({ listening: srv.port });
