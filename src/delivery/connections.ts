import type { RequestHandler } from 'express';
import { ApiError } from '../domain/errors.ts';
import type { Metrics } from '../ops/metrics.ts';

export type Refusal = 'address' | 'node';

/**
 * Open live connections (Socket.IO and SSE together) per client address and per node. A connection is a few
 * kilobytes of memory held for as long as the client likes, so without a cap one client could hold the node's
 * memory with idle connections. 0 turns a cap off.
 */
export class ConnectionLimits {
  private readonly byAddress = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly perAddress: number,
    private readonly perNode: number,
    private readonly metrics: Metrics,
  ) {}

  /** Why a new connection from `address` would be refused now, or null if it may open. */
  check(address: string): Refusal | null {
    if (this.perNode > 0 && this.total >= this.perNode) return 'node';
    if (this.perAddress > 0 && (this.byAddress.get(address) ?? 0) >= this.perAddress) return 'address';
    return null;
  }

  /** Counts a connection that was let in; `release` once when it closes. */
  take(address: string): void {
    this.total++;
    this.byAddress.set(address, (this.byAddress.get(address) ?? 0) + 1);
  }

  release(address: string): void {
    this.total--;
    const n = (this.byAddress.get(address) ?? 1) - 1;
    if (n > 0) this.byAddress.set(address, n);
    else this.byAddress.delete(address);
  }

  /** Records a refusal and says it in words (Engine.IO's handshake answers with this message). */
  refused(channel: 'socketio' | 'sse', why: Refusal): ApiError {
    this.metrics.connectionsRefused.inc({ channel, reason: why });
    return why === 'node'
      ? new ApiError('unavailable', 'This node holds as many connections as it may (MAX_CONNECTIONS); retry later or elsewhere.', undefined, undefined, { 'Retry-After': '5' })
      : new ApiError('rate_limited', 'Too many open connections from this address (MAX_CONNECTIONS_PER_ADDRESS); close one first.', undefined, { retryAfter: 30 }, { 'Retry-After': '30' });
  }

  /** Express middleware in front of the SSE stream: counts the stream while its response is open. */
  sse(): RequestHandler {
    return (req, res, next) => {
      const address = req.ip ?? '';
      const why = this.check(address);
      if (why) return next(this.refused('sse', why));
      this.take(address);
      res.once('close', () => this.release(address));
      next();
    };
  }
}
