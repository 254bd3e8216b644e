/** The deterministic reply: its text, how it splits into deltas, and the usage numbers behind it. */
import type { ReportedUsage } from './journal.ts';
import type { ScenarioSpec } from './scenarios.ts';
import { bytesInputTokens } from './token-model.ts';

const VOCABULARY = [
  'The',
  'simulated',
  'GLM',
  'upstream',
  'answers',
  'every',
  'request',
  'with',
  'the',
  'same',
  'counted',
  'words.',
];

// huge replies repeat this ASCII line, so byte length equals character length.
const FILLER = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ';
const HUGE_DEFAULT_BYTES = 1_000_000; // 1 MB
const HUGE_DELTA_BYTES = 1024; // per delta when events= is not given

/** Fixed `created` timestamp, so identical requests give identical bodies. */
export const CREATED = 1_767_225_600; // 2026-01-01T00:00:00Z

export const DEFAULT_MODEL = 'glm-4.6';

export interface ReplyPlan {
  model: string;
  /** The reply text split into stream deltas; joined they are the whole text. */
  pieces: string[];
  text: string;
  usage: ReportedUsage;
  noUsage: boolean;
  eol: string;
}

function words(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((i === 0 ? '' : ' ') + VOCABULARY[i % VOCABULARY.length]!);
  return out;
}

// Spreads n items over k groups as evenly as possible (first groups get the remainder).
function group(items: string[], k: number): string[] {
  if (k <= 0) return [];
  const out: string[] = [];
  const base = Math.floor(items.length / k);
  const extra = items.length % k;
  let at = 0;
  for (let g = 0; g < k; g++) {
    const size = base + (g < extra ? 1 : 0);
    out.push(items.slice(at, at + size).join(''));
    at += size;
  }
  return out;
}

function hugeText(bytes: number): string {
  return FILLER.repeat(Math.ceil(bytes / FILLER.length)).slice(0, bytes);
}

function slices(text: string, k: number): string[] {
  const size = Math.ceil(text.length / k);
  const out: string[] = [];
  for (let at = 0; at < text.length; at += size) out.push(text.slice(at, at + size));
  return out;
}

/** Builds the reply for a request; usage overrides from the scenario win over the estimates. */
export function planReply(
  json: unknown,
  spec: ScenarioSpec,
  tokensPerReply: number,
  countInput: (json: unknown) => number = bytesInputTokens,
): ReplyPlan {
  const body = json !== null && typeof json === 'object' ? (json as Record<string, unknown>) : {};
  const model = typeof body.model === 'string' && body.model !== '' ? body.model : DEFAULT_MODEL;
  let pieces: string[];
  let outputEstimate: number;
  if (spec.name === 'huge') {
    const bytes = spec.bytes ?? HUGE_DEFAULT_BYTES;
    pieces = slices(hugeText(bytes), spec.events ?? Math.max(1, Math.ceil(bytes / HUGE_DELTA_BYTES)));
    outputEstimate = Math.ceil(bytes / 4);
  } else {
    const w = words(spec.words ?? tokensPerReply);
    pieces = group(w, spec.events ?? Math.max(1, w.length));
    outputEstimate = w.length;
  }
  return {
    model,
    pieces,
    text: pieces.join(''),
    usage: {
      input: spec.input ?? countInput(json),
      output: spec.output ?? outputEstimate,
      cache_read: spec.cacheRead ?? 0,
      cache_write: spec.cacheWrite ?? 0,
    },
    noUsage: spec.noUsage === true,
    eol: spec.crlf === true ? '\r\n' : '\n',
  };
}

/** Whether the request asked for a stream (`"stream": true`). */
export function wantsStream(json: unknown): boolean {
  return json !== null && typeof json === 'object' && (json as { stream?: unknown }).stream === true;
}

/** A route's answer before pacing: a whole body, or framed SSE events. */
export type Rendered =
  | { kind: 'json'; status: number; body: string; usage: ReportedUsage | null }
  | {
      kind: 'sse';
      events: string[];
      /** Index of the event that carries `usage` (-1 if none). */
      usageEvent: number;
      usage: ReportedUsage | null;
    };
