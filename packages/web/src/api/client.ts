// The one module that knows the dashboard API's routes, parameters and event names
// (packages/dashboard/docs/dashboard-api.md). A change in that contract is an edit here and in types.ts.
import { RANGE_MS, type TimeRange, type ViewState } from '../lib/url-state.ts';
import type {
  CanaryResponse,
  ConfigResponse,
  SessionResponse,
  Snapshot,
  StatusResponse,
  UsageResponse,
} from './types.ts';

/** A non-2xx answer with the API's error code; `status` 401 sends the UI to its sign-in form. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const isAuthError = (e: unknown): boolean => e instanceof ApiError && e.status === 401;

async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, {
    credentials: 'same-origin',
    ...init,
    headers: { accept: 'application/json', ...init.headers },
  });
  if (!res.ok) {
    let code = 'HTTP';
    let message = `HTTP ${res.status}`;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // not JSON (a proxy in between): keep the status line
    }
    throw new ApiError(res.status, code, message);
  }
  return res.status === 204 ? (undefined as T) : ((await res.json()) as T);
}

const MAX_RANGE_MS = RANGE_MS['7d'];

/**
 * The API's `range` for a view: the range key itself, or for a custom from–to the trailing duration that
 * reaches back to `from` (the API serves trailing windows; the UI cuts the points to [from, to]).
 */
export function apiRange(r: TimeRange, now: number): string {
  if (r.kind === 'relative') return r.key;
  const ms = Math.min(MAX_RANGE_MS, Math.max(60_000, now - r.from));
  return `${Math.ceil(ms / 60_000)}m`;
}

/** The `variant` parameter: one name, or `all` for none or several (the UI filters several itself). */
const variantParam = (variants: readonly string[]) => (variants.length === 1 ? variants[0]! : 'all');

function query(entries: Record<string, string | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(entries)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
  return q.toString();
}

/** The canary window for a range: the API takes 1 m to 24 h. */
export function canaryWindow(r: TimeRange): string {
  const span = r.kind === 'relative' ? RANGE_MS[r.key] : r.to - r.from;
  const minutes = Math.min(24 * 60, Math.max(1, Math.round(span / 60_000)));
  return minutes % 60 === 0 ? `${minutes / 60}h` : `${minutes}m`;
}

export const api = {
  session: (signal?: AbortSignal) => request<SessionResponse>('/api/session', { signal }),
  /** Exchanges DASHBOARD_TOKEN for the HttpOnly session cookie; false when the token is wrong. */
  signIn: async (token: string): Promise<boolean> => {
    try {
      await request<void>('/api/session', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      return true;
    } catch (e) {
      if (isAuthError(e)) return false;
      throw e;
    }
  },
  config: (signal?: AbortSignal) => request<ConfigResponse>('/api/config', { signal }),
  status: (signal?: AbortSignal) => request<StatusResponse>('/api/status', { signal }),
  metrics: (v: ViewState, now: number, variant: string, signal?: AbortSignal) =>
    request<Snapshot[]>(
      `/api/metrics?${query({ range: apiRange(v.range, now), variant, client: v.client })}`,
      {
        signal,
      },
    ),
  usage: (v: ViewState, now: number, signal?: AbortSignal) =>
    request<UsageResponse>(
      `/api/usage?${query({ range: apiRange(v.range, now), variant: variantParam(v.variants), client: v.client, model: v.model })}`,
      { signal },
    ),
  canary: (v: ViewState, signal?: AbortSignal) =>
    request<CanaryResponse>(`/api/canary?${query({ window: canaryWindow(v.range) })}`, { signal }),
  /** The download link for the current view: metrics rows, or usage rows when a model filter is set. */
  exportUrl: (v: ViewState, now: number, format: 'csv' | 'json', kind: 'metrics' | 'usage') =>
    `/api/export?${query({
      format,
      kind,
      range: apiRange(v.range, now),
      variant: variantParam(v.variants),
      client: v.client,
      model: kind === 'usage' ? v.model : null,
    })}`,
  eventsUrl: () => '/api/events',
};

/** SSE event names: `metrics` carries one variant's snapshot, `status` the /api/status body. */
export const EVENTS = { metrics: 'metrics', status: 'status' } as const;

function envelope(raw: string, type: string): unknown {
  try {
    const v = JSON.parse(raw) as { type?: unknown; data?: unknown };
    return v !== null && typeof v === 'object' && v.type === type ? v.data : null;
  } catch {
    return null;
  }
}

/** A `metrics` frame's snapshot, or null for anything malformed. */
export function parseSnapshotFrame(raw: string): Snapshot | null {
  const s = envelope(raw, 'metrics') as Snapshot | null;
  return s !== null &&
    typeof s === 'object' &&
    typeof s.timestamp === 'number' &&
    typeof s.variant === 'string'
    ? s
    : null;
}

export function parseStatusFrame(raw: string): StatusResponse | null {
  const s = envelope(raw, 'status') as StatusResponse | null;
  return s !== null && typeof s === 'object' && Array.isArray(s.targets) ? s : null;
}
