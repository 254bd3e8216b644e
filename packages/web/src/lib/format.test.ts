import { describe, expect, it } from 'vitest';
import {
  DASH,
  formatAge,
  formatCount,
  formatCountdown,
  formatMs,
  formatRate,
  formatRatio,
  formatUsd,
} from './format.ts';

describe('format', () => {
  it('turns missing and non-finite values into a dash everywhere', () => {
    for (const f of [formatCount, formatRate, formatMs, formatRatio, formatUsd, formatAge, formatCountdown]) {
      expect(f(null)).toBe(DASH);
      expect(f(undefined)).toBe(DASH);
      expect(f(Number.NaN)).toBe(DASH);
      expect(f(Number.POSITIVE_INFINITY)).toBe(DASH);
    }
  });

  it.each([
    [950, '950'],
    [12_300, '12.3k'],
    [4_560_000, '4.56M'],
    [2.5, '2.5'],
    [3e9, '3.00G'],
  ])('formatCount(%s) = %s', (v, s) => expect(formatCount(v)).toBe(s));

  it.each([
    [0, '0.0/s'],
    [0.25, '0.25/s'],
    [5.5, '5.5/s'],
    [1500, '1.5k/s'],
  ])('formatRate(%s) = %s', (v, s) => expect(formatRate(v)).toBe(s));

  it.each([
    [50.5, '51 ms'],
    [1500, '1.50 s'],
    [90_000, '1m 30s'],
  ])('formatMs(%s) = %s', (v, s) => expect(formatMs(v)).toBe(s));

  it('formats ratios as percentages', () => {
    expect(formatRatio(0.423)).toBe('42.3%');
    expect(formatRatio(1, 0)).toBe('100%');
  });

  it('keeps sub-cent dollars visible and groups thousands', () => {
    expect(formatUsd(0.0044)).toBe('$0.0044');
    expect(formatUsd(12.5)).toBe('$12.50');
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(1234.5)).toBe('$1,234.50');
    expect(formatUsd(-3)).toBe('-$3.00');
  });

  it.each([
    [42.7, '42s'],
    [754, '12m'],
    [7200, '2h'],
    [200_000, '2d'],
    [-1, DASH],
  ])('formatAge(%s) = %s', (v, s) => expect(formatAge(v)).toBe(s));

  it.each([
    [0, 'now'],
    [-5, 'now'],
    [45_000, '45s'],
    [150_000, '2m 30s'],
    [90 * 60_000, '1h 30m'],
    [26 * 3_600_000, '1d 2h'],
  ])('formatCountdown(%s) = %s', (v, s) => expect(formatCountdown(v)).toBe(s));
});
