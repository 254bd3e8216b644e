// Property tests of the byte-level JSON checks against JSON.parse (fixed seed, bounded runs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isValidJson, topLevelMembers } from './json-splice.ts';

const RUNS = { seed: 1616, numRuns: 400 };
const parses = (s: string) => {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
};

test('isValidJson agrees with JSON.parse on any JSON value, as written and mutated', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.nat(), fc.string({ maxLength: 3 }), (v, at, junk) => {
      const text = JSON.stringify(v, null, at % 3);
      assert.equal(isValidJson(Buffer.from(text)), true, text);
      // A random edit: the verdicts must agree either way.
      const p = at % (text.length + 1);
      const edited = text.slice(0, p) + junk + text.slice(p + (at % 2));
      assert.equal(isValidJson(Buffer.from(edited)), parses(edited), edited);
    }),
    RUNS,
  );
});

test('isValidJson agrees with JSON.parse on arbitrary short strings of JSON characters', () => {
  const ch = fc.constantFrom(...'{}[]",:0123456789-+.eEtruefalsn \\u'.split(''));
  fc.assert(
    fc.property(fc.array(ch, { maxLength: 16 }), (cs) => {
      const s = cs.join('');
      assert.equal(isValidJson(Buffer.from(s)), parses(s), s);
    }),
    { ...RUNS, numRuns: 2000 },
  );
});

test('isValidJson and topLevelMembers take 100k-deep nesting without a stack overflow', () => {
  const deep = `{"model":"glm-4.6","x":${'['.repeat(100_000)}${']'.repeat(100_000)},"stream":true}`;
  assert.equal(isValidJson(Buffer.from(deep)), true);
  assert.equal(isValidJson(Buffer.from(deep.slice(0, -2))), false);
  assert.deepEqual(topLevelMembers(Buffer.from(deep), ['model', 'stream']), {
    model: 'glm-4.6',
    stream: true,
  });
});

test('topLevelMembers reads the member JSON.parse reads', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom('model', 'stream', 'x'), fc.jsonValue()), (o) => {
      const b = Buffer.from(JSON.stringify(o));
      const top = topLevelMembers(b, ['model', 'stream'])!;
      for (const k of ['model', 'stream']) assert.deepEqual(top[k], (o as Record<string, unknown>)[k]);
    }),
    RUNS,
  );
});
