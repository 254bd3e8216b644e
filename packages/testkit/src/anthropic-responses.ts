/** Anthropic Messages API bodies as Z.AI's /api/anthropic endpoint sends them, quirks included. */
import type { ReportedUsage } from './journal.ts';
import type { Rendered, ReplyPlan } from './reply-content.ts';

/** Non-stream Message JSON; usage carries all four directions. */
export function anthropicMessage(plan: ReplyPlan, id: string): Rendered {
  const u = plan.usage;
  const message: Record<string, unknown> = {
    id,
    type: 'message',
    role: 'assistant',
    model: plan.model,
    content: [{ type: 'text', text: plan.text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
  };
  if (!plan.noUsage) {
    message.usage = {
      input_tokens: u.input,
      output_tokens: u.output,
      cache_read_input_tokens: u.cache_read,
      cache_creation_input_tokens: u.cache_write,
    };
  }
  return { kind: 'json', status: 200, body: JSON.stringify(message), usage: plan.noUsage ? null : { ...u } };
}

function sse(type: string, data: unknown, eol: string): string {
  return `event: ${type}${eol}data: ${JSON.stringify(data)}${eol}${eol}`;
}

/**
 * The SSE stream. Z.AI quirk kept on purpose: message_start reports zero usage and the real numbers
 * arrive only in message_delta, so a proxy that trusts message_start undercounts.
 */
export function anthropicStream(plan: ReplyPlan, id: string): Rendered {
  const { eol, usage: u } = plan;
  const start: Record<string, unknown> = {
    id,
    type: 'message',
    role: 'assistant',
    model: plan.model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
  };
  if (!plan.noUsage) {
    start.usage = {
      input_tokens: 0,
      output_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    };
  }
  const events = [
    sse('message_start', { type: 'message_start', message: start }, eol),
    sse(
      'content_block_start',
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      eol,
    ),
    sse('ping', { type: 'ping' }, eol),
  ];
  for (const text of plan.pieces) {
    events.push(
      sse(
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } },
        eol,
      ),
    );
  }
  events.push(sse('content_block_stop', { type: 'content_block_stop', index: 0 }, eol));

  const delta: Record<string, unknown> = {
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
  };
  let reported: ReportedUsage | null = null;
  if (!plan.noUsage) {
    const usage: Record<string, number> = {
      input_tokens: u.input,
      output_tokens: u.output,
      cache_read_input_tokens: u.cache_read,
    };
    // Z.AI's message_delta has no cache_creation field; it appears only when a test asks for writes.
    if (u.cache_write > 0) usage.cache_creation_input_tokens = u.cache_write;
    delta.usage = usage;
    reported = { input: u.input, output: u.output, cache_read: u.cache_read, cache_write: u.cache_write };
  }
  const usageEvent = plan.noUsage ? -1 : events.length;
  events.push(sse('message_delta', delta, eol));
  events.push(sse('message_stop', { type: 'message_stop' }, eol));
  return { kind: 'sse', events, usageEvent, usage: reported };
}

/** count_tokens answer. */
export function anthropicCountTokens(inputTokens: number): Rendered {
  return { kind: 'json', status: 200, body: JSON.stringify({ input_tokens: inputTokens }), usage: null };
}
