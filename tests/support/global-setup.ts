import { exportPushTls, makePushTls, removePushTls } from './push-tls.ts';

/**
 * Runs once in the main vitest process, before any worker is forked: makes the local push service's CA and
 * certificate for this run and exports NODE_EXTRA_CA_CERTS, which the forked workers inherit (see push-tls.ts).
 */
export default function setup(): () => void {
  const tls = makePushTls();
  exportPushTls(tls);
  return () => removePushTls(tls);
}
