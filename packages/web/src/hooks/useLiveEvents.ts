// The dashboard's SSE stream with our own reconnect: exponential backoff from 1 s to 30 s, a countdown the
// UI can show, and "retry now". The browser's built-in retry is turned off (we close on error) because it
// neither backs off nor can be told to retry immediately.
import { useCallback, useEffect, useRef, useState } from 'react';
import { EVENTS, parseSnapshotFrame, parseStatusFrame } from '../api/client.ts';
import type { Snapshot, StatusResponse } from '../api/types.ts';

export const INITIAL_RETRY_MS = 1000;
export const MAX_RETRY_MS = 30_000;

export const retryDelay = (attempt: number): number =>
  Math.min(INITIAL_RETRY_MS * 2 ** attempt, MAX_RETRY_MS);

export type Connection =
  | { state: 'connecting'; attempt: number }
  | { state: 'open'; since: number }
  | { state: 'waiting'; attempt: number; retryAt: number }
  | { state: 'off' };

export interface LiveEvents {
  connection: Connection;
  retryNow: () => void;
  /** Bumped on every reopen after a drop, so history can be refetched to fill the gap. */
  reconnects: number;
}

export interface LiveHandlers {
  onSnapshot: (s: Snapshot) => void;
  onStatus?: (s: StatusResponse) => void;
}

export function useLiveEvents(url: string | null, handlers: LiveHandlers): LiveEvents {
  const [connection, setConnection] = useState<Connection>(
    url === null ? { state: 'off' } : { state: 'connecting', attempt: 0 },
  );
  const [reconnects, setReconnects] = useState(0);
  const [generation, setGeneration] = useState(0);
  const attempt = useRef(0);
  const everOpened = useRef(false);
  const handler = useRef(handlers);
  handler.current = handlers;

  // biome-ignore lint/correctness/useExhaustiveDependencies: `generation` forces a fresh connection
  useEffect(() => {
    if (url === null) {
      setConnection({ state: 'off' });
      return;
    }
    let es: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let closed = false;
    const onMetrics = (e: MessageEvent) => {
      const s = parseSnapshotFrame(String(e.data));
      if (s !== null) handler.current.onSnapshot(s);
    };
    const onStatus = (e: MessageEvent) => {
      const s = parseStatusFrame(String(e.data));
      if (s !== null) handler.current.onStatus?.(s);
    };
    const open = () => {
      setConnection({ state: 'connecting', attempt: attempt.current });
      es = new EventSource(url);
      es.onopen = () => {
        if (everOpened.current) setReconnects((n) => n + 1);
        everOpened.current = true;
        attempt.current = 0;
        setConnection({ state: 'open', since: Date.now() });
      };
      es.addEventListener(EVENTS.metrics, onMetrics);
      es.addEventListener(EVENTS.status, onStatus);
      es.onerror = () => {
        es?.close();
        es = null;
        if (closed) return;
        const delay = retryDelay(attempt.current);
        setConnection({ state: 'waiting', attempt: attempt.current, retryAt: Date.now() + delay });
        timer = setTimeout(() => {
          attempt.current++;
          open();
        }, delay);
      };
    };
    open();
    return () => {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      es?.close();
    };
  }, [url, generation]);

  const retryNow = useCallback(() => {
    attempt.current = 0;
    setGeneration((g) => g + 1);
  }, []);

  return { connection, retryNow, reconnects };
}
