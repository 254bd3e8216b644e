import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createSseState, endSse, feedSse, MAX_LINE_BYTES, type SseState } from './sse-parser.ts';

interface Seen {
  events: { event: string; data: string; start: number; end: number }[];
}

function record(seen: Seen, s: SseState, end: number): void {
  seen.events.push({ event: s.event, data: s.data!, start: s.fieldStart, end });
}

function parse(chunks: Buffer[], maxLine?: number): Seen['events'] {
  const s = createSseState(maxLine);
  const seen: Seen = { events: [] };
  for (const c of chunks) feedSse(s, c, record, seen);
  endSse(s, record, seen);
  return seen.events;
}

function split(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

const TEXT = [
  ': keep-alive',
  '',
  'event: first',
  'data: {"a":1}',
  '',
  'data:no-space',
  '',
  'id: 7',
  'retry: 100',
  'data: line one',
  'data: line two',
  ': a comment inside',
  'data',
  '',
  '',
  'event: héllo',
  'data: ünïcödé ✓ 東京',
  '',
].join('\n');

const EXPECTED = [
  { event: 'first', data: '{"a":1}' },
  { event: '', data: 'no-space' },
  { event: '', data: 'line one\nline two\n' },
  { event: 'héllo', data: 'ünïcödé ✓ 東京' },
];

describe('sse-parser', () => {
  it('frames events: event lines, comments, multi-line data, data with and without space', () => {
    const events = parse([Buffer.from(TEXT)]);
    assert.deepEqual(
      events.map(({ event, data }) => ({ event, data })),
      EXPECTED,
    );
  });

  it('gives the same events for every chunking, 1 byte at a time included, and for CRLF', () => {
    const lf = Buffer.from(TEXT);
    const crlf = Buffer.from(TEXT.replaceAll('\n', '\r\n'));
    for (const input of [lf, crlf]) {
      const whole = parse([input]);
      for (const size of [1, 2, 3, 7, 64]) assert.deepEqual(parse(split(input, size)), whole);
    }
    assert.deepEqual(
      parse([crlf]).map(({ event, data }) => ({ event, data })),
      EXPECTED,
    );
  });

  it('reports byte offsets: first field line to just past the blank line', () => {
    const input = Buffer.from(': c\n\nevent: x\ndata: 1\n\n');
    const [ev] = parse(split(input, 1));
    assert.equal(ev!.start, input.indexOf('event'));
    assert.equal(ev!.end, input.length);
  });

  it('delivers a last event that lacks its blank line at end of stream', () => {
    assert.deepEqual(
      parse([Buffer.from('data: a\n\ndata: b')]).map((e) => e.data),
      ['a', 'b'],
    );
  });

  it('drops an overlong line and its event, keeps memory bounded, and parses on afterwards', () => {
    const max = 1024;
    const huge = Buffer.concat([
      Buffer.from('data: ok1\n\nevent: big\ndata: '),
      Buffer.alloc(10 * max, 0x78),
      Buffer.from('\ndata: tail\n\ndata: ok2\n\n'),
    ]);
    for (const size of [1, 100, 5000, huge.length]) {
      const s = createSseState(max);
      const seen: Seen = { events: [] };
      let maxTail = 0;
      for (const c of split(huge, size)) {
        feedSse(s, c, record, seen);
        maxTail = Math.max(maxTail, s.tail.buf.length);
      }
      endSse(s, record, seen);
      assert.deepEqual(
        seen.events.map((e) => e.data),
        ['ok1', 'ok2'],
      );
      assert.ok(maxTail <= max, `tail capacity ${maxTail} > ${max}`);
    }
  });

  it('caps the joined data of one event too (many short data lines)', () => {
    const max = 1000;
    const lines = Array.from({ length: 200 }, () => 'data: 0123456789').join('\n');
    const events = parse([Buffer.from(`${lines}\n\ndata: after\n\n`)], max);
    assert.deepEqual(
      events.map((e) => e.data),
      ['after'],
    );
  });

  it('uses a 1 MiB line cap by default', () => {
    assert.equal(createSseState().maxLine, MAX_LINE_BYTES);
    assert.equal(MAX_LINE_BYTES, 1024 * 1024);
  });
});
