// Everything a request sends to the model, gathered as text for a local input-token estimate.
//
// The Go proxy counted only the text blocks of messages, which undercounts Claude Code traffic badly: system prompts, tool definitions and tool results are most of its input.

import { asObject } from '../json.ts';
import type { TokenCounter } from './tokenizer.ts';
import type { ApiFamily } from './types.ts';

/** Chat-format tokens around each message (role marker and delimiters): 3, as OpenAI's cookbook counts
 *  cl100k chat messages (`<|start|>{role}\n … <|end|>\n`). An Anthropic `system` counts as one message. */
export const TOKENS_PER_MESSAGE = 3;
/** Tokens that prime the reply (`<|start|>assistant<|message|>`): 3, as OpenAI's cookbook. */
export const TOKENS_PER_REQUEST = 3;
/** Template text wrapped around each tool definition: 10. OpenAI's cookbook puts ~7 before and ~12 after
 *  each function in its rendered form, but we count the schema as JSON, which is already more verbose than
 *  that rendering, so a smaller figure is used. Images and documents' binary data are not estimated. */
export const TOKENS_PER_TOOL = 10;

/** Collects every piece of text a request sends (system, messages: text, tool_use input JSON, tool_result
 *  content, thinking; tools: name+description+input_schema JSON; OpenAI: messages content incl. parts,
 *  tool_calls, tools/functions) into one string for counting. Pure. */
export function requestText(api: ApiFamily, json: unknown): string {
  const req = asObject(json);
  if (req === null) return '';
  const parts: string[] = [];
  if (api === 'anthropic') anthropicRequest(parts, req);
  else openAiRequest(parts, req);
  return parts.join('\n');
}

/** Estimated input tokens: requestText plus TOKENS_PER_MESSAGE per message (and system),
 *  TOKENS_PER_TOOL per tool and TOKENS_PER_REQUEST once; 0 for a body that is not an object. */
export async function estimateInputTokens(
  counter: TokenCounter,
  api: ApiFamily,
  json: unknown,
): Promise<number> {
  const req = asObject(json);
  if (req === null) return 0;
  const messages = arrayLength(req.messages) + (api === 'anthropic' && hasSystem(req.system) ? 1 : 0);
  const tools = arrayLength(req.tools) + (api === 'openai' ? arrayLength(req.functions) : 0);
  const text = await counter.countAsync(requestText(api, req));
  return text + TOKENS_PER_MESSAGE * messages + TOKENS_PER_TOOL * tools + TOKENS_PER_REQUEST;
}

function arrayLength(v: unknown): number {
  return Array.isArray(v) ? v.length : 0;
}

function hasSystem(v: unknown): boolean {
  return (typeof v === 'string' && v.length > 0) || (Array.isArray(v) && v.length > 0);
}

function pushString(parts: string[], v: unknown): void {
  if (typeof v === 'string' && v.length > 0) parts.push(v);
}

// Schemas and tool inputs are sent as JSON; their JSON text is the best cheap proxy for their tokens.
function pushJson(parts: string[], v: unknown): void {
  if (v !== undefined && v !== null) parts.push(JSON.stringify(v));
}

// --- Anthropic Messages ----------------------------------------------------------------------------

function anthropicRequest(parts: string[], req: Record<string, unknown>): void {
  anthropicContent(parts, req.system);
  if (Array.isArray(req.messages)) {
    for (const m of req.messages) anthropicContent(parts, asObject(m)?.content);
  }
  if (Array.isArray(req.tools)) {
    for (const raw of req.tools) {
      const t = asObject(raw);
      if (t === null) continue;
      pushString(parts, t.name);
      pushString(parts, t.description);
      pushJson(parts, t.input_schema);
    }
  }
}

// A string, or an array of content blocks (also used for system and tool_result content).
function anthropicContent(parts: string[], content: unknown): void {
  if (typeof content === 'string') {
    pushString(parts, content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const raw of content) {
    const b = asObject(raw);
    if (b === null) continue;
    switch (b.type) {
      case 'text':
        pushString(parts, b.text);
        break;
      case 'thinking':
        pushString(parts, b.thinking);
        break;
      case 'tool_use':
      case 'server_tool_use':
        pushString(parts, b.name);
        pushJson(parts, b.input);
        break;
      case 'tool_result':
      case 'web_search_tool_result':
        anthropicContent(parts, b.content);
        break;
      case 'document': {
        const src = asObject(b.source);
        if (src?.type === 'text') pushString(parts, src.data);
        else if (src?.type === 'content') anthropicContent(parts, src.content);
        pushString(parts, b.title);
        pushString(parts, b.context);
        break;
      }
      default:
        pushString(parts, b.text); // image, redacted_thinking (opaque) and unknown types: their text if any
    }
  }
}

// --- OpenAI Chat Completions -----------------------------------------------------------------------

function openAiRequest(parts: string[], req: Record<string, unknown>): void {
  if (Array.isArray(req.messages)) {
    for (const raw of req.messages) {
      const m = asObject(raw);
      if (m === null) continue;
      pushString(parts, m.name);
      openAiContent(parts, m.content);
      pushString(parts, m.reasoning_content);
      if (Array.isArray(m.tool_calls)) {
        for (const call of m.tool_calls) openAiFunction(parts, asObject(call)?.function);
      }
      openAiFunction(parts, m.function_call); // legacy single call
    }
  }
  if (Array.isArray(req.tools)) {
    for (const t of req.tools) openAiFunction(parts, asObject(t)?.function);
  }
  if (Array.isArray(req.functions)) {
    for (const f of req.functions) openAiFunction(parts, f); // legacy `functions`
  }
}

// A string, or content parts of which only text parts carry text.
function openAiContent(parts: string[], content: unknown): void {
  if (typeof content === 'string') {
    pushString(parts, content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const p of content) pushString(parts, asObject(p)?.text);
}

// A function call ({name, arguments}) or a function definition ({name, description, parameters}).
function openAiFunction(parts: string[], fn: unknown): void {
  const f = asObject(fn);
  if (f === null) return;
  pushString(parts, f.name);
  pushString(parts, f.description);
  pushString(parts, f.arguments);
  pushJson(parts, f.parameters);
}
