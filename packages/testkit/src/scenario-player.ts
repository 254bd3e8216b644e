/** Turns a (route, scenario) pair into bytes on the wire: normal replies, business errors and faults. */
import { anthropicCountTokens, anthropicMessage, anthropicStream } from './anthropic-responses.ts';
import { errorBody, simMessage } from './error-envelopes.ts';
import { deliverEvents, finish, type StreamEnding, type StreamGate } from './event-pacer.ts';
import {
  destroyConnection,
  type Exchange,
  endBody,
  pause,
  sendBody,
  sendHead,
  writeBody,
} from './exchange.ts';
import type { ReportedUsage } from './journal.ts';
import { includeUsage, openaiCompletion, openaiModels, openaiStream } from './openai-responses.ts';
import { type QuotaState, quotaBody } from './quota.ts';
import { planReply, type Rendered, wantsStream } from './reply-content.ts';
import type { Route } from './routes.ts';
import type { ScenarioSpec } from './scenarios.ts';
import { zaiError } from './zai-errors.ts';

const JSON_TYPE = 'application/json';
const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
const DEFAULT_AFTER = 4; // events before reset_mid_stream / stall: the head plus the first text
const DEFAULT_HEADER_DELAY_MS = 1000; // slow_headers
const TRUNCATED_JSON = '{"id": "trunc';

export interface PlayerContext {
  tokensPerReply: number;
  /** Input tokens charged for a request body (the sim's token model). */
  inputTokens: (json: unknown) => number;
  gate: StreamGate;
  quota: QuotaState;
}

/** Plays one scenario for one request. */
export type Player = (x: Exchange, route: Route, spec: ScenarioSpec) => Promise<void>;

function isObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function createPlayer(ctx: PlayerContext): Player {
  function record(x: Exchange, usage: ReportedUsage | null): void {
    if (usage === null) return;
    x.entry.reportedUsage = usage;
    ctx.quota.tokensServed += usage.input + usage.output + usage.cache_read + usage.cache_write;
  }

  function render(x: Exchange, route: Route, spec: ScenarioSpec): Rendered {
    const { json, id } = x.entry;
    switch (route.name) {
      case 'messages': {
        const plan = planReply(json, spec, ctx.tokensPerReply, ctx.inputTokens);
        return wantsStream(json)
          ? anthropicStream(plan, `msg_sim_${id}`)
          : anthropicMessage(plan, `msg_sim_${id}`);
      }
      case 'count_tokens':
        return anthropicCountTokens(spec.input ?? ctx.inputTokens(json));
      case 'chat_completions': {
        const plan = planReply(json, spec, ctx.tokensPerReply, ctx.inputTokens);
        const rid = `chatcmpl-sim-${id}`;
        return wantsStream(json) ? openaiStream(plan, rid, includeUsage(json)) : openaiCompletion(plan, rid);
      }
      case 'models':
        return openaiModels();
      case 'quota':
        return quotaBody(spec, ctx.quota, Date.now());
    }
  }

  // The normal answer, ended normally or cut short by a fault.
  async function reply(x: Exchange, route: Route, spec: ScenarioSpec, ending: StreamEnding): Promise<void> {
    if (route.method === 'POST' && !isObject(x.entry.json)) {
      const body = errorBody(route.surface, 400, 'sim: request body must be a JSON object');
      return sendBody(x, 400, JSON_TYPE, body);
    }
    const r = render(x, route, spec);
    if (r.kind === 'sse') {
      sendHead(x, 200, SSE_HEADERS);
      const pacing = {
        delayMs: spec.delayMs ?? 0,
        chunk: spec.chunk,
        gate: spec.gate === true,
        stopAfter: ending === 'end' ? Number.POSITIVE_INFINITY : (spec.after ?? DEFAULT_AFTER),
        ending,
      };
      return deliverEvents(x, r.events, pacing, ctx.gate, (i) => {
        if (i === r.usageEvent) record(x, r.usage);
      });
    }
    if (ending === 'end') {
      // The whole body, usage included, is handed to the socket below.
      record(x, r.usage);
      return sendBody(x, r.status, JSON_TYPE, r.body, spec.chunk);
    }
    // A non-stream body cut in half: the head promises every byte, half of them arrive.
    const buf = Buffer.from(r.body);
    sendHead(x, r.status, { 'content-type': JSON_TYPE, 'content-length': buf.length });
    if (await writeBody(x, buf.subarray(0, Math.floor(buf.length / 2)), spec.chunk)) await finish(x, ending);
  }

  async function play(x: Exchange, route: Route, spec: ScenarioSpec): Promise<void> {
    switch (spec.name) {
      case 'ok':
      case 'huge':
        return reply(x, route, spec, 'end');
      case 'reset_mid_stream':
        return reply(x, route, spec, 'destroy');
      case 'stall':
        return reply(x, route, spec, 'stall');
      case 'slow_headers':
        await pause(x, spec.headerDelayMs ?? DEFAULT_HEADER_DELAY_MS);
        return reply(x, route, spec, 'end');
      case 'reset_before_headers':
        return destroyConnection(x);
      case 'zai_error': {
        const e = zaiError(spec);
        return sendBody(x, e.status, JSON_TYPE, e.body, spec.chunk, e.headers);
      }
      case 'status': {
        const status = spec.status ?? 500;
        const body = spec.body ?? errorBody(route.surface, status, simMessage(status));
        return sendBody(x, status, JSON_TYPE, body, spec.chunk);
      }
      case 'empty':
        return sendBody(x, 200, JSON_TYPE, '');
      case 'invalid_json':
        return sendBody(x, 200, JSON_TYPE, TRUNCATED_JSON);
      case 'empty_stream':
        sendHead(x, 200, SSE_HEADERS);
        return endBody(x);
      case 'count_tokens_unsupported':
        if (route.name === 'count_tokens') {
          const body = errorBody('anthropic', 404, 'sim: count_tokens is not supported by this upstream');
          return sendBody(x, 404, JSON_TYPE, body);
        }
        return reply(x, route, spec, 'end');
      case 'fail_then_ok':
        // Resolved before playing (header counters, or expanded by enqueue); a hand-built spec
        // reaching here gets its failure once.
        return play(x, route, spec.inner ?? { name: 'ok' });
    }
  }

  return play;
}
