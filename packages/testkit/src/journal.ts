/** The record the simulated upstream keeps of every request it received, for tests to assert on. */
import type { IncomingHttpHeaders } from 'node:http';

/** Usage in the four disjoint directions, exactly as the sim put it on the wire. */
export interface ReportedUsage {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
}

/** How the request authenticated; `raw` is the quota API's `Authorization: <key>` without a scheme. */
export type CredentialKind = 'x-api-key' | 'bearer' | 'raw' | 'none';

export interface JournalEntry {
  id: number;
  method: string;
  path: string;
  query: string;
  /** As received (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  credential: { kind: CredentialKind; value: string | null };
  body: Buffer;
  /** The request body parsed as JSON, or null. */
  json: unknown | null;
  /** The scenario name applied; null for unknown routes, auth failures and bad x-sim-scenario values. */
  scenario: string | null;
  /** Status sent; 0 if the connection was destroyed before headers. */
  status: number;
  reportedUsage: ReportedUsage | null;
  /** Body bytes written to the socket; final once responseSha256 is non-empty. */
  responseBytes: number;
  /** sha256 hex of those bytes; '' until the response finishes or is destroyed. */
  responseSha256: string;
  /** The client closed the connection before the sim finished writing. */
  aborted: boolean;
}

/** Which credential a request carried; x-api-key wins over Authorization when both are present. */
export function readCredential(headers: IncomingHttpHeaders): JournalEntry['credential'] {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return { kind: 'x-api-key', value: apiKey };
  const auth = headers.authorization;
  if (typeof auth !== 'string' || auth.trim() === '') return { kind: 'none', value: null };
  const m = /^Bearer\s+(.*)$/i.exec(auth.trim());
  if (m) return { kind: 'bearer', value: m[1]! };
  return { kind: 'raw', value: auth.trim() };
}

/** A fresh entry for a request whose body has not been read yet. */
export function createEntry(
  id: number,
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
): JournalEntry {
  const q = url.indexOf('?');
  return {
    id,
    method,
    path: q === -1 ? url : url.slice(0, q),
    query: q === -1 ? '' : url.slice(q + 1),
    headers,
    credential: readCredential(headers),
    body: Buffer.alloc(0),
    json: null,
    scenario: null,
    status: 0,
    reportedUsage: null,
    responseBytes: 0,
    responseSha256: '',
    aborted: false,
  };
}

/** Parses a request body as JSON; null when empty or not JSON. */
export function parseJsonBody(body: Buffer): unknown | null {
  if (body.length === 0) return null;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
}
