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
