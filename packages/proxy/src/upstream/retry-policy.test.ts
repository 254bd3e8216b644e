import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { retryAfterFromHeaders } from './retry-after.ts';
import {
  backoffMs,
  CLASS_RETRY,
  decideRetry,
  FAIR_USE_BACKOFF_MS,
  jitterMs,
  type RetryDecision,
  type RetryInput,
} from './retry-policy.ts';
import { classifyZaiError, ZAI_CLASSES } from './zai-classifier.ts';

const NOW = Date.UTC(2026, 8, 6, 0, 0, 0);
const HOUR = 3600_000;
const json = (v: unknown): string => JSON.stringify(v);
const pinned = (): number => 0; // jitter pinned: jittered waits are exactly half the plain curve

// A failed attempt as the attempt loop sees it.
interface Outcome {
  kind?: RetryInput['kind']; // 'status' unless given
  status?: number; // 429 unless given
  body?: string | null;
  headers?: Record<string, string>;
}

function input(o: Outcome, attempt: number, over: Partial<RetryInput> = {}): RetryInput {
  const kind = o.kind ?? 'status';
  const status = o.status ?? 429;
  return {
    kind,
    ...(kind === 'status' ? { status, zai: classifyZaiError(status, o.body ?? null) } : {}),
    headerRetryAfterMs: retryAfterFromHeaders(o.headers ?? {}, NOW),
    attempt,
    maxRetries: 3,
    maxRetryWaitMs: 60_000,
    nowMs: NOW,
    random: pinned,
    ...over,
  };
}

interface Run {
  calls: number;
  waits: number[];
  reasons: (string | null)[];
  fed: number; // rate-limiter feeds
  final: RetryDecision | 'success';
}

// Drives decideRetry the way the attempt loop does: one call per attempt until success or give-up.
function simulate(outcomes: (Outcome | 'success')[], over: Partial<RetryInput> = {}): Run {
  const run: Run = { calls: 0, waits: [], reasons: [], fed: 0, final: 'success' };
  for (let attempt = 0; attempt < outcomes.length; attempt++) {
    run.calls++;
    const o = outcomes[attempt]!;
    if (o === 'success') return run;
    const d = decideRetry(input(o, attempt, over));
    if (d.feedRateLimiter) run.fed++;
    if (!d.retry) {
      run.final = d;
      return run;
    }
    run.waits.push(d.delayMs);
    run.reasons.push(d.reason);
  }
  throw new Error('scenario ran out of outcomes');
}

const times = <T>(n: number, v: T): T[] => Array.from({ length: n }, () => v);
const beijing = (ms: number): string => new Date(ms + 8 * HOUR).toISOString().slice(0, 19).replace('T', ' ');

test('backoffMs: 2^(n−1) s, shift capped', () => {
  const rows: [number, number][] = [
    [Number.NaN, 0],
    [-1, 0],
    [0, 0],
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [10, 512_000],
    [33, 2 ** 32 * 1000],
    [1000, 2 ** 32 * 1000],
  ];
  for (const [n, want] of rows) assert.equal(backoffMs(n), want, `n=${n}`);
});

test('jitterMs: [base/2, base), bad samples count as 0', () => {
  const rows: [number, number, number][] = [
    [1000, 0, 500],
    [1000, 0.5, 750],
    [2000, 0.25, 1250],
    [1000, 1, 500],
    [1000, 1.5, 500],
    [1000, -0.1, 500],
    [1000, Number.NaN, 500],
    [0, 0.5, 0],
  ];
  for (const [base, u, want] of rows) assert.equal(jitterMs(base, u), want, `base=${base} u=${u}`);
  assert.ok(jitterMs(1000, 1 - Number.EPSILON) < 1000);
});

