import { io, type Socket } from 'socket.io-client';
import type { NewsEvent } from '../../src/domain/event.ts';
import { waitFor } from './wait.ts';

/** A real Socket.IO client that records what it receives, as a browser would see it. */
export class NewsClient {
  readonly socket: Socket;
  readonly events: NewsEvent[] = [];
  readonly resyncs: unknown[] = [];

  constructor(url: string, auth?: { topics?: string[]; since?: string }, transports: string[] = ['websocket']) {
    this.socket = io(url, { auth: auth ?? {}, transports, reconnection: false, forceNew: true });
    this.socket.on('news', (e: NewsEvent) => this.events.push(e));
    this.socket.on('resync', (r: unknown) => this.resyncs.push(r));
  }

  static async connect(url: string, auth?: { topics?: string[]; since?: string }, transports?: string[]): Promise<NewsClient> {
    const c = new NewsClient(url, auth, transports);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('socket.io connect timed out')), 5_000);
      c.socket.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
      c.socket.once('connect_error', (err) => {
        clearTimeout(t);
        reject(err);
      });
    });
    return c;
  }

  /** Sends an event with an ack and waits for the answer (with a deadline). */
  request<T = any>(name: string, payload: unknown): Promise<T> {
    return this.socket.timeout(5_000).emitWithAck(name, payload) as Promise<T>;
  }

  get ids(): string[] {
    return this.events.map((e) => e.id);
  }

  async waitForCount(n: number, ms = 5_000): Promise<NewsEvent[]> {
    await waitFor(`${n} events (have ${this.events.length})`, () => this.events.length >= n, ms);
    return this.events;
  }

  close(): void {
    this.socket.close();
  }
}
