// The quota gate on the request path: an admission in front of the pacing admission, and the
// upstream-signal listener that closes it. A request of an account whose window is spent is refused
// before it waits for anything; an open gate costs one map lookup.
import type { Admission, AdmissionRequest, Permit } from '../admission/index.ts';
import { GatewayError } from '../errors.ts';
import type { ClientIdentity } from '../http/auth.ts';
import type { SignalListener } from '../upstream/signals.ts';
import { type Gatekeeper, SHARED_ACCOUNT } from './gatekeeper.ts';
import type { GateWindow } from './quota-gate.ts';

/** The Z.AI account a request is charged to: its own key in pass-through mode, else the proxy's. */
export function accountOf(client: ClientIdentity): string {
  return client.kind === 'passthrough' ? client.name : SHARED_ACCOUNT;
}

const WINDOW_TEXT: Readonly<Record<GateWindow, string>> = {
  five_hour: "Z.AI's five-hour quota window is spent",
  weekly: "Z.AI's weekly quota window is spent",
  daily: "Z.AI's daily call count is reached",
  unknown: 'a Z.AI quota window is spent',
};

export interface QuotaGateHooks {
  gate: Gatekeeper;
  now(): number;
  /** A request refused for `window` (metrics). */
  onReject(window: GateWindow): void;
}

/** `inner` behind the quota gate. */
export function withQuotaGate(inner: Admission, h: QuotaGateHooks): Admission {
  const { gate } = h;
  function refuse(window: GateWindow, retryAfterSec: number, probing: boolean): Promise<never> {
    h.onReject(window);
    const at = new Date(h.now() + retryAfterSec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const then = probing ? `the proxy tries one request again at ${at}` : `it resets at ${at}`;
    return Promise.reject(
      new GatewayError('QUOTA_EXHAUSTED', `${WINDOW_TEXT[window]}; ${then}`, retryAfterSec),
    );
  }
  async function probe(req: AdmissionRequest, signal: AbortSignal, account: string): Promise<Permit> {
    if (!(await gate.takeProbe(account))) {
      const v = gate.check(account);
      if (!v.admit) return refuse(v.window, v.retryAfterSec, true);
      if (v.probe) return refuse(v.window, 1, true); // taken by another replica just now
      return inner.acquire(req, signal);
    }
    const permit = await inner.acquire(req, signal);
    return {
      release(outcome, latencyMs) {
        // Any real answer but a quota error (which closes the gate again through the signal) means
        // the account is served again.
        if (outcome.type === 'ok') gate.probeAnswered(account);
        permit.release(outcome, latencyMs);
      },
    };
  }
  return {
    acquire(req, signal) {
      const account = accountOf(req.client);
      const v = gate.check(account);
      if (v.admit && !v.probe) return inner.acquire(req, signal);
      if (!v.admit) return refuse(v.window, v.retryAfterSec, v.probing);
      return probe(req, signal, account);
    },
    health: () => inner.health(),
    // The attempt loop asks the outermost admission whether a 1302 goes back in line; without this
    // the gate hid it and every 1302 took the retry policy (with MAX_RETRIES=0: to the client).
    ...(inner.requeuesConcurrency !== undefined ? { requeuesConcurrency: inner.requeuesConcurrency } : {}),
    close: () => inner.close?.() ?? Promise.resolve(),
  };
}

/** Closes the gate on Z.AI's quota answers, for the window the answer named ('unknown' if none). */
export function quotaSignalListener(
  onAnswer: (account: string, window: GateWindow, resetAtMs: number | null) => void,
): SignalListener {
  return (s) => {
    if (s.type !== 'zai_error' || s.class !== 'quota') return;
    onAnswer(accountOf(s.client), s.quotaWindow ?? 'unknown', s.resetAtMs);
  };
}