describe("the Go proxy's retry contracts, defects fixed (jitter pinned to 0)", () => {
  test('429 empty body with Retry-After 3, then 200: one wait of 3 s, not [3 s, 1 s]', () => {
    const r = simulate([{ body: '', headers: { 'retry-after': '3' } }, 'success'], { maxRetries: 1 });
    assert.deepEqual(r.waits, [3000]);
    assert.deepEqual(r.reasons, ['429']);
    assert.equal(r.calls, 2);
    assert.equal(r.fed, 1);
  });

  test('429 ×3 without hints, MAX_RETRIES 2: waits 1 s, 2 s, then the 429 goes back', () => {
    const r = simulate(times(3, { body: '' }), { maxRetries: 2 });
    assert.deepEqual(r.waits, [1000, 2000]);
    assert.equal(r.calls, 3);
    assert.equal(r.fed, 3);
    assert.deepEqual(r.final, {
      retry: false,
      delayMs: 0,
      reason: null,
      feedRateLimiter: true,
      clientRetryAfterSec: null,
      why: 'budget_exhausted',
    });
  });

  test('frequency 1303: waits 0.5 s, 1 s and the limiter is fed each time', () => {
    const r = simulate(times(3, { body: json({ error: { code: '1303' } }) }), { maxRetries: 2 });
    assert.deepEqual(r.waits, [500, 1000]);
    assert.equal(r.fed, 3);
    assert.equal((r.final as RetryDecision).why, 'budget_exhausted');
  });

  test('overload 1305: jittered like frequency, but the limiter is not fed (Z.AI is busy, not us)', () => {
    const r = simulate(times(3, { body: json({ error: { code: '1305' } }) }), { maxRetries: 2 });
    assert.deepEqual(r.waits, [500, 1000]);
    assert.equal(r.fed, 0);
    assert.equal((r.final as RetryDecision).why, 'budget_exhausted');
  });

  test('concurrency 1302: waits 1 s, 2 s, limiter untouched', () => {
    const r = simulate(times(3, { body: json({ code: 1302 }) }), { maxRetries: 2 });
    assert.deepEqual(r.waits, [1000, 2000]);
    assert.equal(r.fed, 0);
  });

  test('model congestion 1312: waits 0.5 s, 1 s, limiter untouched', () => {
    const r = simulate(times(3, { body: json({ code: '1312' }) }), { maxRetries: 2 });
    assert.deepEqual(r.waits, [500, 1000]);
    assert.equal(r.fed, 0);
  });

  test('jittered waits always within [plain/2, plain)', () => {
    const samples = [0, 0.1, 0.5, 0.9, 0.999999, 1 - Number.EPSILON];
    for (const body of [json({ code: 1312 }), json({ code: 1303 }), '']) {
      const status = body === '' ? 529 : 429;
      for (let attempt = 0; attempt < 6; attempt++) {
        const plain = backoffMs(attempt + 1);
        for (const u of samples) {
          const d = decideRetry(
            input({ status, body }, attempt, { maxRetries: 10, maxRetryWaitMs: Infinity, random: () => u }),
          );
          assert.ok(
            d.retry && d.delayMs >= plain / 2 && d.delayMs < plain,
            `${body} #${attempt} u=${u}: ${d.delayMs}`,
          );
        }
      }
    }
  });

  test('quota 1308 with reset_time an hour ahead: no retry, Retry-After from the reset', () => {
    const r = simulate([{ body: json({ error: { code: '1308' }, reset_time: (NOW + HOUR) / 1000 }) }]);
    assert.equal(r.calls, 1);
    assert.equal(r.fed, 0);
    const d = r.final as RetryDecision;
    assert.equal(d.why, 'not_retryable');
    assert.ok(
      d.clientRetryAfterSec! >= 3500 && d.clientRetryAfterSec! <= 3600,
      String(d.clientRetryAfterSec),
    );
  });

  test('quota 1310 with the reset only in message text: same', () => {
    const msg = `Weekly/Monthly Limit Exhausted. Your limit will reset at ${beijing(NOW + HOUR)}`;
    const r = simulate([{ body: json({ code: 1310, msg }) }]);
    const d = r.final as RetryDecision;
    assert.equal(r.calls, 1);
    assert.equal(d.why, 'not_retryable');
    assert.ok(
      d.clientRetryAfterSec! >= 3500 && d.clientRetryAfterSec! <= 3600,
      String(d.clientRetryAfterSec),
    );
  });

  test('quota on the very first attempt is never retried, even with budget left', () => {
    const d = decideRetry(input({ body: json({ code: 1308 }) }, 0, { maxRetries: 10 }));
    assert.deepEqual(d, {
      retry: false,
      delayMs: 0,
      reason: null,
      feedRateLimiter: false,
      clientRetryAfterSec: null,
      why: 'not_retryable',
    });
  });

  test('quota with an explicit Retry-After: 5 and no reset', () => {
    const d = decideRetry(input({ body: json({ code: 1308 }), headers: { 'retry-after': '5' } }, 0));
    assert.equal(d.why, 'not_retryable');
    assert.equal(d.clientRetryAfterSec, 5);
  });

  test('unknown code 9999: waits 1 s, 2 s, limiter fed', () => {
    const r = simulate(times(3, { body: json({ code: 9999 }) }), { maxRetries: 2 });
    assert.deepEqual(r.waits, [1000, 2000]);
    assert.equal(r.fed, 3);
  });

  test('1303 with header 7 s and body 9 s: one wait of 9 s', () => {
    const r = simulate(
      [{ body: json({ code: '1303', retry_after: 9 }), headers: { 'retry-after': '7' } }, 'success'],
      {
        maxRetries: 1,
      },
    );
    assert.deepEqual(r.waits, [9000]);
  });

  test('oversized 429 body: unknown, 3 attempts, limiter fed', () => {
    const body = json({ pad: 'x'.repeat(40_000), code: '1302' });
    const r = simulate(times(3, { body }), { maxRetries: 2 });
    assert.deepEqual(r.waits, [1000, 2000]);
    assert.equal(r.fed, 3);
  });

  test('network error, MAX_RETRIES 2: waits 1 s, 2 s, then give up', () => {
    const r = simulate(times(3, { kind: 'network' }), { maxRetries: 2 });
    assert.deepEqual(r.waits, [1000, 2000]);
    assert.deepEqual(r.reasons, ['network_error', 'network_error']);
    assert.equal(r.fed, 0);
    assert.equal((r.final as RetryDecision).why, 'budget_exhausted');
    assert.equal((r.final as RetryDecision).clientRetryAfterSec, null);
  });

  for (const kind of ['truncated_response', 'empty_streaming'] as const) {
    test(`${kind}, MAX_RETRIES 3: N+1 calls, N retries on the plain curve`, () => {
      const r = simulate(times(4, { kind }));
      assert.equal(r.calls, 4);
      assert.deepEqual(r.waits, [1000, 2000, 4000]);
      assert.deepEqual(r.reasons, [kind, kind, kind]);
    });
  }

  for (const status of [400, 404, 422, 500, 503]) {
    test(`${status} passes through: 1 call, no retry`, () => {
      const r = simulate([
        { status, body: json({ error: { message: 'x' } }), headers: { 'retry-after': '1' } },
      ]);
      assert.equal(r.calls, 1);
      assert.deepEqual(r.final, {
        retry: false,
        delayMs: 0,
        reason: null,
        feedRateLimiter: false,
        clientRetryAfterSec: null,
        why: 'not_retryable',
      });
    });
  }
});

