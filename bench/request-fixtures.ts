// Realistic request bodies and headers for the benches: a ~2 KB coding-assistant turn in each API.
import { BENCH_KEY } from './child-processes.ts';

export type Api = 'anthropic' | 'openai';

/** One kind of request the bench sends, identical for every target. */
export interface Workload {
  readonly name: string;
  readonly api: Api;
  readonly stream: boolean;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

/** Where a request goes: the sim directly, or a proxy in front of it. */
export interface Target {
  readonly name: string;
  readonly origin: string;
  readonly paths: Readonly<Record<Api, string>>;
  /** Per API, headers added to every request (a gateway that is told its upstream per request). */
  readonly headers?: Readonly<Partial<Record<Api, Readonly<Record<string, string>>>>>;
}

/** The workload's headers with the target's own on top. */
export function requestHeaders(t: Target, w: Workload): Record<string, string> {
  return { ...w.headers, ...t.headers?.[w.api] };
}

export const DIRECT_PATHS: Record<Api, string> = {
  anthropic: '/api/anthropic/v1/messages',
  openai: '/api/paas/v4/chat/completions',
};
export const PROXY_PATHS: Record<Api, string> = {
  anthropic: '/v1/messages',
  openai: '/v1/chat/completions',
};

// 60 words in 20 deltas (~3 words each), as a short streamed answer; the same reply shape for JSON.
const JSON_SCENARIO = 'ok;words=60';
const STREAM_SCENARIO = 'ok;events=20;words=60';

const SYSTEM =
  'You are a careful senior TypeScript engineer. Answer with a short explanation followed by a ' +
  'minimal patch. Keep the existing code style: strict types, ESM imports, no default exports, ' +
  'small functions with one purpose, comments that explain why rather than what. ' +
  'The repository is an npm workspace with packages/proxy (a node:http gateway that forwards to an ' +
  'upstream through undici), packages/testkit (a simulated upstream) and packages/web (a React ' +
  'dashboard). Tests use node:test with fake clocks; never sleep in a test. When you change behaviour, ' +
  'say which test covers it, and list any configuration variable you add with its default and unit. ' +
  'Prefer the standard library to a new dependency. ';
const FILE_EXCERPT =
  'export function retryDelay(attempt: number, base = 250, cap = 30_000): number {\n' +
  '  const exp = Math.min(cap, base * 2 ** attempt);\n' +
  '  return Math.floor(exp / 2 + Math.random() * (exp / 2));\n' +
  '}\n';
const TURNS: Array<{ role: 'user' | 'assistant'; text: string }> = [
  {
    role: 'user',
    text: `Here is our retry helper:\n\n${FILE_EXCERPT}\nWhy do we see bursts of retries after an upstream outage?`,
  },
  {
    role: 'assistant',
    text:
      'The jitter only spreads each delay over its upper half, and every client that failed at the same ' +
      'moment computes the same exponential base, so their retries still cluster. Full jitter spreads ' +
      'them over the whole interval and honours Retry-After when the upstream sends it.',
  },
  {
    role: 'user',
    text:
      'Please rewrite it with full jitter, accept an optional Retry-After in milliseconds that wins ' +
      'over the computed delay (capped), and add a test that uses an injected random source instead ' +
      `of Math.random. Keep the signature backwards compatible.\n\n${FILE_EXCERPT}`,
  },
];

function anthropicBody(stream: boolean): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: 'glm-4.6',
      max_tokens: 1024,
      system: SYSTEM,
      messages: TURNS.map((t) => ({ role: t.role, content: [{ type: 'text', text: t.text }] })),
      ...(stream ? { stream: true } : {}),
    }),
  );
}

function openaiBody(stream: boolean): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: 'glm-4.6',
      max_tokens: 1024,
      messages: [
        { role: 'system', content: SYSTEM },
        ...TURNS.map((t) => ({ role: t.role, content: t.text })),
      ],
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    }),
  );
}

function headers(api: Api, stream: boolean): Record<string, string> {
  const scenario = stream ? STREAM_SCENARIO : JSON_SCENARIO;
  return api === 'anthropic'
    ? {
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
        'x-api-key': BENCH_KEY,
        'x-sim-scenario': scenario,
      }
    : {
        'content-type': 'application/json',
        authorization: `Bearer ${BENCH_KEY}`,
        'x-sim-scenario': scenario,
      };
}

