import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a server, as a load balancer or a flaky network would be: the browser talks to it, and
 * the test can cut every connection (a proxy restarting) or refuse new ones for a while (the server unreachable).
 */
export class TcpProxy {
  readonly url: string;
  private readonly sockets = new Set<Socket>();
  private refusing = false;
  /** Cuts connections that ask for a WebSocket upgrade, as some corporate proxies do. */
  blockWebSockets = false;
  /** Holds what clients send this long before passing it on (a slow or overloaded server); 0: at once. */
  delayMs = 0;

  private constructor(private readonly server: Server, readonly port: number) {
    this.url = `http://127.0.0.1:${port}`;
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => {
      if (proxy.refusing) return void client.destroy();
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('close', () => proxy.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('data', (chunk: Buffer) => {
        if (proxy.blockWebSockets && /^upgrade:\s*websocket/im.test(chunk.toString('latin1'))) {
          client.destroy();
          return;
        }
        if (proxy.delayMs > 0) return void setTimeout(() => upstream.write(chunk), proxy.delayMs);
        if (!upstream.write(chunk)) client.pause();
      });
      upstream.on('drain', () => client.resume());
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  /** Cuts every open connection. */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Cuts every connection and refuses new ones until allow(). */
  refuse(): void {
    this.refusing = true;
    this.dropAll();
  }

  allow(): void {
    this.refusing = false;
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