describe('decideRetry: delays are one wait, never stacked', () => {
  const rows: [string, Outcome, number, number][] = [
    // [name, outcome, attempt, expected delay]
    ['unknown: header below the backoff', { body: '', headers: { 'retry-after': '1' } }, 1, 2000],
    ['unknown: header above the backoff', { body: '', headers: { 'retry-after': '3' } }, 1, 3000],
    [
      'unknown: HTTP-date header',
      { body: '', headers: { 'retry-after': new Date(NOW + 5000).toUTCString() } },
      0,
      5000,
    ],
    ['unknown: retry-after-ms header', { body: '', headers: { 'retry-after-ms': '1500' } }, 0, 1500],
    ['unknown: body retry_after honoured', { body: json({ retry_after: 4 }) }, 0, 4000],
    ['unknown: body retry_after below the backoff', { body: json({ retry_after: 0.5 }) }, 0, 1000],
    [
      'frequency: header wins over jittered backoff',
      { body: json({ code: 1303 }), headers: { 'retry-after': '2' } },
      0,
      2000,
    ],
    ['frequency: jittered backoff wins', { body: json({ code: 1303, retry_after: 0.2 }) }, 2, 2000],
    ['overload 1305: jittered backoff wins', { body: json({ code: 1305, retry_after: 0.2 }) }, 2, 2000],
    ['concurrency: body hint wins', { body: json({ code: 1302, retry_after: 5 }) }, 0, 5000],
    ['concurrency: plain backoff, no jitter', { body: json({ code: 1302 }) }, 2, 4000],
    ['congestion: header wins', { body: json({ code: 1312 }), headers: { 'retry-after': '6' } }, 0, 6000],
    ['overloaded 529: jittered backoff', { status: 529, body: '' }, 1, 1000],
    ['overloaded 529: header wins', { status: 529, body: '', headers: { 'retry-after': '3' } }, 0, 3000],
    ['529 carrying 1305: overload curve', { status: 529, body: json({ code: 1305 }) }, 0, 500],
    ['zero header is no hint', { body: '', headers: { 'retry-after': '0' } }, 0, 1000],
  ];
  for (const [name, o, attempt, want] of rows) {
    test(name, () => {
      const d = decideRetry(input(o, attempt));
      assert.equal(d.retry, true);
      assert.equal(d.delayMs, want);
      assert.equal(d.why, 'retry');
      assert.equal(d.clientRetryAfterSec, null);
    });
  }

  test('reason label: 429 for 429s, overloaded for 529s', () => {
    assert.equal(decideRetry(input({ body: json({ code: 1302 }) }, 0)).reason, '429');
    assert.equal(decideRetry(input({ status: 529, body: '' }, 0)).reason, 'overloaded');
    assert.equal(decideRetry(input({ status: 529, body: json({ code: 1305 }) }, 0)).reason, 'overloaded');
  });

  test('transport failures ignore response hints', () => {
    const d = decideRetry(input({ kind: 'network' }, 0, { headerRetryAfterMs: 30_000 }));
    assert.equal(d.delayMs, 1000);
  });
});

