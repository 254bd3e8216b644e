// Strict parser for the Prometheus text exposition format (version 0.0.4): families with their
// TYPE and HELP, samples with labels, NaN and ±Inf values. A malformed line is an error with its
// line number, never a silently dropped series.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum`, `x_count` for a histogram family `x`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** May be NaN or ±Infinity, as the exposition says. */
  readonly value: number;
  readonly timestampMs?: number;
}

export interface Family {
  readonly name: string;
  type: MetricType;
  help: string;
  readonly samples: Sample[];
}

/** A line the parser could not read; `line` is 1-based. */
export class PromParseError extends Error {
  override readonly name = 'PromParseError';
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

/** Parses exposition text into families keyed by family name (in order of first appearance). */
export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      meta(families, line, i + 1);
      continue;
    }
    const s = sample(line, i + 1);
    familyFor(families, s.name).samples.push(s);
  }
  return families;
}

function meta(families: Map<string, Family>, line: string, n: number): void {
  const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
  if (m === null) return; // any other comment
  const [, kind, name, rest = ''] = m;
  if (!NAME.test(name!)) throw new PromParseError(n, `invalid metric name ${JSON.stringify(name)}`);
  let f = families.get(name!);
  if (kind === 'TYPE') {
    const t = rest.trim() as MetricType;
    if (!TYPES.has(t)) throw new PromParseError(n, `unknown type ${JSON.stringify(rest.trim())}`);
    if (f !== undefined && f.samples.length > 0)
      throw new PromParseError(n, `TYPE for ${name} after its samples`);
    if (f !== undefined && f.type !== 'untyped') throw new PromParseError(n, `second TYPE for ${name}`);
    if (f === undefined) families.set(name!, { name: name!, type: t, help: '', samples: [] });
    else f.type = t;
    return;
  }
  if (f === undefined) {
    f = { name: name!, type: 'untyped', help: '', samples: [] };
    families.set(name!, f);
  }
  f.help = rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** The family a sample belongs to: a histogram or summary declared for its base name, else its own. */
function familyFor(families: Map<string, Family>, name: string): Family {
  const own = families.get(name);
  if (own !== undefined && own.type !== 'histogram' && own.type !== 'summary') return own;
  for (const [type, suffixes] of Object.entries(SUFFIXES)) {
    for (const sfx of suffixes) {
      if (!name.endsWith(sfx)) continue;
      const base = families.get(name.slice(0, -sfx.length));
      if (base !== undefined && base.type === type) return base;
    }
  }
  if (own !== undefined) return own; // a summary's quantile samples carry the bare name
  const f: Family = { name, type: 'untyped', help: '', samples: [] };
  families.set(name, f);
  return f;
}

function sample(line: string, n: number): Sample {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
  const name = line.slice(0, i);
  if (!NAME.test(name)) throw new PromParseError(n, `invalid metric name ${JSON.stringify(name)}`);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const eq = line.indexOf('=', i);
      if (eq === -1) throw new PromParseError(n, 'label without "="');
      const key = line.slice(i, eq).trim();
      if (!LABEL_NAME.test(key)) throw new PromParseError(n, `invalid label name ${JSON.stringify(key)}`);
      if (line[eq + 1] !== '"') throw new PromParseError(n, `label ${key}: value must be quoted`);
      let v = '';
      let j = eq + 2;
      for (;;) {
        const c = line[j];
        if (c === undefined) throw new PromParseError(n, `label ${key}: unterminated value`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[j + 1];
          v += e === 'n' ? '\n' : e === '"' ? '"' : e === '\\' ? '\\' : `\\${e ?? ''}`;
          j += 2;
          continue;
        }
        v += c;
        j++;
      }
      if (Object.hasOwn(labels, key)) throw new PromParseError(n, `duplicate label ${key}`);
      labels[key] = v;
      i = j + 1;
      if (line[i] !== ',' && line[i] !== '}')
        throw new PromParseError(n, 'expected "," or "}" after a label');
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === '') throw new PromParseError(n, 'expected a value');
  const value = parseValue(rest[0]!);
  if (value === undefined) throw new PromParseError(n, `invalid value ${JSON.stringify(rest[0])}`);
  if (rest.length === 2) {
    const ts = Number(rest[1]);
    if (!Number.isInteger(ts)) throw new PromParseError(n, `invalid timestamp ${JSON.stringify(rest[1])}`);
    return { name, labels, value, timestampMs: ts };
  }
  return { name, labels, value };
}

/** A sample value as the format allows it: a Go float, NaN, +Inf, -Inf. */
export function parseValue(s: string): number | undefined {
  switch (s) {
    case 'NaN':
      return Number.NaN;
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}
