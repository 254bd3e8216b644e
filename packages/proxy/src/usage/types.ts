// Shared value types of the usage module: token directions, usage records, API families.

/** The four disjoint token directions; `input` is uncached input only. */
export type Direction = 'input' | 'output' | 'cache_read' | 'cache_write';

/** Token counts of one request, one number per direction. */
export interface Usage {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
}

/** The client-facing API a body or stream belongs to (declared with the API surfaces). */
export type { ApiFamily } from '../routes/types.ts';

/** Every direction, in a fixed order (label sets, validation). */
export const DIRECTIONS: readonly Direction[] = Object.freeze([
  'input',
  'output',
  'cache_read',
  'cache_write',
]);
