// Fairness buckets and the `client` label: a configured client name as itself; anyone else (a
// pass-through key digest, a session id, a peer address) hashed into 64 buckets `source-00`…
// `source-63`, as the Go proxy did, so queue state and label values stay bounded.

/** What admission needs of a client identity. */
export interface BucketIdentity {
  readonly kind: 'key' | 'passthrough' | 'peer';
  readonly name: string;
}

export const SOURCE_BUCKETS = 64;
const LABELS = Array.from({ length: SOURCE_BUCKETS }, (_, i) => `source-${String(i).padStart(2, '0')}`);

/** FNV-1a, 32 bit. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** `source-NN` for any string (empty counts as `unknown`). */
export function sourceBucket(s: string): string {
  return LABELS[fnv1a(s === '' ? 'unknown' : s) % SOURCE_BUCKETS]!;
}

const cache = new Map<string, string>(); // names seen → bucket; bounded below
const CACHE_MAX = 4096;

/** The bucket (and label) of a client. */
export function clientBucket(c: BucketIdentity): string {
  if (c.kind === 'key') return c.name;
  let b = cache.get(c.name);
  if (b === undefined) {
    b = sourceBucket(c.name);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(c.name, b);
  }
  return b;
}
