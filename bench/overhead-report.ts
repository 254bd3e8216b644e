// Turns the proxy-overhead bench's per-round measurements into summaries (medians of rounds, paired
// differences and ratios against the first target) and prints them as tables or JSON.
import { type Buckets, histogramQuantile, totalCount } from '@zai-proxy/prom-text';
import { median, spread } from './sample-stats.ts';

/** One target's numbers in one round; latencies in µs (c=1) or ms (c=32). */
export interface RoundCell {
  p50: number;
  p99: number;
  rps?: number;
  errors: number;
}

export interface Phase {
  /** 'c1' for sequential latency / TTFB (µs), 'cN' for autocannon throughput (ms, req/s). */
  kind: 'c1' | 'cN';
  title: string;
  /** What one round measured per target, e.g. '1000 req' or '5 s'. */
  perRound: string;
  /** Per round, target name → cell. */
  rounds: Array<Record<string, RoundCell>>;
  /** c=1 only: p50/p99 over every round's samples together, per target. */
  pooled?: Record<string, { p50: number; p99: number }>;
  /** The proxy's own overhead histogram over the phase's measured runs, per proxy target and route. */
  ownOverhead: Record<string, Map<string, Buckets>>;
  /** CPU time of the proxy process per proxied request over the measured runs, µs. */
  proxyCpuUsPerReq: Record<string, number>;
}

export interface TargetSummary {
  target: string;
  /** Median of the rounds' p50s. */
  p50: number;
  /** c=1: p99 of all rounds' samples pooled; throughput: median of the rounds' p99s. */
  p99: number;
  rps?: number;
  errors: number;
  /** Against the first target (direct): p50 from per-round pairs, p99 as above; absent for the baseline. */
  vsBase?: {
    addedP50: number;
    addedP99: number;
    addedP50Range: { min: number; max: number };
    ratioP50: number;
    ratioP99: number;
    ratioRps?: number;
    ratioRpsRange?: { min: number; max: number };
  };
}

/** Medians of per-round values, and paired per-round differences and ratios against targets[0]. */
export function summarize(p: Phase, targets: readonly string[]): TargetSummary[] {
  const base = targets[0]!;
  return targets.map((t) => {
    const cells = p.rounds.map((r) => r[t]!);
    const s: TargetSummary = {
      target: t,
      p50: median(cells.map((c) => c.p50)),
      p99: p.pooled?.[t]?.p99 ?? median(cells.map((c) => c.p99)),
      errors: cells.reduce((a, c) => a + c.errors, 0),
    };
    if (p.kind === 'cN') s.rps = median(cells.map((c) => c.rps ?? 0));
    if (t !== base) {
      const pairs = p.rounds.map((r) => [r[t]!, r[base]!] as const);
      const added50 = pairs.map(([a, b]) => a.p50 - b.p50);
      const pt = p.pooled?.[t];
      const pb = p.pooled?.[base];
      s.vsBase = {
        addedP50: median(added50),
        addedP99: pt && pb ? pt.p99 - pb.p99 : median(pairs.map(([a, b]) => a.p99 - b.p99)),
        addedP50Range: spread(added50),
        ratioP50: median(pairs.map(([a, b]) => a.p50 / b.p50)),
        ratioP99: pt && pb ? pt.p99 / pb.p99 : median(pairs.map(([a, b]) => a.p99 / b.p99)),
      };
      if (p.kind === 'cN') {
        const ratios = pairs.map(([a, b]) => (a.rps ?? 0) / (b.rps ?? 1));
        s.vsBase.ratioRps = median(ratios);
        s.vsBase.ratioRpsRange = spread(ratios);
      }
    }
    return s;
  });
}

/** The proxy process's own view of one phase. */
export interface ProxySideRow {
  phase: string;
  target: string;
  /** Requests the proxy's overhead histogram counted in the measured runs (warm-ups excluded). */
  requests: number;
  cpuUsPerReq: number;
  /** zai_proxy_overhead_seconds p50/p99 in µs, interpolated from its buckets. */
  ownP50: number;
  ownP99: number;
  /** The histogram's first bucket bound, µs: a quantile below it is only known to be below it. */
  firstBoundUs: number;
}

export function proxySideRows(p: Phase): ProxySideRow[] {
  const rows: ProxySideRow[] = [];
  for (const [target, byRoute] of Object.entries(p.ownOverhead)) {
    const all = [...byRoute.values()];
    if (all.length === 0) continue;
    // Each phase drives one route; summing keeps this right if a phase ever mixes them.
    const h: Buckets = {
      le: all[0]!.le,
      count: all[0]!.count.map((_, i) => all.reduce((n, b) => n + b.count[i]!, 0)),
    };
    rows.push({
      phase: p.title,
      target,
      requests: totalCount(h),
      cpuUsPerReq: p.proxyCpuUsPerReq[target] ?? Number.NaN,
      ownP50: histogramQuantile(h, 0.5) * 1e6,
      ownP99: histogramQuantile(h, 0.99) * 1e6,
      firstBoundUs: (h.le[0] ?? Number.NaN) * 1e6,
    });
  }
  return rows;
}

export const f0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toString() : '-');
export const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
const signed = (v: number, fmt: (v: number) => string) => (v >= 0 ? `+${fmt(v)}` : fmt(v));

/** Columns padded to their widest cell: the first two left-aligned, the rest right-aligned. */
export function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

