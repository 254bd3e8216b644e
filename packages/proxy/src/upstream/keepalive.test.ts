import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardedTail, keepaliveAllowed, nextCheckMs, startsStream } from './keepalive.ts';

const b = (s: string) => Buffer.from(s);
const DELTA = 'event: content_block_delta\ndata: {"type":"content_block_delta"}\n\n';

test('a keepalive goes only between whole events (LF and CRLF), never inside one or inside a line', () => {
  assert.equal(keepaliveAllowed('anthropic', true, b(DELTA)), true);
  assert.equal(keepaliveAllowed('anthropic', true, b('event: ping\r\ndata: {}\r\n\r\n')), true);
  assert.equal(keepaliveAllowed('anthropic', true, b(`${DELTA}event: content_block_delta\n`)), false);
  assert.equal(keepaliveAllowed('anthropic', true, b(`${DELTA}data: {"type":"cont`)), false);
  assert.equal(keepaliveAllowed('openai', true, b('data: {"choices":[]}\n')), false);
  assert.equal(keepaliveAllowed('openai', true, b('data: {"choices":[]}\n\n')), true);
  assert.equal(keepaliveAllowed('openai', true, b('\n')), false);
});

test('not before the stream started, not after its end event', () => {
  assert.equal(keepaliveAllowed('anthropic', false, b(DELTA)), false);
  assert.equal(
    keepaliveAllowed('anthropic', true, b(`${DELTA}event: message_stop\ndata: {"type":"message_stop"}\n\n`)),
    false,
  );
  assert.equal(keepaliveAllowed('openai', true, b('data: {"choices":[]}\n\ndata: [DONE]\n\n')), false);
  // The end event's name earlier in the stream (in text, say) does not stop keepalives later.
  assert.equal(keepaliveAllowed('openai', true, b('data: {"c":"[DONE]"}\n\ndata: {"c":"x"}\n\n')), true);
});

test('the start event is found when it straddles two writes; OpenAI needs none', () => {
  assert.equal(startsStream('anthropic', null, b('event: message_start\n')), true);
  assert.equal(startsStream('anthropic', b('event: messa'), b('ge_start\ndata: {}\n\n')), true);
  assert.equal(startsStream('anthropic', b('event: ping\n'), b('data: {}\n\n')), false);
  assert.equal(startsStream('openai', null, b('x')), true);
});

test('the tail spans the last two writes, bounded', () => {
  assert.equal(forwardedTail(b('abc\n'), b('\n')).toString(), 'abc\n\n');
  assert.equal(forwardedTail(null, b('x'.repeat(1000))).length, 256);
  assert.equal(forwardedTail(b('y'.repeat(1000)), b('x')).length, 256);
});

test('the next check is the interval counted from the last activity', () => {
  assert.equal(nextCheckMs(10_000, 3_000), 7_000);
  assert.equal(nextCheckMs(10_000, 10_000), 10_000);
  assert.equal(nextCheckMs(10_000, 25_000), 10_000);
});
