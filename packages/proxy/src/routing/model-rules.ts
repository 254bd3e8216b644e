// The routing rules as written in MODEL_MAP and MODEL_STEP_DOWN: parsed and checked once at start-up.
// Pure: no I/O, no logger, so config.ts can reject a bad rule together with every other bad variable.
//
// A rule is `pattern=target`: a glob over the model string the request carries (`*` any run of
// characters, `?` one character, case-insensitive, the whole string), and the literal model to send.
// A step-down rule adds `@condition`: `peak`, or `<window>><fraction>` (`five_hour>0.9`).
import { QUOTA_WINDOWS, type QuotaWindow } from '../quota/index.ts';

/** One MODEL_MAP rule. */
export interface ModelRule {
  /** The rule as written (trimmed): how messages, /health and metrics name it. */
  readonly text: string;
  readonly pattern: string;
  readonly target: string;
  /** The glob compiled once. */
  readonly match: RegExp;
}

/** When a step-down rule serves its cheaper model. */
export type StepDownCondition =
  | { readonly kind: 'peak' }
  | { readonly kind: 'quota'; readonly window: QuotaWindow; readonly above: number };

/** One MODEL_STEP_DOWN rule. */
export interface StepDownRule extends ModelRule {
  readonly when: StepDownCondition;
}

export interface Parsed<R> {
  rules: R[];
  /** One sentence per bad rule, each naming it; empty when every rule is good. */
  errors: string[];
}

// Patterns may hold anything a model string holds except the list's own separators.
const PATTERN = /^[^\s,=]{1,200}$/;
// Targets go into the request body and a response header: a plain model name.
const TARGET = /^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,99}$/;
const QUOTA_CONDITION = /^([a-z_]+)>(0(?:\.\d+)?|1(?:\.0+)?|\.\d+)$/;

/** Parses MODEL_MAP: ordered `pattern=target` rules; first match wins, applied once. */
export function parseModelMap(text: string): Parsed<ModelRule> {
  const errors: string[] = [];
  const rules: ModelRule[] = [];
  for (const item of items(text)) {
    const r = parseRule(item, errors);
    if (r !== null) rules.push(r);
  }
  if (errors.length === 0) {
    errors.push(...shadowed(rules, () => true));
    errors.push(...mapCycles(rules));
  }
  return { rules, errors };
}

/** Parses MODEL_STEP_DOWN: ordered `pattern=target@condition` rules, applied after MODEL_MAP, once. */
export function parseStepDown(text: string): Parsed<StepDownRule> {
  const errors: string[] = [];
  const rules: StepDownRule[] = [];
  for (const item of items(text)) {
    const at = item.lastIndexOf('@');
    if (at === -1) {
      errors.push(`rule "${item}": expected pattern=target@condition (peak, or five_hour>0.9)`);
      continue;
    }
    const when = parseCondition(item.slice(at + 1).trim());
    if (typeof when === 'string') {
      errors.push(`rule "${item}": ${when}`);
      continue;
    }
    const r = parseRule(item.slice(0, at).trim(), errors, item);
    if (r !== null) rules.push({ ...r, text: item, when });
  }
  if (errors.length === 0) {
    errors.push(...shadowed(rules, (earlier, later) => implies(later.when, earlier.when)));
    errors.push(...stepDownCycles(rules));
  }
  return { rules, errors };
}

/** The index of the first rule whose pattern matches `model`, or -1. */
export function firstMatch(rules: readonly ModelRule[], model: string): number {
  for (let i = 0; i < rules.length; i++) if (rules[i]!.match.test(model)) return i;
  return -1;
}

/** Whether every string glob `b` matches is matched by glob `a` (case-insensitive). Sound: true only
 *  when it is so; a few exotic pairs (`?*` over `*?`) read false, which only skips a shadow error. */
export function globCovers(a: string, b: string): boolean {
  const A = a.toLowerCase();
  const B = b.toLowerCase();
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * (B.length + 1) + j;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (i === A.length) r = j === B.length;
    else if (A[i] === '*') r = go(i + 1, j) || (j < B.length && go(i, j + 1));
    else if (j === B.length) r = false;
    else if (A[i] === '?') r = B[j] !== '*' && go(i + 1, j + 1);
    else r = A[i] === B[j] && go(i + 1, j + 1);
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}

/** Compiles a glob into an anchored, case-insensitive RegExp. */
export function compileGlob(glob: string): RegExp {
  let src = '';
  for (const c of glob) {
    if (c === '*') src += '.*';
    else if (c === '?') src += '.';
    else src += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, 'is');
}

