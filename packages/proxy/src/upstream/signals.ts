// Classified upstream outcomes, published once per attempt for the modules that pace traffic
// (rate limiter, concurrency limiter, quota gate). The attempt loop publishes; listeners subscribe.
import type { ClientIdentity } from '../http/auth.ts';
import type { QuotaWindow, ZaiErrorClass } from './zai-classifier.ts';

/** An upstream outcome other modules react to. */
export type UpstreamSignal =
  | { type: 'success' }
  | {
      type: 'zai_error';
      status: number;
      class: ZaiErrorClass;
      code: string | null;
      resetAtMs: number | null;
      /** The quota window a quota-class answer named (`Usage limit reached for 5 hour`), if any. */
      quotaWindow?: QuotaWindow | null;
      /** Who sent the request: in pass-through mode, whose Z.AI account answered. */
      client: ClientIdentity;
      /** A frequency/unknown 429: the rate limiter's backoff input. */
      feedRateLimiter: boolean;
    };

export type SignalListener = (s: UpstreamSignal) => void;

export interface UpstreamSignals {
  publish(s: UpstreamSignal): void;
}

export interface SignalFanout extends UpstreamSignals {
  /** Adds a listener; returns its unsubscribe. */
  subscribe(listener: SignalListener): () => void;
}

/** Delivers each signal to every listener in subscription order; a throwing listener does not stop
 *  the others, nor the request that published. */
export function createSignalFanout(onListenerError: (err: unknown) => void = () => {}): SignalFanout {
  let listeners: SignalListener[] = [];
  return {
    publish(s) {
      for (const l of listeners) {
        try {
          l(s);
        } catch (err) {
          onListenerError(err);
        }
      }
    },
    subscribe(listener) {
      listeners = [...listeners, listener];
      return () => {
        listeners = listeners.filter((l) => l !== listener);
      };
    },
  };
}