/** One summary row per phase and target: the phase on the baseline's row, the target, `cells`, errors. */
function summaryTable(
  phases: Phase[],
  targets: readonly string[],
  head: string[],
  cells: (s: TargetSummary, v: TargetSummary['vsBase']) => string[],
): string {
  const rows: string[][] = [];
  for (const p of phases) {
    for (const s of summarize(p, targets)) {
      rows.push([
        s.target === targets[0] ? `${p.title} (${p.rounds.length}×${p.perRound})` : '',
        s.target,
        ...cells(s, s.vsBase),
        s.errors > 0 ? String(s.errors) : '',
      ]);
    }
  }
  return table(head, rows);
}

/** The c=1 table: latencies in µs. */
export function c1Table(phases: Phase[], targets: readonly string[]): string {
  return summaryTable(
    phases,
    targets,
    [
      'c=1, µs (median of rounds)',
      'target',
      'p50',
      'p99',
      'added p50',
      '(rounds)',
      'added p99',
      '×p50',
      'errors',
    ],
    (s, v) => [
      f0(s.p50),
      f0(s.p99),
      v ? signed(v.addedP50, f0) : '',
      v ? `${f0(v.addedP50Range.min)}..${f0(v.addedP50Range.max)}` : '',
      v ? signed(v.addedP99, f0) : '',
      v ? f2(v.ratioP50) : '',
    ],
  );
}

/** The throughput table: req/s and latencies in ms. */
export function cNTable(phases: Phase[], targets: readonly string[]): string {
  return summaryTable(
    phases,
    targets,
    [
      'throughput (median of rounds)',
      'target',
      'req/s',
      'p50 ms',
      'p99 ms',
      '×req/s',
      '(rounds)',
      '×p99',
      'errors',
    ],
    (s, v) => [
      f0(s.rps ?? Number.NaN),
      f2(s.p50),
      f2(s.p99),
      v ? f2(v.ratioRps ?? Number.NaN) : '',
      v?.ratioRpsRange ? `${f2(v.ratioRpsRange.min)}..${f2(v.ratioRpsRange.max)}` : '',
      v ? f2(v.ratioP99) : '',
    ],
  );
}

/** The proxy process's own view per phase: CPU per request and zai_proxy_overhead_seconds. */
export function proxySideTable(phases: Phase[]): string {
  const rows = phases.flatMap(proxySideRows).map((r) => {
    const own = (v: number) => (v <= r.firstBoundUs ? `<${f0(r.firstBoundUs)}` : f0(v));
    return [r.phase, r.target, String(r.requests), f0(r.cpuUsPerReq), own(r.ownP50), own(r.ownP99)];
  });
  return table(
    ['proxy process, per phase', 'target', 'requests', 'CPU µs/req', 'own p50 µs', 'own p99 µs'],
    rows,
  );
}

/** Headline ratios of `t` against `base`, paired per round, on one line. */
export function ratioLineFor(c1: Phase[], cN: Phase[], base: string, t: string): string {
  const parts: string[] = [];
  for (const p of c1) {
    const v = summarize(p, [base, t])[1]!.vsBase!;
    parts.push(
      `${p.title} ×${f2(v.ratioP50)} p50 (${signed(v.addedP50, f0)} µs, p99 ${signed(v.addedP99, f0)} µs)`,
    );
  }
  for (const p of cN) {
    const v = summarize(p, [base, t])[1]!.vsBase!;
    parts.push(`${p.title} ×${f2(v.ratioRps ?? Number.NaN)} req/s, ×${f2(v.ratioP99)} p99`);
  }
  return `ratios ${t} ÷ ${base}: ${parts.join(' | ')}`;
}

/** Every target against the baseline; with several proxies, each later one against the first proxy too. */
export function ratioLines(c1: Phase[], cN: Phase[], targets: readonly string[]): string {
  const lines = targets.slice(1).map((t) => ratioLineFor(c1, cN, targets[0]!, t));
  for (const t of targets.slice(2)) lines.push(ratioLineFor(c1, cN, targets[1]!, t));
  return lines.join('\n');
}

/** Everything, machine-readable. */
export function jsonReport(
  meta: Record<string, unknown>,
  c1: Phase[],
  cN: Phase[],
  targets: readonly string[],
) {
  const phase = (p: Phase) => ({
    title: p.title,
    perRound: p.perRound,
    unit: p.kind === 'c1' ? 'us' : 'ms',
    summary: summarize(p, targets),
    rounds: p.rounds,
    pooled: p.pooled,
    proxySide: proxySideRows(p).map(({ phase: _phase, ...r }) => r),
  });
  return { ...meta, targets, c1: c1.map(phase), throughput: cN.map(phase) };
}

/** Run facts printed above the tables and carried into the JSON. */
export interface ReportMeta {
  date: string;
  mode: string;
  node: string;
  cpus: number;
  proxyRss: Record<string, { idleMb: number; endMb: number; peakMb: number }>;
  errors: number;
  seconds: number;
}

/** The whole human-readable report. */
export function textReport(meta: ReportMeta, c1: Phase[], cN: Phase[], targets: readonly string[]): string {
  const rss = Object.entries(meta.proxyRss)
    .map(([k, v]) => `${k} idle ${f0(v.idleMb)} end ${f0(v.endMb)} peak ${f0(v.peakMb)}`)
    .join('; ');
  return [
    `zai-proxy overhead (${meta.mode}) ${meta.date}  node ${meta.node}, ${meta.cpus} cpus; ` +
      'sim, proxy and load generator in separate processes; one run, rounds interleaved',
    '',
    c1Table(c1, targets),
    '',
    cNTable(cN, targets),
    '',
    proxySideTable([...c1, ...cN]),
    '',
    `proxy RSS MB: ${rss}   errors: ${meta.errors}   took ${meta.seconds} s`,
    ratioLines(c1, cN, targets),
  ].join('\n');
}
