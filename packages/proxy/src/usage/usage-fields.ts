// How each API names its usage fields, mapped onto the four disjoint directions.
//
// Anthropic input_tokens EXCLUDES cache reads and writes; OpenAI prompt_tokens INCLUDES cached tokens.
// Pricing cached tokens as plain input inflates cost 2-7x
// (LiteLLM #11789, Bifrost #904), so OpenAI's cached part is moved out of input here.
import { asObject } from '../json.ts';
import type { Usage } from './types.ts';

/** True for a usable token count: a finite, non-negative number. */
export function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0;
}

/** Merges an Anthropic usage object into `into` (fields it lacks keep their value); null if it has none. */
export function mergeAnthropicUsage(into: Usage | null, u: Record<string, unknown> | null): Usage | null {
  if (u === null) return into;
  const i = u.input_tokens;
  const out = u.output_tokens;
  const cr = u.cache_read_input_tokens;
  const cw = u.cache_creation_input_tokens;
  if (!isCount(i) && !isCount(out) && !isCount(cr) && !isCount(cw)) return into;
  const r = into ?? { input: 0, output: 0, cache_read: 0, cache_write: 0 };
  if (isCount(i)) r.input = i;
  if (isCount(out)) r.output = out;
  if (isCount(cr)) r.cache_read = cr;
  if (isCount(cw)) r.cache_write = cw;
  return r;
}

/** Maps an OpenAI usage object to directions, or null when it has neither prompt nor completion count. */
export function openAiUsage(u: Record<string, unknown> | null): Usage | null {
  if (u === null) return null;
  const prompt = u.prompt_tokens;
  const completion = u.completion_tokens;
  if (!isCount(prompt) && !isCount(completion)) return null;
  // DeepSeek-style upstreams report prompt_cache_hit_tokens instead of prompt_tokens_details
  const cachedRaw = asObject(u.prompt_tokens_details)?.cached_tokens ?? u.prompt_cache_hit_tokens;
  const cached = isCount(cachedRaw) ? cachedRaw : 0;
  return {
    input: Math.max(0, (isCount(prompt) ? prompt : 0) - cached),
    output: isCount(completion) ? completion : 0,
    cache_read: cached,
    cache_write: 0,
  };
}
