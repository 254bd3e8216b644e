// Usage in complete (non-streaming) JSON response bodies: read it, or add it when the upstream left it out.
//
// The Go proxy rewrote such bodies to {"result": …, "usage": …}, which Anthropic clients cannot
// parse. Here a body is never reshaped: addUsage splices one member in and
// leaves every other byte as it was.

import { asObject, parseObject } from '../json.ts';
import type { ApiFamily, Usage } from './types.ts';
import { mergeAnthropicUsage, openAiUsage } from './usage-fields.ts';

/** What a complete JSON body says about usage. */
export interface JsonUsage {
  /** Reported usage, or null when absent or the body is not JSON. */
  usage: Usage | null;
  /** The generated text (for an output estimate), or null when there is none. */
  outputText: string | null;
  /** The body is an object with a top-level `usage` member (whatever its value). */
  hasUsageKey: boolean;
  /** The body parses as a JSON object. */
  isObject: boolean;
}

const NOT_OBJECT: Readonly<JsonUsage> = Object.freeze({
  usage: null,
  outputText: null,
  hasUsageKey: false,
  isObject: false,
});

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Usage reported in a complete JSON response body, or null when absent/unparseable. */
export function extractJsonUsage(api: ApiFamily, body: Buffer): JsonUsage {
  return usageOf(api, parseBodyObject(body));
}

/** As extractJsonUsage, for a body the caller already parsed (the proxy parses each body once). */
export function usageOf(api: ApiFamily, parsed: unknown): JsonUsage {
  const obj = asObject(parsed);
  if (obj === null) return { ...NOT_OBJECT };
  const hasUsageKey = Object.hasOwn(obj, 'usage');
  const u = asObject(obj.usage);
  if (api === 'anthropic') {
    return {
      usage: mergeAnthropicUsage(null, u),
      outputText: anthropicText(obj),
      hasUsageKey,
      isObject: true,
    };
  }
  return { usage: openAiUsage(u), outputText: openAiText(obj), hasUsageKey, isObject: true };
}

/** Returns body with a top-level "usage" member ADDED before the final '}' (every other byte identical).
 *  Anthropic form {input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens};
 *  OpenAI form {prompt_tokens, completion_tokens, total_tokens}. Returns the original buffer if body is not
 *  a JSON object, or already has a `usage` member (a duplicate key would be ambiguous). */
export function addUsage(api: ApiFamily, body: Buffer, usage: Usage, parsed?: unknown): Buffer {
  const obj = parsed === undefined ? parseBodyObject(body) : asObject(parsed);
  if (obj === null || Object.hasOwn(obj, 'usage')) return body;
  let close = body.length - 1;
  while (close >= 0 && isJsonSpace(body[close]!)) close--;
  if (close < 0 || body[close] !== CLOSE_BRACE) return body;
  const member = `${Object.keys(obj).length === 0 ? '' : ','}"usage":${usageJson(api, usage)}`;
  return Buffer.concat([body.subarray(0, close), Buffer.from(member), body.subarray(close)]);
}

function usageJson(api: ApiFamily, u: Usage): string {
  const input = tokens(u.input);
  const output = tokens(u.output);
  const read = tokens(u.cache_read);
  const write = tokens(u.cache_write);
  if (api === 'anthropic') {
    return `{"input_tokens":${input},"output_tokens":${output},"cache_read_input_tokens":${read},"cache_creation_input_tokens":${write}}`;
  }
  // OpenAI's prompt_tokens includes cached tokens, so the disjoint directions are added back together.
  const prompt = input + read + write;
  return `{"prompt_tokens":${prompt},"completion_tokens":${output},"total_tokens":${prompt + output}}`;
}

function tokens(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
}

// Space, tab, LF, CR: the only whitespace JSON allows.
function isJsonSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function parseBodyObject(body: Buffer): Record<string, unknown> | null {
  // Cheap reject before decoding: an object's first non-space byte is '{'.
  let i = 0;
  while (i < body.length && isJsonSpace(body[i]!)) i++;
  if (i === body.length || body[i] !== OPEN_BRACE) return null;
  return parseObject(body);
}

function joinText(parts: string[]): string | null {
  return parts.length === 0 ? null : parts.join('\n');
}

function pushString(parts: string[], v: unknown): void {
  if (typeof v === 'string' && v.length > 0) parts.push(v);
}

// content[]: text, thinking and tool_use input are what the model generated.
function anthropicText(obj: Record<string, unknown>): string | null {
  const content = obj.content;
  if (!Array.isArray(content)) return null;
  const parts: string[] = [];
  for (const raw of content) {
    const b = asObject(raw);
    if (b === null) continue;
    pushString(parts, b.text);
    pushString(parts, b.thinking);
    if (b.type === 'tool_use') {
      pushString(parts, b.name);
      if (b.input !== undefined) parts.push(JSON.stringify(b.input));
    }
  }
  return joinText(parts);
}

// choices[].message: content (string or parts), reasoning_content, tool_calls.
function openAiText(obj: Record<string, unknown>): string | null {
  const choices = obj.choices;
  if (!Array.isArray(choices)) return null;
  const parts: string[] = [];
  for (const c of choices) {
    const m = asObject(asObject(c)?.message);
    if (m === null) continue;
    if (Array.isArray(m.content)) {
      for (const p of m.content) pushString(parts, asObject(p)?.text);
    } else {
      pushString(parts, m.content);
    }
    pushString(parts, m.reasoning_content);
    if (!Array.isArray(m.tool_calls)) continue;
    for (const call of m.tool_calls) {
      const f = asObject(asObject(call)?.function);
      pushString(parts, f?.name);
      pushString(parts, f?.arguments);
    }
  }
  return joinText(parts);
}
