import { describe, expect, it } from 'vitest';
import { timeTicks } from './plot-options.ts';

describe('timeTicks', () => {
  it('labels each minute once when ticks come every 30 s', () => {
    const t0 = Date.UTC(2026, 11, 1, 15, 3, 0) / 1000;
    const labels = timeTicks([t0, t0 + 30, t0 + 60, t0 + 90]);
    expect(labels[1]).toBe('');
    expect(labels[3]).toBe('');
    expect(labels[0]).toMatch(/^\d\d:03$/);
    expect(labels[2]).toMatch(/^\d\d:04$/);
  });

  it('labels every tick a minute or more apart', () => {
    const t0 = Date.UTC(2026, 11, 1, 15, 3, 0) / 1000;
    expect(timeTicks([t0, t0 + 60, t0 + 120]).every((l) => l !== '')).toBe(true);
  });
});
