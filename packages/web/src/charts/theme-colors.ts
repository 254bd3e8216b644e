// Chart colours per theme. Series colours are chosen to stay distinguishable on both backgrounds and for the
// common colour-vision deficiencies (Okabe–Ito based); variants are told apart by dash pattern, not colour.

export type ResolvedTheme = 'light' | 'dark';

export interface ChartTheme {
  axis: string;
  grid: string;
  text: string;
}

export const CHART_THEME: Record<ResolvedTheme, ChartTheme> = {
  light: { axis: '#475569', grid: 'rgba(15, 23, 42, 0.08)', text: '#1e293b' },
  dark: { axis: '#94a3b8', grid: 'rgba(226, 232, 240, 0.08)', text: '#e2e8f0' },
};

export const PALETTE = {
  blue: '#3b82f6',
  orange: '#f59e0b',
  red: '#ef4444',
  green: '#10b981',
  purple: '#8b5cf6',
  cyan: '#06b6d4',
  pink: '#ec4899',
  slate: '#64748b',
  yellow: '#eab308',
} as const;

const CYCLE = [
  PALETTE.blue,
  PALETTE.orange,
  PALETTE.purple,
  PALETTE.cyan,
  PALETTE.pink,
  PALETTE.green,
  PALETTE.red,
];

/** A stable colour for a dynamic key (an error type, a status code) from its position in a sorted list. */
export const colorAt = (i: number): string => CYCLE[i % CYCLE.length]!;

/** Dash patterns for the 1st, 2nd, 3rd… variant in an overlay; the first is solid. */
const DASHES: number[][] = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
export const dashFor = (variantIndex: number): number[] => DASHES[variantIndex % DASHES.length]!;

/** A short text name of the dash pattern, for legends and text alternatives. */
export const DASH_NAMES = ['solid', 'dashed', 'dotted', 'dash-dot'];
