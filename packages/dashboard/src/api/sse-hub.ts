// /api/events: one hub fans every tick's events out to all streams. Writes never wait for a client:
// a stream whose unsent data passes the limit is closed (the browser reconnects and resumes), so a
// stuck client cannot delay the others or grow memory. Recent events stay in a replay buffer so a
// reconnect with Last-Event-ID gets exactly what it missed.
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface SseEvent {
  id: string;
  event: string;
  /** The frame, already encoded ("id: …\nevent: …\ndata: …\n\n"). */
  frame: string;
  tickTs: number;
  /** Latest-per-key slot on a fresh connection: the variant for metrics, 'status' for status. */
  key: string;
}

export interface HubOptions {
  heartbeatMs?: number;
  maxBufferedBytes?: number;
  replayMs?: number;
  retryMs?: number;
  onDrop?: () => void;
  onClients?: (n: number) => void;
}

export function encodeEvent(id: string, event: string, data: unknown): string {
  return `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function createHub(opts: HubOptions = {}) {
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024; // 1 MiB of unsent frames
  const replayMs = opts.replayMs ?? 600_000; // 10 min
  const retryMs = opts.retryMs ?? 3000;
  const clients = new Set<ServerResponse>();
  const replay: SseEvent[] = [];
  const latest = new Map<string, SseEvent>();
  let closed = false;

  const heartbeat = setInterval(() => {
    for (const res of clients) send(res, ': heartbeat\n\n');
  }, heartbeatMs);
  heartbeat.unref();

  function drop(res: ServerResponse) {
    if (!clients.delete(res)) return;
    opts.onClients?.(clients.size);
    res.destroy();
  }

  function send(res: ServerResponse, frame: string) {
    if (res.writableLength > maxBuffered) {
      opts.onDrop?.();
      drop(res);
      return;
    }
    res.write(frame);
  }

  return {
    /** Sends one tick's events (metrics per variant, then status) to every stream. */
    publish(tickTs: number, events: readonly { event: string; key: string; data: unknown }[]): void {
      if (closed) return;
      events.forEach((e, i) => {
        const id = `${tickTs}-${i}`;
        const ev: SseEvent = {
          id,
          event: e.event,
          frame: encodeEvent(id, e.event, e.data),
          tickTs,
          key: e.key,
        };
        replay.push(ev);
        latest.set(e.key, ev);
        for (const res of clients) send(res, ev.frame);
      });
      while (replay.length > 0 && replay[0]!.tickTs < tickTs - replayMs) replay.shift();
    },

    /** Serves one stream: retry, connected, then missed events (Last-Event-ID) or the latest ones. */
    attach(req: IncomingMessage, res: ServerResponse, connected: Record<string, unknown>): void {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      if (closed) {
        res.end();
        return;
      }
      const lastId = req.headers['last-event-id'];
      const at = typeof lastId === 'string' ? replay.findIndex((e) => e.id === lastId) : -1;
      const resumed = at >= 0;
      let out = `retry: ${retryMs}\n\nevent: connected\ndata: ${JSON.stringify({ type: 'connected', ...connected, resumed })}\n\n`;
      const backlog = resumed ? replay.slice(at + 1) : [...latest.values()].sort((a, b) => order(a.id, b.id));
      for (const e of backlog) out += e.frame;
      res.write(out);
      clients.add(res);
      opts.onClients?.(clients.size);
      const done = () => {
        if (clients.delete(res)) opts.onClients?.(clients.size);
      };
      res.on('close', done);
      req.on('close', done);
    },

    clientCount: () => clients.size,

    /** Ends every stream (graceful shutdown) and refuses new ones. */
    close(): void {
      closed = true;
      clearInterval(heartbeat);
      for (const res of clients) res.end();
      clients.clear();
      opts.onClients?.(0);
    },
  };
}

export type Hub = ReturnType<typeof createHub>;

/** Ids are "<tick ms>-<index>": compare numerically, tick first. */
function order(a: string, b: string): number {
  const [at, ai] = a.split('-').map(Number) as [number, number];
  const [bt, bi] = b.split('-').map(Number) as [number, number];
  return at - bt || ai - bi;
}
