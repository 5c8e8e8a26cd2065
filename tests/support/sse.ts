/** A minimal EventSource-style reader over fetch: parses `id:`, `event:`, `data:` and comment lines. */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

export class SseReader {
  readonly messages: SseMessage[] = [];
  comments = 0;
  status = 0;
  private readonly ctrl = new AbortController();
  private done: Promise<void> = Promise.resolve();

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const r = new SseReader();
    const res = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: r.ctrl.signal });
    r.status = res.status;
    if (!res.ok || !res.body) return r;
    r.done = r.pump(res.body).catch(() => undefined);
    return r;
  }

  get data(): any[] {
    return this.messages.filter((m) => m.event === 'message').map((m) => JSON.parse(m.data));
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let idx: number;
      while ((idx = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, idx);
        buf = buf.slice(idx + 2);
        const msg: SseMessage = { event: 'message', data: '' };
        let hasData = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) this.comments++;
          else if (line.startsWith('id: ')) msg.id = line.slice(4);
          else if (line.startsWith('event: ')) msg.event = line.slice(7);
          else if (line.startsWith('data: ')) {
            msg.data += (hasData ? '\n' : '') + line.slice(6);
            hasData = true;
          }
        }
        if (hasData) this.messages.push(msg);
      }
    }
  }

  async close(): Promise<void> {
    this.ctrl.abort();
    await this.done;
  }
}
