// Reading values out of parsed families: one series, or the sum over series that match some labels.
import { type Family, parsePrometheusText, type Sample } from './parse.ts';

export type Families = Map<string, Family>;
export type LabelMatch = Readonly<Record<string, string>>;

/** True when every label in `match` has that value on the sample (other labels are free). */
export function matches(s: Sample, match: LabelMatch): boolean {
  for (const k in match) if (s.labels[k] !== match[k]) return false;
  return true;
}

/** Samples named `name` (e.g. `x_count` of histogram `x`) whose labels match. */
export function samplesOf(families: Families, name: string, match: LabelMatch = {}): Sample[] {
  const out: Sample[] = [];
  for (const f of families.values()) {
    if (f.name !== name && !name.startsWith(f.name)) continue;
    for (const s of f.samples) if (s.name === name && matches(s, match)) out.push(s);
  }
  return out;
}

/**
 * The sum of every sample named `name` whose labels match (0 when none does). Takes parsed
 * families or exposition text; the sum over all series is what a test or bench usually wants.
 */
export function sumSamples(source: Families | string, name: string, match: LabelMatch = {}): number {
  const families = typeof source === 'string' ? parsePrometheusText(source) : source;
  let sum = 0;
  for (const s of samplesOf(families, name, match)) sum += s.value;
  return sum;
}