function workload(name: string, api: Api, stream: boolean): Workload {
  const body = api === 'anthropic' ? anthropicBody(stream) : openaiBody(stream);
  return { name, api, stream, body, headers: headers(api, stream) };
}

export const ANTHROPIC_JSON = workload('anthropic json', 'anthropic', false);
export const ANTHROPIC_SSE = workload('anthropic sse', 'anthropic', true);
export const OPENAI_JSON = workload('openai json', 'openai', false);
export const OPENAI_SSE = workload('openai sse', 'openai', true);

// A Claude Code turn as it reaches a gateway: a long system prompt, 24 tool definitions with JSON
// schemas, and a conversation carrying tool calls and file contents (~76 KB in all). Token counting
// and every body scan pay for its size, which the 2 KB turn above hides.
const TOOL_NAMES = [
  'Bash',
  'Read',
  'Write',
  'Edit',
  'MultiEdit',
  'Glob',
  'Grep',
  'LS',
  'NotebookRead',
  'NotebookEdit',
  'WebFetch',
  'WebSearch',
  'TodoRead',
  'TodoWrite',
  'Task',
  'ExitPlanMode',
  'BashOutput',
  'KillShell',
  'SlashCommand',
  'ListMcpResources',
  'ReadMcpResource',
  'mcp__git__status',
  'mcp__git__diff',
  'mcp__git__log',
];

function claudeCodeTools(): unknown[] {
  return TOOL_NAMES.map((name, i) => ({
    name,
    description:
      `${name}: ${SYSTEM}Usage notes: the path must be absolute; results longer than 30000 ` +
      `characters are truncated; run independent calls in parallel. (tool ${i + 1} of ${TOOL_NAMES.length})`,
    input_schema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'The absolute path of the file or directory to work on' },
        pattern: { type: 'string', description: 'A glob or regular expression, depending on the tool' },
        content: { type: 'string', description: 'The text to write, or the replacement text' },
        limit: { type: 'number', description: 'The number of lines to read; only for large files' },
        offset: { type: 'number', description: 'The line number to start reading from' },
        timeout: { type: 'number', description: 'Optional timeout in milliseconds (max 600000)' },
      },
      required: ['path'],
      additionalProperties: false,
      $schema: 'http://json-schema.org/draft-07/schema#',
    },
  }));
}

function claudeCodeBody(): Buffer {
  const file = FILE_EXCERPT.repeat(30); // ~4 KB of source per tool result
  const messages: unknown[] = [{ role: 'user', content: [{ type: 'text', text: TURNS[0]!.text }] }];
  for (let i = 0; i < 5; i++) {
    messages.push({
      role: 'assistant',
      content: [
        { type: 'text', text: TURNS[1]!.text },
        { type: 'tool_use', id: `toolu_${i}`, name: 'Read', input: { path: `/repo/src/retry-${i}.ts` } },
      ],
    });
    messages.push({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: `toolu_${i}`, content: file }],
    });
  }
  messages.push({ role: 'user', content: [{ type: 'text', text: TURNS[2]!.text }] });
  return Buffer.from(
    JSON.stringify({
      model: 'glm-4.6',
      max_tokens: 32000,
      system: [{ type: 'text', text: SYSTEM.repeat(8), cache_control: { type: 'ephemeral' } }],
      tools: claudeCodeTools(),
      messages,
      metadata: { user_id: 'user_bench_account__session_0123456789abcdef' },
    }),
  );
}

export const CLAUDE_CODE_JSON: Workload = {
  name: 'claude-code json',
  api: 'anthropic',
  stream: false,
  body: claudeCodeBody(),
  headers: headers('anthropic', false),
};

/** A stream paced by the sim: `events` deltas `intervalMs` apart. */
export interface PacedStream extends Workload {
  readonly events: number;
  readonly intervalMs: number;
}

/** An Anthropic stream of `events` deltas `intervalMs` apart (3 words each), paced by the sim. */
export function pacedStream(events: number, intervalMs: number): PacedStream {
  return {
    name: `anthropic sse ${events}×${intervalMs} ms`,
    api: 'anthropic',
    stream: true,
    body: anthropicBody(true),
    headers: {
      ...headers('anthropic', true),
      'x-sim-scenario': `ok;events=${events};delay=${intervalMs};words=${events * 3}`,
    },
    events,
    intervalMs,
  };
}