describe('decideRetry: cap on a single wait', () => {
  test('Retry-After 3600 with a 60 s cap: the 429 goes back at once', () => {
    const d = decideRetry(input({ body: '', headers: { 'retry-after': '3600' } }, 0));
    assert.deepEqual(d, {
      retry: false,
      delayMs: 0,
      reason: null,
      feedRateLimiter: true,
      clientRetryAfterSec: 3600,
      why: 'wait_exceeds_cap',
    });
  });

  test('a wait exactly at the cap is taken', () => {
    const d = decideRetry(input({ body: '', headers: { 'retry-after': '60' } }, 0));
    assert.equal(d.retry, true);
    assert.equal(d.delayMs, 60_000);
  });

  test('body hint above the cap', () => {
    const d = decideRetry(input({ body: json({ code: 1303, retry_after: 120.2 }) }, 0));
    assert.equal(d.why, 'wait_exceeds_cap');
    assert.equal(d.clientRetryAfterSec, 121);
    assert.equal(d.feedRateLimiter, true);
  });

  test('backoff above the cap', () => {
    const d = decideRetry(input({ body: json({ code: 1302 }) }, 3, { maxRetries: 10, maxRetryWaitMs: 5000 }));
    assert.equal(d.why, 'wait_exceeds_cap');
    assert.equal(d.clientRetryAfterSec, 8);
  });

  test('network backoff above the cap: give up without a client hint', () => {
    const d = decideRetry(input({ kind: 'network' }, 4, { maxRetries: 10, maxRetryWaitMs: 10_000 }));
    assert.equal(d.why, 'wait_exceeds_cap');
    assert.equal(d.clientRetryAfterSec, null);
  });

  test('budget is checked before the cap', () => {
    const d = decideRetry(input({ body: '', headers: { 'retry-after': '3600' } }, 3));
    assert.equal(d.why, 'budget_exhausted');
    assert.equal(d.clientRetryAfterSec, 3600);
  });
});

