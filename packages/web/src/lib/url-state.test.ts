import { describe, expect, it } from 'vitest';
import {
  DEFAULT_VIEW,
  parseView,
  rangeSpanMs,
  rangeWindow,
  serializeView,
  type ViewState,
} from './url-state.ts';

describe('url state', () => {
  it('round-trips every field through the query string', () => {
    const views: ViewState[] = [
      DEFAULT_VIEW,
      { range: { kind: 'relative', key: '7d' }, variants: [], client: null, model: null },
      {
        range: { kind: 'relative', key: '5m' },
        variants: ['production', 'canary'],
        client: 'team-a',
        model: 'glm-4.7',
      },
      {
        range: { kind: 'custom', from: Date.UTC(2026, 11, 1, 8), to: Date.UTC(2026, 11, 1, 9, 30) },
        variants: ['canary'],
        client: null,
        model: 'glm-4.5-air',
      },
    ];
    for (const v of views) expect(parseView(serializeView(v))).toEqual(v);
  });

  it('keeps the default view as a plain URL', () => {
    expect(serializeView(DEFAULT_VIEW)).toBe('');
  });

  it('falls back to defaults on bad input instead of failing', () => {
    const v = parseView('?range=2y&variant=%3Cscript%3E,prod&client=a%20b&from=x&to=y');
    expect(v.range).toEqual(DEFAULT_VIEW.range);
    expect(v.variants).toEqual(['prod']);
    expect(v.client).toBeNull();
  });

  it('ignores a custom window whose end is not after its start', () => {
    expect(parseView('?from=2026-12-01T10:00:00Z&to=2026-12-01T09:00:00Z&range=6h').range).toEqual({
      kind: 'relative',
      key: '6h',
    });
  });

  it('accepts epoch milliseconds as well as ISO times', () => {
    expect(parseView('?from=1000&to=2000').range).toEqual({ kind: 'custom', from: 1000, to: 2000 });
  });

  it('computes windows for relative and custom ranges', () => {
    expect(rangeWindow({ kind: 'relative', key: '15m' }, 1_000_000)).toEqual({
      from: 100_000,
      to: 1_000_000,
    });
    expect(rangeSpanMs({ kind: 'custom', from: 5, to: 25 })).toBe(20);
  });
});
