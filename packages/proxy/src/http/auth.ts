// Who is calling: checks the proxy's client keys and names the caller, for admission (fair queueing)
// and per-client usage. The identity never holds a key.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type Config, ConfigError } from '../config.ts';
import { clientCredential } from '../upstream/headers.ts';

/** The caller of one request. `name` is stable per caller and safe to log or use as a map key:
 *  - key: a PROXY_API_KEYS entry, by its name (`name:key`) or its position (`key-1`, `key-2`, …);
 *  - passthrough: no proxy key, the client's own key goes to Z.AI: `sha256:` + 16 hex of its digest;
 *  - peer: the proxy's own key and no client keys (or no key presented): the peer address. */
export interface ClientIdentity {
  readonly kind: 'key' | 'passthrough' | 'peer';
  readonly name: string;
}

export interface Auth {
  /** The caller, or null when client keys are configured and none of them was presented. */
  authenticate(req: IncomingMessage): ClientIdentity | null;
}

/** A named entry: a short name, a colon, the key. Anything else is a plain key. */
const NAMED = /^([A-Za-z0-9_.-]{1,64}):(.+)$/;

export interface ClientKey {
  name: string;
  key: string;
}

/** PROXY_API_KEYS entries as names and keys; a duplicate name or key is a config error. */
export function parseClientKeys(entries: readonly string[]): ClientKey[] {
  const out: ClientKey[] = [];
  const problems: string[] = [];
  entries.forEach((e, i) => {
    const m = NAMED.exec(e);
    const k = m === null ? { name: `key-${i + 1}`, key: e } : { name: m[1]!, key: m[2]! };
    if (out.some((o) => o.name === k.name))
      problems.push(`PROXY_API_KEYS: entry ${i + 1}: duplicate name ${k.name}`);
    else if (out.some((o) => o.key === k.key)) problems.push(`PROXY_API_KEYS: entry ${i + 1}: duplicate key`);
    else out.push(k);
  });
  if (problems.length > 0) throw new ConfigError(['PROXY_API_KEYS'], problems);
  return out;
}

/** A Claude Code session id as a fairness key: short, printable, or ignored. */
const SESSION_ID = /^[\w.:-]{1,128}$/;

export function createAuth(
  cfg: Pick<Config, 'PROXY_API_KEYS' | 'ZAI_API_KEY'> & Partial<Pick<Config, 'TRUST_FORWARDED_FOR'>>,
): Auth {
  const keys = parseClientKeys(cfg.PROXY_API_KEYS).map((k) => ({
    identity: { kind: 'key', name: k.name } as const,
    digest: digest(k.key),
  }));
  const passThrough = cfg.ZAI_API_KEY === undefined;
  const peers = new Map<string, ClientIdentity>(); // bounded by the addresses that connect
  const trustForwarded = cfg.TRUST_FORWARDED_FOR === true;
  // Callers behind one address (a team on one NAT, agents on one host) are told apart by Claude
  // Code's session id; behind an ingress, by the first X-Forwarded-For address when trusted.
  const peer = (req: IncomingMessage): ClientIdentity => {
    const session = req.headers['x-claude-code-session-id'];
    let address = req.socket.remoteAddress ?? 'unknown';
    if (typeof session === 'string' && SESSION_ID.test(session)) address = `session:${session}`;
    else if (trustForwarded) {
      const xff = req.headers['x-forwarded-for'];
      const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
      if (first !== undefined && first !== '' && first.length <= 64) address = first;
    }
    let id = peers.get(address);
    if (id === undefined) {
      id = { kind: 'peer', name: address };
      if (peers.size < 10_000) peers.set(address, id);
    }
    return id;
  };
  if (keys.length > 0) {
    return {
      authenticate(req) {
        const presented = clientCredential(req.headers);
        if (presented === null) return null;
        const d = digest(presented);
        let found: ClientIdentity | null = null;
        // Compare against every key, equal-length digests, no early exit: constant time.
        for (const k of keys) if (timingSafeEqual(d, k.digest)) found = k.identity;
        return found;
      },
    };
  }
  if (passThrough) {
    return {
      authenticate(req) {
        const presented = clientCredential(req.headers);
        if (presented === null) return peer(req);
        return { kind: 'passthrough', name: `sha256:${digest(presented).toString('hex', 0, 8)}` };
      },
    };
  }
  return { authenticate: peer };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
