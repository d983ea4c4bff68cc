// Server-sent event fan-out per environment, with a ping comment so idle proxies keep the stream.
import type { ServerResponse } from 'node:http';

export class SseHub {
  private readonly subs = new Map<string, Set<ServerResponse>>();
  private readonly ping: NodeJS.Timeout;

  constructor(pingMs = 15_000) {
    this.ping = setInterval(() => this.each((res) => res.write(': ping\n\n')), pingMs);
    this.ping.unref();
  }

  add(envId: string, res: ServerResponse): void {
    let set = this.subs.get(envId);
    if (!set) this.subs.set(envId, (set = new Set()));
    set.add(res);
    res.on('close', () => set!.delete(res));
  }

  send(envId: string, event: string, data: unknown): void {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.subs.get(envId) ?? []) res.write(frame);
  }

  count(): number {
    let n = 0;
    for (const s of this.subs.values()) n += s.size;
    return n;
  }

  private each(fn: (res: ServerResponse) => void): void {
    for (const set of this.subs.values()) for (const res of set) fn(res);
  }

  /** Ends every stream (shutdown, or a detected restore so SDKs reconnect and refetch). */
  closeAll(): void {
    this.each((res) => res.end());
    this.subs.clear();
  }

  stop(): void {
    clearInterval(this.ping);
    this.closeAll();
  }
}
