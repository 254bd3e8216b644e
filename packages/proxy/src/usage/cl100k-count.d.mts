// Types of cl100k-count.mjs (plain JS so the worker thread can load it without the tsx loader).

/** Pre-tokens at least this long (UTF-16 units) are counted in slices; real text has none this long. */
export declare const MAX_PIECE_CHARS: number;
/** cl100k_base token count of text (exact unless it holds a pre-token of MAX_PIECE_CHARS or more). */
export declare function countCl100k(text: string): number;
