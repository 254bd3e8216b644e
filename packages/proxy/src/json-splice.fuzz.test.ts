// Property tests of the byte-level JSON checks against JSON.parse (fixed seed, bounded runs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isValidJson, setJsonMember, topLevelMembers } from './json-splice.ts';

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

test('setJsonMember of a top-level member edits the one JSON.parse reads, every other byte kept', () => {
  // Members written by hand, so that keys repeat, are spelled with escapes, and appear as values.
  const key = fc.constantFrom('"model"', '"mod\\u0065l"', '"\\u006dodel"', '"stream"', '"x"', '"models"');
  const value = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.constantFrom('"model"', '{"model":"a"}', '["model",{"model":1}]', '"a\\\\u"', '"\\"model\\""'),
  );
  const space = fc.constantFrom('', ' ', '\n\t');
  const member = fc.tuple(space, key, space, value);
  const write = ([w, k, w2, v]: [string, string, string, string]) => `${w}${k}${w2}:${w}${v}`;
  fc.assert(
    fc.property(fc.array(member, { minLength: 1, maxLength: 6 }), (members) => {
      const last = members.findLastIndex(([, k]) => JSON.parse(k) === 'model');
      if (last === -1) return;
      const text = `{${members.map(write).join(',')}}`;
      const want = `{${members.map((m, i) => write(i === last ? [m[0], m[1], m[2], '"glm-4.6"'] : m)).join(',')}}`;
      assert.equal(setJsonMember(Buffer.from(text), ['model'], '"glm-4.6"').toString(), want);
    }),
    RUNS,
  );
});
