// The count_tokens route's own behaviour. Z.AI's Anthropic endpoint does not implement it while
// Claude Code calls it every turn and sizes its auto-compaction from the answer. So:
// - a "not implemented" answer (404/405/501) is replaced by the local estimate, and remembered per
//   upstream for COUNT_TOKENS_UNSUPPORTED_TTL, during which the proxy answers locally without a
//   failed round trip; a 2xx from upstream passes through and clears the memory;
// - the local estimate is cl100k calibrated per model against the input usage Z.AI reports
//   (`X-Token-Source: estimate-calibrated`), or the raw estimate until a model has a ratio
//   (`estimate`). An expected answer, not an upstream error to alert on.
import type { Clock } from '../clock.ts';
import type { Exchange } from '../exchange.ts';
import type { StatusFallback } from '../upstream/forward.ts';
import type { LocalCount } from '../usage/count-tokens.ts';
import { COUNT_TOKENS_UNSUPPORTED } from '../usage/count-tokens-support.ts';
import type { Accounting } from '../usage/index.ts';

/** Runs one count_tokens exchange; `send` forwards it upstream with the given fallback. */
export type CountTokensRoute = (
  x: Exchange,
  send: (fallback?: StatusFallback) => Promise<void>,
) => Promise<void>;

export function countTokensRoute(accounting: Accounting, clock: Clock): CountTokensRoute {
  const local = accounting.local;
  return async (x, send) => {
    if (local === null) return send(); // counting off: upstream's answer passes through, whatever it is
    const origin = x.route.origin;
    if (local.support.knownUnsupported(origin, clock.now())) {
      const count = accounting.countTokensLocally(x);
      if (count !== null) return answer(x, await count);
    }
    let answeredLocally = false;
    await send((fx, status) => {
      if (!COUNT_TOKENS_UNSUPPORTED.has(status)) return null;
      local.support.record(origin, status, clock.now());
      const count = accounting.countTokensLocally(fx);
      if (count === null) return null;
      answeredLocally = true;
      return count.then((c) => answer(fx, c));
    });
    if (!answeredLocally) local.support.record(origin, x.status, clock.now()); // a 2xx clears the memory
  };
}

function answer(x: Exchange, c: LocalCount): void {
  if (x.clientGone) return;
  const body = `{"input_tokens":${c.tokens}}`;
  x.head(200, {
    'content-type': 'application/json',
    'content-length': body.length,
    'x-request-id': x.id,
    'x-token-input': String(c.tokens),
    'x-token-source': c.source,
  });
  x.end(body);
}
