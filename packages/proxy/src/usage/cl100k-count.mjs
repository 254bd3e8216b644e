// cl100k_base token counting shared by the main thread and the worker, guarded against slow inputs.
//
// gpt-tokenizer's BPE is quadratic in the length of one pre-token (a run of letters, of punctuation or of
// whitespace). Measured here, 32 Ki chars as one run took 1.1 s ('x'), 1.8 s (spaces) and 7.6 s ('東'),
// while 1.1 MB of prose took 54 ms. A model looping on one character, or a pasted separator line, would
// stall the event loop. So runs of MAX_PIECE_CHARS or more are counted in slices of that size: exact for
// every text without such a run, and within a token per slice for the rest.
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';

/** Pre-tokens at least this long (UTF-16 units) are counted in slices; real text has none this long. */
export const MAX_PIECE_CHARS = 128;

// Special-token text such as "<|endoftext|>" in a prompt is ordinary text here, never an error.
const OPTIONS = { disallowedSpecial: new Set() };

// Coarse classes that a precise pre-token never spans: ASCII whitespace, ASCII digits (\p{N}{1,3} is
// bounded anyway) and everything else. A long coarse run is then checked precisely.
const OTHER = 0;
const SPACE = 1;
const DIGIT = 2;
const ASCII_CLASS = new Uint8Array(128);
for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]) ASCII_CLASS[c] = SPACE;
for (let c = 0x30; c <= 0x39; c++) ASCII_CLASS[c] = DIGIT;
const LONG_PIECE = new RegExp(
  `\\p{L}{${MAX_PIECE_CHARS}}|[^\\s\\p{L}\\p{N}]{${MAX_PIECE_CHARS}}|\\s{${MAX_PIECE_CHARS}}`,
  'u',
);

/** cl100k_base token count of text (exact unless it holds a pre-token of MAX_PIECE_CHARS or more). */
export function countCl100k(text) {
  const n = text.length;
  if (n < MAX_PIECE_CHARS) return n === 0 ? 0 : countTokens(text, OPTIONS);
  let total = 0;
  let seg = 0; // start of the text not counted yet
  let runStart = 0;
  let runClass = -1;
  for (let i = 0; i <= n; i++) {
    let k = -1; // end of text closes the last run
    if (i < n) {
      const c = text.charCodeAt(i);
      k = c < 128 ? ASCII_CLASS[c] : OTHER;
    }
    if (k === runClass) continue;
    if (i - runStart >= MAX_PIECE_CHARS && runClass !== DIGIT && LONG_PIECE.test(text.slice(runStart, i))) {
      if (runStart > seg) total += countTokens(text.slice(seg, runStart), OPTIONS);
      total += countSlices(text, runStart, i);
      seg = i;
    }
    runClass = k;
    runStart = i;
  }
  if (seg === 0) return countTokens(text, OPTIONS);
  return seg < n ? total + countTokens(text.slice(seg), OPTIONS) : total;
}

function countSlices(text, from, to) {
  let total = 0;
  for (let a = from; a < to; ) {
    let b = Math.min(to, a + MAX_PIECE_CHARS);
    const last = text.charCodeAt(b - 1);
    if (b < to && last >= 0xd800 && last <= 0xdbff) b++; // never split a surrogate pair
    total += countTokens(text.slice(a, b), OPTIONS);
    a = b;
  }
  return total;
}
