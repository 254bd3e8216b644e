/** OpenAI Chat Completions bodies as Z.AI's /api/paas/v4 endpoint sends them. */
import type { ReportedUsage } from './journal.ts';
import { CREATED, type Rendered, type ReplyPlan } from './reply-content.ts';

/** Model ids /models lists (examples, not a promise of what Z.AI serves). */
export const MODEL_IDS = ['glm-4.6', 'glm-4.5', 'glm-4.5-air', 'glm-4.5-flash'] as const;

// OpenAI has no cache-write direction; prompt_tokens includes the cached part.
function openaiUsage(u: ReportedUsage) {
  const prompt = u.input + u.cache_read;
  return {
    prompt_tokens: prompt,
    completion_tokens: u.output,
    total_tokens: prompt + u.output,
    prompt_tokens_details: { cached_tokens: u.cache_read },
  };
}

function reported(u: ReportedUsage): ReportedUsage {
  return { input: u.input, output: u.output, cache_read: u.cache_read, cache_write: 0 };
}

/** Non-stream chat.completion. */
export function openaiCompletion(plan: ReplyPlan, id: string): Rendered {
  const completion: Record<string, unknown> = {
    id,
    object: 'chat.completion',
    created: CREATED,
    model: plan.model,
    choices: [{ index: 0, message: { role: 'assistant', content: plan.text }, finish_reason: 'stop' }],
  };
  if (!plan.noUsage) completion.usage = openaiUsage(plan.usage);
  return {
    kind: 'json',
    status: 200,
    body: JSON.stringify(completion),
    usage: plan.noUsage ? null : reported(plan.usage),
  };
}

/** Whether the request set stream_options.include_usage: true. */
export function includeUsage(json: unknown): boolean {
  const opts = (json as { stream_options?: { include_usage?: unknown } } | null)?.stream_options;
  return opts !== null && typeof opts === 'object' && opts.include_usage === true;
}

/** chat.completion.chunk stream; the usage chunk (choices: []) only when the request asked for it. */
export function openaiStream(plan: ReplyPlan, id: string, withUsage: boolean): Rendered {
  const { eol } = plan;
  const chunk = (choices: unknown[], usage?: unknown) => {
    const c: Record<string, unknown> = {
      id,
      object: 'chat.completion.chunk',
      created: CREATED,
      model: plan.model,
      choices,
    };
    if (usage !== undefined) c.usage = usage;
    return `data: ${JSON.stringify(c)}${eol}${eol}`;
  };
  const events = [chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])];
  for (const content of plan.pieces) {
    events.push(chunk([{ index: 0, delta: { content }, finish_reason: null }]));
  }
  events.push(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
  let usageEvent = -1;
  let usage: ReportedUsage | null = null;
  if (withUsage && !plan.noUsage) {
    usageEvent = events.length;
    events.push(chunk([], openaiUsage(plan.usage)));
    usage = reported(plan.usage);
  }
  events.push(`data: [DONE]${eol}${eol}`);
  return { kind: 'sse', events, usageEvent, usage };
}

/** GET /models list. */
export function openaiModels(): Rendered {
  const data = MODEL_IDS.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'z-ai' }));
  return { kind: 'json', status: 200, body: JSON.stringify({ object: 'list', data }), usage: null };
}
