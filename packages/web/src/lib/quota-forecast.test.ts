import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../api/types.ts';
import { forecastExhaustion } from './quota-forecast.ts';

const at = (ms: number, usage: number, reset = 10_000): Snapshot => ({
  timestamp: ms,
  variant: 'production',
  quota: { five_hour: { usage_ratio: usage, reset_time_unix: reset } },
});

describe('quota forecast', () => {
  it('projects a steady burn to 100 %', () => {
    // 10 % per minute from 50 %: the last point (70 % at 2 min) runs out 3 min later
    const pts = [at(0, 0.5), at(60_000, 0.6), at(120_000, 0.7)];
    expect(forecastExhaustion(pts, 'five_hour', 120_000)).toEqual({
      kind: 'at',
      ms: 300_000,
      beforeReset: true,
    });
  });

  it('says whether the window resets first', () => {
    const pts = [at(0, 0.1, 100), at(60_000, 0.11, 100), at(120_000, 0.12, 100)];
    const f = forecastExhaustion(pts, 'five_hour', 120_000);
    expect(f).toMatchObject({ kind: 'at', beforeReset: false });
  });

  it('restarts the fit after a reset', () => {
    const pts = [
      at(0, 0.9, 1),
      at(60_000, 0.95, 1),
      at(120_000, 0.1, 2),
      at(180_000, 0.1, 2),
      at(240_000, 0.1, 2),
    ];
    expect(forecastExhaustion(pts, 'five_hour', 240_000)).toEqual({ kind: 'not-rising' });
  });

  it('treats flat usage as not rising, not as a forecast centuries away', () => {
    const pts = [at(0, 0.12, 0), at(60_000, 0.12 + 1e-17, 0), at(120_000, 0.12, 0)].map((p) => ({
      ...p,
      quota: { weekly: { usage_ratio: p.quota!.five_hour!.usage_ratio! } },
    }));
    expect(forecastExhaustion(pts, 'weekly', 120_000)).toEqual({ kind: 'not-rising' });
  });

  it('needs enough samples and says so', () => {
    expect(forecastExhaustion([at(0, 0.5), at(1_000, 0.6)], 'five_hour', 1_000)).toEqual({ kind: 'unknown' });
    expect(forecastExhaustion([], 'weekly', 0)).toEqual({ kind: 'unknown' });
  });

  it('reports an exhausted window', () => {
    expect(forecastExhaustion([at(0, 1.02)], 'five_hour', 0)).toEqual({ kind: 'exhausted' });
  });
});