describe('decideRetry: never retried', () => {
  const rows: [string, Outcome, boolean][] = [
    // [name, outcome, feeds the limiter]
    ['timeout', { kind: 'timeout' }, false],
    ['401 auth', { status: 401, body: '' }, false],
    ['403 auth', { status: 403, body: json({ error: { message: 'forbidden' } }) }, false],
    ['429 billing 1113', { body: json({ code: 1113 }) }, false],
    ['401 billing 1113', { status: 401, body: json({ code: '1113' }) }, false],
    ['500 carrying 1302', { status: 500, body: json({ code: 1302 }) }, false],
    ['400 carrying 1303', { status: 400, body: json({ code: 1303 }) }, false],
    ['quota 1310', { body: json({ code: 1310 }) }, false],
  ];
  for (const [name, o, feed] of rows) {
    test(name, () => {
      const d = decideRetry(input(o, 0, { maxRetries: 5 }));
      assert.equal(d.retry, false);
      assert.equal(d.why, 'not_retryable');
      assert.equal(d.delayMs, 0);
      assert.equal(d.reason, null);
      assert.equal(d.feedRateLimiter, feed);
    });
  }
});

describe('decideRetry: budget', () => {
  const rows: [string, number, number, RetryDecision['why']][] = [
    ['attempt below budget', 2, 3, 'retry'],
    ['attempt at budget', 3, 3, 'budget_exhausted'],
    ['attempt past budget', 4, 3, 'budget_exhausted'],
    ['MAX_RETRIES 0', 0, 0, 'budget_exhausted'],
    ['negative budget', 0, -1, 'budget_exhausted'],
    ['NaN budget', 0, Number.NaN, 'budget_exhausted'],
  ];
  for (const [name, attempt, maxRetries, why] of rows) {
    test(name, () => {
      for (const o of [{ body: '' }, { kind: 'network' as const }]) {
        const d = decideRetry(input(o, attempt, { maxRetries, maxRetryWaitMs: Infinity }));
        assert.equal(d.why, why, `${name} ${o.kind ?? 'status'}`);
      }
    });
  }

  test('giving up on a 429 derives the client Retry-After from the largest hint', () => {
    const rows: [string, Outcome, number | null][] = [
      ['no hint', { body: '' }, null],
      ['body retry_after', { body: json({ retry_after: 30 }) }, 30],
      ['fractional body hint rounds up', { body: json({ retry_after: 1.2 }) }, 2],
      ['retry-after-ms header', { body: '', headers: { 'retry-after-ms': '1500' } }, 2],
      ['reset ahead', { body: json({ code: 1303, reset_at: NOW + 90_000 }) }, 90],
      ['reset in the past', { body: json({ code: 1303, reset_at: NOW - 90_000 }) }, null],
      [
        'largest wins',
        { body: json({ retry_after: 10, reset_at: NOW + 20_000 }), headers: { 'retry-after': '5' } },
        20,
      ],
    ];
    for (const [name, o, want] of rows) {
      const d = decideRetry(input(o, 3));
      assert.equal(d.why, 'budget_exhausted', name);
      assert.equal(d.clientRetryAfterSec, want, name);
    }
  });
});

