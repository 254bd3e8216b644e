// Whether an upstream implements count_tokens. Z.AI's Anthropic surface answers 404 to it while
// Claude Code calls it every turn, so after one 404/405/501 the proxy answers locally for a while
// instead of paying a failed round trip per turn, then asks again (the endpoint may appear).
// Pure: the caller passes the clock.

/** Statuses meaning the upstream does not implement count_tokens. */
export const COUNT_TOKENS_UNSUPPORTED: ReadonlySet<number> = new Set([404, 405, 501]);

/** At most this many upstreams are remembered (origins come from configuration: one or two). */
const MAX_ORIGINS = 16;

export class CountTokensSupport {
  private readonly until = new Map<string, number>();

  /** @param rememberMs how long an "unsupported" answer is trusted before asking again. */
  constructor(private readonly rememberMs: number) {}

  /** True while a recent answer said this upstream lacks count_tokens. */
  knownUnsupported(origin: string, nowMs: number): boolean {
    const t = this.until.get(origin);
    if (t === undefined) return false;
    if (nowMs < t) return true;
    this.until.delete(origin); // expired: ask again
    return false;
  }

  /** Records an answer of the upstream to count_tokens. */
  record(origin: string, status: number, nowMs: number): void {
    if (COUNT_TOKENS_UNSUPPORTED.has(status)) {
      if (this.rememberMs <= 0) return;
      if (!this.until.has(origin) && this.until.size >= MAX_ORIGINS) return;
      this.until.set(origin, nowMs + this.rememberMs);
    } else if (status >= 200 && status < 300) {
      this.until.delete(origin); // it answers now
    }
  }
}
