// The count_tokens route's own behaviour: Z.AI's Anthropic endpoint does not implement it (Claude
// Code calls it every turn), so a "not implemented" answer from upstream is replaced by the local
// cl100k estimate, marked as such. An expected answer, not an upstream error to alert on.
import type { Exchange } from '../exchange.ts';
import type { StatusFallback } from '../upstream/forward.ts';

/** Statuses meaning the upstream does not implement count_tokens. */
const UNSUPPORTED = new Set([404, 405, 501]);

/** The fallback for count_tokens; `countLocally` is null when token counting is off. */
export function countTokensFallback(countLocally: (x: Exchange) => Promise<number> | null): StatusFallback {
  return (x, status) => {
    if (!UNSUPPORTED.has(status)) return null;
    const count = countLocally(x);
    return count === null ? null : count.then((n) => answer(x, n));
  };
}

function answer(x: Exchange, n: number): void {
  if (x.clientGone) return;
  const body = `{"input_tokens":${n}}`;
  x.head(200, {
    'content-type': 'application/json',
    'content-length': body.length,
    'x-request-id': x.id,
    'x-token-input': String(n),
    'x-token-source': 'estimate',
  });
  x.end(body);
}
