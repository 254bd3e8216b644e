import type { Connection } from '../hooks/useLiveEvents.ts';
import { formatAge } from '../lib/format.ts';

export interface ConnectionStatusProps {
  connection: Connection;
  onRetry: () => void;
  /** Newest point time (server ms) per shown variant. */
  newest: Record<string, number | undefined>;
  now: number;
  /** A variant is stale when its newest point is older than this. */
  staleAfterMs: number;
}

/** Live / connecting / reconnecting with a countdown and "retry now", and a stale flag per variant that ticks. */
export function ConnectionStatus({ connection, onRetry, newest, now, staleAfterMs }: ConnectionStatusProps) {
  const stale = Object.entries(newest).filter(([, t]) => t !== undefined && now - t > staleAfterMs);
  return (
    <div className="connection" role="status" aria-live="polite">
      {connection.state === 'open' && <span className="pill pill-ok">● Live</span>}
      {connection.state === 'connecting' && (
        <span className="pill pill-wait">{connection.attempt === 0 ? 'Connecting…' : 'Reconnecting…'}</span>
      )}
      {connection.state === 'waiting' && (
        <>
          <span className="pill pill-bad">
            Disconnected: retrying in {Math.max(0, Math.ceil((connection.retryAt - now) / 1000))}s
          </span>
          <button type="button" onClick={onRetry}>
            Retry now
          </button>
        </>
      )}
      {connection.state === 'off' && <span className="pill">Fixed range: not live</span>}
      {stale.map(([v, t]) => (
        <span key={v} className="pill pill-warn" data-testid={`stale-${v}`}>
          {v}: stale, last point {formatAge((now - t!) / 1000)} ago
        </span>
      ))}
    </div>
  );
}