test('feedRateLimiter matrix: exactly 429 of class frequency (1303) or unknown, retried or not', () => {
  const rows: [string, Outcome, boolean][] = [
    ['429 frequency', { body: json({ code: 1303 }) }, true],
    ['429 overload 1305', { body: json({ code: 1305 }) }, false],
    ['429 fair use 1313', { body: json({ code: 1313 }) }, false],
    ['429 daily quota 1304', { body: json({ code: 1304 }) }, false],
    ['429 unknown empty', { body: '' }, true],
    ['429 unknown code', { body: json({ code: 9999 }) }, true],
    ['429 concurrency', { body: json({ code: 1302 }) }, false],
    ['429 congestion', { body: json({ code: 1312 }) }, false],
    ['429 quota', { body: json({ code: 1308 }) }, false],
    ['429 billing', { body: json({ code: 1113 }) }, false],
    ['529 overloaded', { status: 529, body: '' }, false],
    ['529 overload 1305', { status: 529, body: json({ code: 1305 }) }, false],
    ['500', { status: 500, body: '' }, false],
    ['401', { status: 401, body: '' }, false],
    ['network', { kind: 'network' }, false],
    ['truncated', { kind: 'truncated_response' }, false],
    ['timeout', { kind: 'timeout' }, false],
  ];
  for (const [name, o, want] of rows) {
    for (const attempt of [0, 3]) {
      // attempt 3 of 3: budget exhausted, the signal still counts
      assert.equal(decideRetry(input(o, attempt)).feedRateLimiter, want, `${name} attempt ${attempt}`);
    }
  }
});

test('zai omitted: classified from the status alone', () => {
  const base = {
    headerRetryAfterMs: null,
    attempt: 0,
    maxRetries: 3,
    maxRetryWaitMs: 60_000,
    nowMs: NOW,
    random: pinned,
  };
  const d429 = decideRetry({ ...base, kind: 'status', status: 429 });
  assert.deepEqual([d429.retry, d429.delayMs, d429.feedRateLimiter], [true, 1000, true]);
  const d529 = decideRetry({ ...base, kind: 'status', status: 529 });
  assert.deepEqual([d529.retry, d529.delayMs, d529.reason], [true, 500, 'overloaded']);
  const d401 = decideRetry({ ...base, kind: 'status', status: 401 });
  assert.equal(d401.why, 'not_retryable');
  const dNone = decideRetry({ ...base, kind: 'status' });
  assert.equal(dNone.why, 'not_retryable');
});

describe('the classes added with the full code list', () => {
  for (const [code, cls] of [
    ['1304', 'quota'],
    ['1309', 'billing'],
    ['1311', 'permission'],
    ['1261', 'request'],
  ] as const) {
    test(`${code} (${cls}) is never retried, even with budget left`, () => {
      const r = simulate(times(3, { body: json({ error: { code } }) }), { maxRetries: 5 });
      assert.equal(r.calls, 1);
      assert.equal(r.fed, 0);
      assert.equal((r.final as RetryDecision).why, 'not_retryable');
    });
  }

  test('1304 daily quota carries the reset from the message as Retry-After', () => {
    const msg = `Daily call limit reached. Your limit will reset at ${beijing(NOW + HOUR)}`;
    const d = decideRetry(input({ body: json({ code: 1304, msg }) }, 0));
    assert.equal(d.why, 'not_retryable');
    assert.ok(
      d.clientRetryAfterSec! >= 3500 && d.clientRetryAfterSec! <= 3600,
      String(d.clientRetryAfterSec),
    );
  });

  test('1313 fair use: not retried; the client is told to stay away at least the fair-use back-off', () => {
    const d = decideRetry(input({ body: json({ error: { code: '1313' } }) }, 0, { maxRetries: 5 }));
    assert.equal(d.retry, false);
    assert.equal(d.feedRateLimiter, false);
    assert.equal(d.clientRetryAfterSec, FAIR_USE_BACKOFF_MS / 1000);
    // a longer hint from upstream wins over the floor
    const long = decideRetry(
      input({ body: json({ code: 1313 }), headers: { 'retry-after': '7200' } }, 0, { maxRetries: 5 }),
    );
    assert.equal(long.clientRetryAfterSec, 7200);
  });

  test('every class has a retry rule, and only the retryable ones may be retried by the client', () => {
    for (const cls of Object.keys(ZAI_CLASSES) as (keyof typeof ZAI_CLASSES)[]) {
      const rule = CLASS_RETRY[cls];
      assert.ok(rule !== undefined, cls);
      // A class the proxy itself never retries is one no client retry can fix either.
      assert.equal(ZAI_CLASSES[cls].clientMayRetry, rule !== 'never' && rule !== 'long', cls);
    }
  });
});
