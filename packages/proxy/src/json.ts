// JSON helpers shared by the request path: one parse that never throws, one plain-object check.

/** What parseJson returns for text that is not JSON. */
export const NOT_JSON: unique symbol = Symbol('not JSON');

/** Parses JSON text (a Buffer is read as UTF-8); NOT_JSON instead of throwing. */
export function parseJson(text: string | Buffer): unknown {
  if (text.length === 0) return NOT_JSON;
  try {
    return JSON.parse(typeof text === 'string' ? text : text.toString('utf8'));
  } catch {
    return NOT_JSON;
  }
}

/** The value as a plain JSON object, or null for arrays, primitives and null. */
export function asObject(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** JSON text as an object, or null when it is not JSON or not an object. */
export function parseObject(text: string | Buffer): Record<string, unknown> | null {
  return asObject(parseJson(text));
}
