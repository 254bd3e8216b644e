// Query-string validation for every route: known parameters only, each checked, errors naming the
// parameter. The original accepted any Go duration (negative ones too) and any variant.
import { parseDuration } from '../config.ts';
import { badParam } from './errors.ts';

export const NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
export const RANGES = ['5m', '15m', '1h', '6h', '24h', '7d'] as const;

/** The query of a URL, refusing parameters the route does not know and repeated ones. */
export function readQuery(url: URL, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of url.searchParams) {
    if (!allowed.includes(k)) throw badParam(k, `unknown parameter (allowed: ${allowed.join(', ')})`);
    if (out.has(k)) throw badParam(k, 'given more than once');
    out.set(k, v);
  }
  return out;
}

/** A positive duration in ms within [minMs, maxMs]. */
export function durationParam(
  q: Map<string, string>,
  name: string,
  def: string,
  minMs: number,
  maxMs: number,
): { text: string; ms: number } {
  const text = q.get(name) ?? def;
  const ms = parseDuration(text);
  if (ms === null || !(ms > 0))
    throw badParam(name, `expected a duration like 1h or 7d, got ${JSON.stringify(text)}`);
  if (ms < minMs) throw badParam(name, `at least ${minMs / 1000} s`);
  if (ms > maxMs) throw badParam(name, `at most ${maxMs / 1000} s (the retention)`);
  return { text, ms };
}

/** A variant/client/model name, or undefined when absent (`all` too, for variant). */
export function nameParam(q: Map<string, string>, name: string, allowAll = false): string | undefined {
  const v = q.get(name);
  if (v === undefined || (allowAll && v === 'all')) return undefined;
  if (!NAME.test(v))
    throw badParam(name, `expected 1-64 characters of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(v)}`);
  return v;
}

export function enumParam<T extends string>(
  q: Map<string, string>,
  name: string,
  values: readonly T[],
  def: T,
): T {
  const v = q.get(name) ?? def;
  if (!values.includes(v as T))
    throw badParam(name, `expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

export function timeZoneParam(q: Map<string, string>, name: string, def: string): string {
  const v = q.get(name) ?? def;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: v });
  } catch {
    throw badParam(name, `expected an IANA time zone such as Asia/Kolkata, got ${JSON.stringify(v)}`);
  }
  return v;
}
