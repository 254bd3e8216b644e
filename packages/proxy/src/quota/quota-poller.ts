// The quota poller: GET {ZAI_QUOTA_BASE_URL}/api/monitor/usage/quota/limit with the raw key, at once
// and then every interval, keeping the last good sample and whether it is still fresh. Each poll is
// an authenticated call, so it is off unless QUOTA_POLL_ENABLED. It never follows a redirect (the key
// would go to another origin), reads at most 64 KiB, gives up after its timeout, and stops cleanly.
import { Agent, request } from 'undici';
import type { Logger } from '../log.ts';
import { parseQuotaPayload, type QuotaSnapshot } from './quota-schema.ts';

export const QUOTA_PATH = '/api/monitor/usage/quota/limit';
/** Read budget of one reply: real ones are under 2 KiB. */
export const QUOTA_READ_BUDGET = 65_536; // 64 KiB

export type PollResult = 'success' | 'error' | 'malformed';

/** What the poller knows; its /health section and the gate read it. */
export interface PollState {
  /** Last good sample, kept through failures. */
  sample: QuotaSnapshot | null;
  lastSuccessMs: number | null;
  lastOutcome: PollResult | null;
  /** The current staleness has been counted (re-armed by a success). */
  staleCounted: boolean;
}

export const initialPollState = (): PollState => ({
  sample: null,
  lastSuccessMs: null,
  lastOutcome: null,
  staleCounted: false,
});

/** A sample exists and is no older than staleAfterMs (boundary inclusive). */
export function isFresh(s: PollState, nowMs: number, staleAfterMs: number): boolean {
  return s.sample !== null && s.lastSuccessMs !== null && nowMs - s.lastSuccessMs <= staleAfterMs;
}

/** The state after one poll, and whether this poll is the first one of a stale stretch. Pure. */
export function afterPoll(
  s: PollState,
  result: { ok: true; snapshot: QuotaSnapshot } | { ok: false; outcome: 'error' | 'malformed' },
  nowMs: number,
  staleAfterMs: number,
): { state: PollState; becameStale: boolean } {
  const next: PollState = result.ok
    ? { sample: result.snapshot, lastSuccessMs: nowMs, lastOutcome: 'success', staleCounted: false }
    : { ...s, lastOutcome: result.outcome };
  // A poller that never succeeded is stale from its first failed poll; one stretch counts once.
  const becameStale = !isFresh(next, nowMs, staleAfterMs) && !next.staleCounted;
  if (becameStale) next.staleCounted = true;
  return { state: next, becameStale };
}

export interface PollClock {
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface QuotaPollerOptions {
  baseUrl: string;
  apiKey: string;
  intervalMs: number;
  timeoutMs: number;
  staleAfterMs: number;
  clock: PollClock;
  log: Logger;
  /** Called after every poll with the new state (metrics, gate, forecast). */
  onPoll(state: PollState, result: PollResult, becameStale: boolean): void | Promise<void>;
}

export interface QuotaPoller {
  /** Polls at once, then every interval, until stop(). */
  start(): void;
  /** One poll now (tests and the loop). */
  pollOnce(): Promise<PollResult>;
  state(): PollState;
  /** Ends the loop and any poll in flight; resolves when nothing is left running. */
  stop(): Promise<void>;
}

export function createQuotaPoller(o: QuotaPollerOptions): QuotaPoller {
  const url = `${o.baseUrl.replace(/\/+$/, '')}${QUOTA_PATH}`;
  const agent = new Agent({ connect: { timeout: o.timeoutMs }, keepAliveTimeout: 10_000 });
  const stopping = new AbortController();
  let state = initialPollState();
  let loop: Promise<void> | null = null;

  async function pollOnce(): Promise<PollResult> {
    const fetched = await fetchQuota(url, o.apiKey, o.timeoutMs, agent, stopping.signal);
    const now = o.clock.now();
    const parsed = fetched.ok ? parseQuotaPayload(fetched.text, now) : fetched;
    const { state: next, becameStale } = afterPoll(state, parsed, now, o.staleAfterMs);
    state = next;
    if (parsed.ok)
      o.log.info(
        { windows: parsed.snapshot.windows.length },
        `quota poll ok: windows=${parsed.snapshot.windows.length}`,
      );
    else if (parsed.outcome === 'error' && 'providerCode' in parsed && parsed.providerCode !== null)
      o.log.warn({ outcome: parsed.outcome, providerCode: parsed.providerCode }, parsed.reason);
    else o.log.warn({ outcome: parsed.outcome }, `quota poll failed: ${parsed.reason}`);
    const result: PollResult = parsed.ok ? 'success' : parsed.outcome;
    await o.onPoll(state, result, becameStale);
    return result;
  }

  async function run(): Promise<void> {
    while (!stopping.signal.aborted) {
      await pollOnce().catch((err: unknown) =>
        o.log.error({ err: (err as Error).message }, 'quota poll crashed'),
      );
      try {
        await o.clock.sleep(o.intervalMs, stopping.signal);
      } catch {
        return; // stopped
      }
    }
  }

  return {
    start() {
      loop ??= run();
    },
    pollOnce,
    state: () => state,
    async stop() {
      stopping.abort();
      await loop;
      await agent.close().catch(() => {});
    },
  };
}

type Fetched = { ok: true; text: string } | { ok: false; outcome: 'error'; reason: string };

// One GET, bounded in time and bytes. Failure reasons are the proxy's own words plus a status or an
// error code: never the provider's body, never the key.
async function fetchQuota(
  url: string,
  key: string,
  timeoutMs: number,
  agent: Agent,
  stop: AbortSignal,
): Promise<Fetched> {
  const signal = AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]);
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: 'GET',
      dispatcher: agent,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      headers: { authorization: key, accept: 'application/json', 'accept-language': 'en-US,en;q=0.9' },
    });
  } catch (err) {
    return { ok: false, outcome: 'error', reason: transportReason(err, signal, stop) };
  }
  try {
    if (res.statusCode !== 200) {
      // 3xx included: undici's request() follows no redirect, and the key must not go elsewhere.
      await res.body.dump({ limit: QUOTA_READ_BUDGET }).catch(() => {});
      return { ok: false, outcome: 'error', reason: `unexpected status ${res.statusCode}` };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res.body) {
      size += (c as Buffer).length;
      if (size > QUOTA_READ_BUDGET) {
        // Leaving the loop destroys the body (and the connection with it).
        return {
          ok: false,
          outcome: 'error',
          reason: `response exceeds the read budget of ${QUOTA_READ_BUDGET} bytes`,
        };
      }
      chunks.push(c as Buffer);
    }
    return { ok: true, text: Buffer.concat(chunks, size).toString('utf8') };
  } catch (err) {
    return { ok: false, outcome: 'error', reason: transportReason(err, signal, stop) };
  }
}

function transportReason(err: unknown, signal: AbortSignal, stop: AbortSignal): string {
  if (stop.aborted) return 'cancelled by shutdown';
  if (signal.aborted) return 'timed out';
  const code = (err as { code?: unknown }).code;
  return `transport error${typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? ` (${code})` : ''}`;
}
