import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setJsonMember } from './json-splice.ts';

const set = (text: string, path: string[], value: string) =>
  setJsonMember(Buffer.from(text), path, value).toString('utf8');

describe('setJsonMember', () => {
  test('replaces an existing value in place, every other byte kept', () => {
    assert.equal(
      set('{ "a" : 1.50 ,"b":{"c":false} }', ['b', 'c'], 'true'),
      '{ "a" : 1.50 ,"b":{"c":true} }',
    );
    assert.equal(set('{"model":"glm-4.6","x":[1,2]}', ['model'], '"glm-5"'), '{"model":"glm-5","x":[1,2]}');
  });

  test('inserts a missing member after the last one, creating objects on the way', () => {
    assert.equal(set('{"a":1}', ['b', 'c'], 'true'), '{"a":1,"b":{"c":true}}');
    assert.equal(set('{ }', ['b'], 'true'), '{"b":true }');
    assert.equal(set('{"s":{"x":1}\n}', ['s', 'y'], '2'), '{"s":{"x":1,"y":2}\n}');
  });

  test('a non-object on the path is replaced', () => {
    assert.equal(set('{"s":null}', ['s', 'y'], '2'), '{"s":{"y":2}}');
    assert.equal(set('{"s":[1,{"y":1}]}', ['s', 'y'], '2'), '{"s":{"y":2}}');
  });

  test('the member JSON.parse reads is the one edited: the last duplicate, escaped keys included', () => {
    const out = set('{"s":{"y":1},"s":{"z":1}}', ['s', 'y'], '2');
    assert.equal(out, '{"s":{"y":1},"s":{"z":1,"y":2}}');
    assert.deepEqual(JSON.parse(out), { s: { z: 1, y: 2 } });
    assert.equal(set('{"\\u0073":1}', ['s'], '2'), '{"\\u0073":2}');
  });

  test('strings holding quotes, backslashes and brackets are skipped whole', () => {
    const text = '{"m":"a \\"}\\\\","n":"{[","s":{"k":"\\\\\\""}}';
    const out = set(text, ['s', 'k'], '"v"');
    assert.deepEqual(JSON.parse(out), { m: 'a "}\\', n: '{[', s: { k: 'v' } });
  });

  test('100,000-deep nesting: no stack overflow, the nested bytes untouched', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const text = `{"deep":${deep},"stream":true}`;
    const out = set(text, ['stream_options', 'include_usage'], 'true');
    assert.equal(out, `{"deep":${deep},"stream":true,"stream_options":{"include_usage":true}}`);
  });

  test('invalid UTF-8 bytes stay exactly as they were', () => {
    const bad = Buffer.from([0xff, 0xfe, 0xc3]); // never valid UTF-8
    const body = Buffer.concat([Buffer.from('{"t":"'), bad, Buffer.from('","n":1}')]);
    const out = setJsonMember(body, ['n'], '2');
    assert.deepEqual(out, Buffer.concat([Buffer.from('{"t":"'), bad, Buffer.from('","n":2}')]));
  });
});