function items(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function parseRule(item: string, errors: string[], written = item): ModelRule | null {
  const eq = item.indexOf('=');
  if (eq === -1) {
    errors.push(`rule "${written}": expected pattern=target`);
    return null;
  }
  const pattern = item.slice(0, eq).trim();
  const target = item.slice(eq + 1).trim();
  if (!PATTERN.test(pattern)) {
    errors.push(`rule "${written}": the pattern must be 1–200 characters without spaces, commas or '='`);
    return null;
  }
  if (!TARGET.test(target)) {
    errors.push(
      `rule "${written}": the target must be a model name (letters, digits, . _ : / + -; at most 100), not "${target}"`,
    );
    return null;
  }
  return { text: written, pattern, target, match: compileGlob(pattern) };
}

function parseCondition(s: string): StepDownCondition | string {
  if (s === 'peak') return { kind: 'peak' };
  const m = QUOTA_CONDITION.exec(s);
  if (m === null)
    return `condition "${s}": expected peak, or a window and a used fraction such as five_hour>0.9`;
  const window = m[1] as QuotaWindow;
  if (!QUOTA_WINDOWS.includes(window))
    return `condition "${s}": the window must be one of ${QUOTA_WINDOWS.join(', ')}`;
  const above = Number(m[2]);
  if (!(above < 1)) return `condition "${s}": the fraction must be below 1 (a window is never used beyond 1)`;
  return { kind: 'quota', window, above };
}

/** Whenever `a` holds, `b` holds. */
function implies(a: StepDownCondition, b: StepDownCondition): boolean {
  if (a.kind === 'peak' || b.kind === 'peak') return a.kind === b.kind;
  return a.window === b.window && a.above >= b.above;
}

// A later rule that an earlier one always pre-empts: it can never apply, so it is a mistake.
function shadowed<R extends ModelRule>(
  rules: readonly R[],
  preempts: (earlier: R, later: R) => boolean,
): string[] {
  const out: string[] = [];
  for (let j = 1; j < rules.length; j++) {
    for (let i = 0; i < j; i++) {
      const [a, b] = [rules[i]!, rules[j]!];
      if (globCovers(a.pattern, b.pattern) && preempts(a, b)) {
        out.push(`rule "${b.text}" never applies: rule "${a.text}" before it takes every request it would`);
        break;
      }
    }
  }
  return out;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

// Following MODEL_MAP from a rule's target (as if it were applied again) must reach a model no rule
// changes; coming back round means two rules undo each other.
function mapCycles(rules: readonly ModelRule[]): string[] {
  const out: string[] = [];
  const reported = new Set<string>();
  for (let start = 0; start < rules.length; start++) {
    const path = [start];
    for (;;) {
      const from = rules[path.at(-1)!]!;
      const next = firstMatch(rules, from.target);
      if (next === -1 || same(rules[next]!.target, from.target)) break;
      const seen = path.indexOf(next);
      if (seen !== -1) {
        report(rules, path.slice(seen), reported, out);
        break;
      }
      path.push(next);
    }
  }
  return out;
}

// Step-down rules form a cycle when one's target is another's source and so on round, under any
// conditions: a conversation could then be stepped "down" back to the model it came from.
function stepDownCycles(rules: readonly StepDownRule[]): string[] {
  const out: string[] = [];
  const reported = new Set<string>();
  const edges = rules.map((r) =>
    rules.flatMap((s, j) => (s.match.test(r.target) && !same(s.target, r.target) ? [j] : [])),
  );
  const visit = (path: number[]): void => {
    for (const next of edges[path.at(-1)!]!) {
      const seen = path.indexOf(next);
      if (seen !== -1) report(rules, path.slice(seen), reported, out);
      else visit([...path, next]);
    }
  };
  for (let i = 0; i < rules.length; i++) visit([i]);
  return out;
}

function report(rules: readonly ModelRule[], cycle: number[], reported: Set<string>, out: string[]): void {
  const key = [...cycle].sort((a, b) => a - b).join(',');
  if (reported.has(key)) return;
  reported.add(key);
  const names = cycle.map((i) => `"${rules[i]!.text}"`).join(', ');
  const models = [
    rules[cycle[0]!]!.target,
    ...cycle.slice(1).map((i) => rules[i]!.target),
    rules[cycle[0]!]!.target,
  ];
  out.push(`rules ${names} form a cycle (${models.join(' → ')})`);
}

/** Start-up warnings (never errors: new GLM models appear often): targets that are not a known GLM
 *  model, and MODEL_MAP targets that another rule would change again but does not (one pass). */
export function ruleWarnings(
  map: readonly ModelRule[],
  stepDown: readonly StepDownRule[],
  known: ReadonlySet<string>,
): string[] {
  const out: string[] = [];
  for (const [name, rules] of [
    ['MODEL_MAP', map],
    ['MODEL_STEP_DOWN', stepDown],
  ] as const) {
    for (const r of rules) {
      if (!known.has(r.target.toLowerCase()))
        out.push(
          `${name} rule "${r.text}": ${r.target} is not a known GLM model; it is sent as written and its tokens are labelled "other"`,
        );
    }
  }
  for (const r of map) {
    const next = firstMatch(map, r.target);
    if (next !== -1 && !same(map[next]!.target, r.target))
      out.push(
        `MODEL_MAP rule "${r.text}": its target also matches rule "${map[next]!.text}", which is not applied to it (one pass)`,
      );
  }
  return out;
}
