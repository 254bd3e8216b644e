// HTTP retry hints of an upstream response (`retry-after`, `retry-after-ms`) as milliseconds from now.

const MONTHS = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const DELTA_SECONDS_RE = /^[0-9]+(?:\.[0-9]+)?$/;
// The three HTTP-date forms of RFC 9110 §5.6.7, gated before Date.parse because V8's parser
// also accepts prose ("hello 2020" → a date).
const IMF_FIXDATE_RE = new RegExp(
  `^[A-Z][a-z]{2}, [0-9]{1,2} ${MONTHS} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$`,
);
const RFC850_RE = new RegExp(`^[A-Z][a-z]{5,8}, [0-9]{2}-${MONTHS}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$`);
const ASCTIME_RE = new RegExp(`^[A-Z][a-z]{2} ${MONTHS} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$`);

/** Parses an HTTP Retry-After header: delta-seconds (integer, or decimal) or an HTTP-date (IMF-fixdate, also RFC 850/asctime via Date.parse). Returns milliseconds from nowMs, or null when absent/invalid/negative (an HTTP-date in the past → 0). */
export function parseRetryAfterHeader(value: string | string[] | undefined, nowMs: number): number | null {
  const first = Array.isArray(value) ? value[0] : value; // duplicates: the first wins, as in node:http
  if (first === undefined) return null;
  const s = first.trim();
  if (DELTA_SECONDS_RE.test(s)) {
    const ms = Math.ceil(Number(s) * 1000); // round up: never retry before upstream asked
    return Number.isFinite(ms) ? ms : null;
  }
  let at = Number.NaN;
  if (IMF_FIXDATE_RE.test(s) || RFC850_RE.test(s)) at = Date.parse(s);
  else if (ASCTIME_RE.test(s)) at = Date.parse(`${s} GMT`); // asctime has no zone; HTTP means GMT
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

/** Retry-After from response headers in ms from nowMs, preferring `retry-after-ms` (milliseconds) over `retry-after`; null if neither is usable. */
export function retryAfterFromHeaders(
  headers: Record<string, string | string[] | undefined>,
  nowMs: number,
): number | null {
  let ms: string | string[] | undefined;
  let plain: string | string[] | undefined;
  for (const name in headers) {
    const lower = name.toLowerCase(); // node:http and undici already lower-case; tolerate other callers
    if (lower === 'retry-after-ms') ms = headers[name];
    else if (lower === 'retry-after') plain = headers[name];
  }
  const msFirst = Array.isArray(ms) ? ms[0] : ms;
  if (msFirst !== undefined) {
    const s = msFirst.trim();
    if (DELTA_SECONDS_RE.test(s)) {
      const v = Math.ceil(Number(s));
      if (Number.isFinite(v)) return v;
    }
  }
  return parseRetryAfterHeader(plain, nowMs);
}
