// How the simulated upstream counts a request's input tokens. 'bytes' (the default) charges
// ceil(JSON bytes of `messages` / 4). 'glm' stands in for GLM's own tokenizer, which counts more
// tokens than cl100k_base on the same text (about 27 % more on a measured corpus of prompts and
// code): every string the request sends (system, messages, tools; keys excluded) counted with
// cl100k_base, times 1.27, plus a chat-template overhead per message. Deterministic, so a test can
// compare a local cl100k estimate with it.
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';

export type TokenModel = 'bytes' | 'glm';

/** GLM's count over cl100k_base's on the same text. */
export const GLM_TOKEN_RATIO = 1.27;
/** Template tokens GLM's chat format wraps around each message, the system prompt and each tool. */
export const GLM_TOKENS_PER_MESSAGE = 4;

const CL100K_OPTIONS = { disallowedSpecial: new Set<string>() };

/** Input tokens the sim charges for a request body under a token model. */
export function inputTokens(model: TokenModel, json: unknown): number {
  return model === 'glm' ? glmInputTokens(json) : bytesInputTokens(json);
}

/** ceil(JSON byte length of `messages` / 4), 0 without messages. */
export function bytesInputTokens(json: unknown): number {
  if (json === null || typeof json !== 'object' || !('messages' in json)) return 0;
  return Math.ceil(Buffer.byteLength(JSON.stringify(json.messages) ?? '') / 4);
}

/** round(1.27 × cl100k(the text the model reads)) + 4 template tokens per message, system prompt
 *  and tool. The text: system and message texts, tool calls as name and JSON input, tool results,
 *  thinking, and each tool definition as JSON (chat templates render tools as JSON). */
export function glmInputTokens(json: unknown): number {
  if (json === null || typeof json !== 'object') return 0;
  const req = json as Record<string, unknown>;
  const parts: string[] = [];
  content(req.system, parts);
  const messages = Array.isArray(req.messages) ? req.messages : [];
  for (const m of messages) content((m as { content?: unknown } | null)?.content, parts);
  const tools = [
    ...(Array.isArray(req.tools) ? req.tools : []),
    ...(Array.isArray(req.functions) ? req.functions : []),
  ];
  for (const t of tools) parts.push(JSON.stringify(t));
  const text = parts.join('\n');
  const counted = text === '' ? 0 : countTokens(text, CL100K_OPTIONS);
  const framed = messages.length + (req.system ? 1 : 0) + tools.length;
  return Math.round(GLM_TOKEN_RATIO * counted) + GLM_TOKENS_PER_MESSAGE * framed;
}

// Text of a content value: a string, or blocks (Anthropic) / parts (OpenAI).
function content(v: unknown, out: string[]): void {
  if (typeof v === 'string') {
    if (v !== '') out.push(v);
    return;
  }
  if (!Array.isArray(v)) return;
  for (const raw of v) {
    if (raw === null || typeof raw !== 'object') continue;
    const b = raw as Record<string, unknown>;
    for (const key of ['text', 'thinking', 'name'])
      if (typeof b[key] === 'string') out.push(b[key] as string);
    if (b.input !== undefined) out.push(JSON.stringify(b.input));
    if (b.content !== undefined) content(b.content, out);
  }
}
