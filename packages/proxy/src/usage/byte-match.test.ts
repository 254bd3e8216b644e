// Tests of byte-match: lineHas and needle against a plain substring search.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineHas, needle } from './byte-match.ts';

describe('byte-match', () => {
  it('lineHas finds a needle within [from, to) only, as a plain search does', () => {
    const texts = ['"usage"', 'aab', '""', 'abab', '"message_', 'ü✓'];
    const alphabet = ['"', 'u', 's', 'a', 'g', 'e', 'b', '_', 'ü', '✓', 'x'];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (const text of texts) {
      const n = needle(text);
      const nb = Buffer.from(text);
      for (let round = 0; round < 500; round++) {
        let str = Array.from({ length: rnd(30) }, () => alphabet[rnd(alphabet.length)]!).join('');
        if (rnd(3) === 0) str = str.slice(0, rnd(str.length + 1)) + text + str.slice(rnd(str.length + 1));
        const buf = Buffer.from(str);
        const from = rnd(buf.length + 1);
        const to = from + rnd(buf.length - from + 1);
        const plain = buf.subarray(from, to).includes(nb);
        assert.equal(lineHas(n, buf, from, to), plain, `${text} in ${JSON.stringify(str)} [${from}, ${to})`);
      }
    }
    assert.throws(() => needle('x'), RangeError);
  });
});
