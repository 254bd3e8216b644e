import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../api/types.ts';
import { capacityFor, createSeriesStore, resolutionFor } from './series-store.ts';

const snap = (variant: string, timestamp: number, req_rate = 1): Snapshot => ({
  variant,
  timestamp,
  req_rate,
});

describe('series store', () => {
  it('merges history and live per variant, live winning at the same time', () => {
    const s = createSeriesStore(60_000, 5_000);
    const now = 100_000;
    s.push(snap('production', 95_000, 9), now);
    s.push(snap('canary', 95_000, 7), now);
    s.setHistory(
      'production',
      [snap('production', 85_000, 1), snap('production', 90_000, 2), snap('production', 95_000, 3)],
      now,
    );
    expect(s.get('production').map((p) => [p.timestamp, p.req_rate])).toEqual([
      [85_000, 1],
      [90_000, 2],
      [95_000, 9],
    ]);
    // the other variant is untouched by production's history
    expect(s.get('canary').map((p) => p.req_rate)).toEqual([7]);
    expect(s.variants()).toEqual(['canary', 'production']);
  });

  it('keeps live points that arrived after the history was requested', () => {
    const s = createSeriesStore(60_000, 5_000);
    s.push(snap('production', 100_000, 5), 100_000);
    s.setHistory('production', [snap('production', 90_000)], 100_000);
    expect(s.get('production').map((p) => p.timestamp)).toEqual([90_000, 100_000]);
  });

  it('drops points older than the window', () => {
    const s = createSeriesStore(10_000, 1_000);
    for (let t = 0; t <= 20_000; t += 1_000) s.push(snap('p', t), t);
    const ts = s.get('p').map((p) => p.timestamp);
    expect(ts[0]).toBe(10_000);
    expect(ts.at(-1)).toBe(20_000);
  });

  it('holds at most range ÷ interval points per variant under an accelerated feed', () => {
    const span = 5 * 60_000;
    const interval = 5_000;
    const s = createSeriesStore(span, resolutionFor(span, interval));
    const cap = capacityFor(span, interval);
    expect(cap).toBe(61);
    // an hour of frames every 250 ms for three variants: 14 400 frames each, 20× the scrape rate
    let max = 0;
    for (let t = 0; t < 3_600_000; t += 250) {
      for (const v of ['production', 'canary', 'canary-2']) s.push(snap(v, t), t);
      max = Math.max(max, s.size());
    }
    expect(max).toBeLessThanOrEqual(3 * cap);
    for (const v of s.variants()) expect(s.get(v).length).toBeLessThanOrEqual(cap);
    // and the newest frame is what is shown
    expect(s.get('canary').at(-1)?.timestamp).toBe(3_600_000 - 250);
  });

  it('bounds points even when timestamps run ahead of the clock', () => {
    const s = createSeriesStore(10_000, 1_000);
    for (let t = 0; t < 1_000_000; t += 1_000) s.push(snap('p', t), 0);
    expect(s.get('p').length).toBe(capacityFor(10_000, 1_000));
  });

  it('uses one-minute buckets for ranges past an hour', () => {
    expect(resolutionFor(3_600_000, 5_000)).toBe(5_000);
    expect(resolutionFor(6 * 3_600_000, 5_000)).toBe(60_000);
    expect(capacityFor(7 * 86_400_000, 60_000)).toBe(10_081);
  });

  it('places an out-of-order frame by time', () => {
    const s = createSeriesStore(60_000, 1_000);
    s.push(snap('p', 10_000), 10_000);
    s.push(snap('p', 12_000), 12_000);
    s.push(snap('p', 11_000), 12_000);
    expect(s.get('p').map((p) => p.timestamp)).toEqual([10_000, 11_000, 12_000]);
  });

  it('ignores frames without a usable timestamp', () => {
    const s = createSeriesStore(60_000, 1_000);
    s.push({ variant: 'p', timestamp: Number.NaN }, 0);
    expect(s.size()).toBe(0);
  });
});
