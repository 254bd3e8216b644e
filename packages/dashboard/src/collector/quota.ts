// The quota block of a snapshot from the proxy's zai_proxy_quota_* gauges, as the original built it,
// with its case bug fixed: limit types are compared case-insensitively (the proxy lower-cases them).
import type { Family } from '@zai-proxy/prom-text';
import type { Quota, QuotaWindow } from '../points/point.ts';

const PREFERRED = ['credit_limit', 'tokens_limit'];

const samplesFor = (families: Map<string, Family>, name: string, variant: string) =>
  (families.get(name)?.samples ?? []).filter(
    (s) => s.name === name && (s.labels.variant ?? variant) === variant && Number.isFinite(s.value),
  );

/** The quota block for one variant, or undefined when the proxy exports no quota series for it. */
export function buildQuota(families: Map<string, Family>, variant: string): Quota | undefined {
  const q: Quota = {};
  const usage = samplesFor(families, 'zai_proxy_quota_usage_ratio', variant);
  const remaining = samplesFor(families, 'zai_proxy_quota_remaining_ratio', variant);
  const reset = samplesFor(families, 'zai_proxy_quota_reset_time_seconds', variant);
  for (const window of ['five_hour', 'weekly'] as const) {
    const all = [...usage, ...remaining, ...reset].filter((s) => s.labels.window === window);
    if (all.length === 0) continue;
    const types = [
      ...new Set(all.map((s) => (s.labels.limit_type ?? '').toLowerCase()).filter((t) => t !== '')),
    ];
    const chosen = PREFERRED.find((t) => types.includes(t)) ?? types.sort()[0] ?? '';
    const pick = (xs: typeof usage) =>
      xs.find((s) => s.labels.window === window && (s.labels.limit_type ?? '').toLowerCase() === chosen)
        ?.value;
    const w: QuotaWindow = {};
    if (chosen !== '') w.limit_type = chosen;
    const u = pick(usage);
    const r = pick(remaining);
    const t = pick(reset);
    if (u !== undefined) w.usage_ratio = u;
    if (r !== undefined) w.remaining_ratio = r;
    if (t !== undefined && t > 0) w.reset_time_unix = Math.trunc(t);
    q[window] = w;
  }
  const ages = samplesFor(families, 'zai_proxy_quota_sample_age_seconds', variant).map((s) => s.value);
  if (ages.length > 0) q.sample_age_seconds = Math.max(...ages); // the most conservative reading
  const gates = samplesFor(families, 'zai_proxy_quota_gate_open', variant);
  if (gates.length > 0) {
    q.gate_open = gates.some((s) => s.value >= 1);
    q.enforcement = true;
  }
  if (samplesFor(families, 'zai_proxy_quota_rate_cap', variant).length > 0) q.enforcement = true;
  return Object.keys(q).length === 0 ? undefined : q;
}
