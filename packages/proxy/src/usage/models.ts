// Folds client-supplied model names into a bounded set of metric labels.
//
// The Go proxy labelled metrics with the raw request `model`, an unbounded label: any client could
// create series at will. Known GLM names are kept as they are, Claude names fold to their family (Claude Code sends
// dated names such as claude-sonnet-4-5-20250929 that Z.AI maps onto GLM), anything else is 'other'.

/** The label for every model name that is not recognised. */
export const OTHER_MODEL = 'other';

/** GLM model names known to Z.AI's APIs; kept verbatim (lower-cased) as labels. */
export const KNOWN_GLM_MODELS: ReadonlySet<string> = new Set([
  'glm-4',
  'glm-4-plus',
  'glm-4-air',
  'glm-4-airx',
  'glm-4-flash',
  'glm-4-flashx',
  'glm-4-long',
  'glm-4v',
  'glm-4v-plus',
  'glm-4v-flash',
  'glm-4.5',
  'glm-4.5-air',
  'glm-4.5-airx',
  'glm-4.5-x',
  'glm-4.5-flash',
  'glm-4.5v',
  'glm-4.6',
  'glm-4.6v',
  'glm-4.6v-flash',
  'glm-4.7',
  'glm-4.7-flash',
  'glm-5',
  'glm-5-turbo',
  'glm-5.1',
  'glm-5.2',
  'glm-5.3',
  'glm-5.3-flash',
  'glm-z1-air',
  'glm-z1-airx',
  'glm-z1-flash',
]);

/** The Claude family labels foldModel can return. */
export const CLAUDE_FAMILIES: readonly string[] = Object.freeze([
  'claude-opus',
  'claude-sonnet',
  'claude-haiku',
]);

// claude-opus-4-1-20250805, claude-sonnet-4-5, claude-3-5-sonnet-20241022, claude-3-haiku-20240307 …
const CLAUDE_FAMILY = /^claude-(?:[\d.-]+-)?(opus|sonnet|haiku)(?:$|[-@[:])/;
// Router-style prefixes that name the provider, e.g. OpenRouter's "z-ai/glm-4.6".
const PROVIDER_PREFIX = /^(?:z-ai|zai|zai-org|zhipuai|zhipu|anthropic)\//;
const MAX_MODEL_CHARS = 200; // longer than any real name: not worth lower-casing

/** Folds a client-supplied model name into a bounded label set: known GLM names, Claude family names
 *  (claude-opus-*, claude-sonnet-*, claude-haiku-*, claude-3-* → 'claude-sonnet' etc.), lower-cased and
 *  trimmed; anything else 'other'. */
export function foldModel(raw: string | null | undefined): string {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_MODEL_CHARS) return OTHER_MODEL;
  const name = raw.trim().toLowerCase().replace(PROVIDER_PREFIX, '');
  if (KNOWN_GLM_MODELS.has(name)) return name;
  const family = CLAUDE_FAMILY.exec(name);
  return family === null ? OTHER_MODEL : `claude-${family[1]}`;
}

/** Every label foldModel can return (for binding metric children up front). */
export function modelLabels(): string[] {
  return [...KNOWN_GLM_MODELS, ...CLAUDE_FAMILIES, OTHER_MODEL];
}
