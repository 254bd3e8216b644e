import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventNames, lineHas, needle } from './byte-match.ts';
import {
  createSseState,
  DATA_ASK,
  DATA_KEEP,
  DATA_SKIP,
  type DataWant,
  endSse,
  feedSse,
  MAX_LINE_BYTES,
  type SseHooks,
} from './sse-parser.ts';

interface Seen {
  events: { event: string; data: string; start: number; end: number }[];
  /** Every wantData question: the event name and the line's value. */
  asked: { event: string; line: string }[];
  answer: (event: string, line: string) => DataWant;
}

const NAMES = eventNames(['first', 'second', 'héllo']);
const NO_NAMES = eventNames([]);

const RECORD: SseHooks<Seen> = {
  wantData(seen, s, buf, from, to) {
    const line = buf.toString('utf8', from, to);
    seen.asked.push({ event: s.event, line });
    return seen.answer(s.event, line);
  },
  onEvent(seen, s, end) {
    seen.events.push({ event: s.event, data: s.data!, start: s.fieldStart, end });
  },
};

function feedAll(chunks: Buffer[], answer: Seen['answer'], maxLine?: number, names = NAMES): Seen {
  const s = createSseState(names, maxLine);
  const seen: Seen = { events: [], asked: [], answer };
  for (const c of chunks) feedSse(s, c, RECORD, seen);
  endSse(s, RECORD, seen);
  return seen;
}

function parse(chunks: Buffer[], maxLine?: number, names = NAMES): Seen['events'] {
  return feedAll(chunks, () => DATA_KEEP, maxLine, names).events;
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
      // names outside the table are decoded instead
      assert.deepEqual(parse([input], undefined, NO_NAMES), whole);
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
      const s = createSseState(NAMES, max);
      const seen: Seen = { events: [], asked: [], answer: () => DATA_KEEP };
      let maxTail = 0;
      for (const c of split(huge, size)) {
        feedSse(s, c, RECORD, seen);
        maxTail = Math.max(maxTail, s.tail.buf.length);
      }
      endSse(s, RECORD, seen);
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

  it('matches known event names on bytes and decodes only the others', () => {
    const names = ['first', 'firs', 'firsts', 'fIrst', 'second', 'héllo', 'hello', ''];
    const text = names.map((n) => `event:${n === '' ? '' : ` ${n}`}\ndata: x\n\n`).join('');
    for (const size of [1, 4, 1000]) {
      assert.deepEqual(
        parse(split(Buffer.from(text), size)).map((e) => e.event),
        names,
      );
    }
    // the last event: line before the blank line counts; a data line before it was asked without it
    const seen = feedAll([Buffer.from('data: a\nevent: second\ndata: b\n\n')], () => DATA_ASK);
    assert.deepEqual(seen.asked, [
      { event: '', line: 'a' },
      { event: 'second', line: 'b' },
    ]);
  });

  it('asks wantData once per event when it decides, and dispatches only kept events', () => {
    const text = Buffer.from(
      'event: first\ndata: 1\ndata: 2\n\nevent: second\ndata: 3\ndata: 4\n\ndata: 5\n\n: c\n\n',
    );
    for (const size of [1, 5, text.length]) {
      const seen = feedAll(split(text, size), (event) => (event === 'second' ? DATA_SKIP : DATA_KEEP));
      assert.deepEqual(
        seen.asked.map((a) => a.line),
        ['1', '3', '5'],
      );
      assert.deepEqual(
        seen.events.map((e) => e.data),
        ['1\n2', '5'],
      );
    }
  });

  it('holds undecided data lines and joins them when a later line decides to keep', () => {
    // the decision comes at the third line; the first is held by reference or copied (from the tail)
    const text = Buffer.from('data: a\ndata:\ndata: keep ✓\ndata: d\n\ndata: x\ndata: y\n\ndata: ü\n\n');
    for (const chunks of [[text], split(text, 1), split(text, 3), split(text, 9)]) {
      const seen = feedAll(chunks, (_e, line) =>
        line.startsWith('keep') ? DATA_KEEP : line === 'y' ? DATA_SKIP : DATA_ASK,
      );
      assert.deepEqual(
        seen.events.map((e) => e.data),
        ['a\n\nkeep ✓\nd'],
        'undecided to the end and skipped events are not dispatched',
      );
      assert.deepEqual(
        seen.asked.map((a) => a.line),
        ['a', '', 'keep ✓', 'x', 'y', 'ü'],
      );
    }
  });

  it('records where the last complete event ends', () => {
    const s = createSseState(NAMES);
    const hooks: SseHooks<null> = { wantData: () => DATA_SKIP, onEvent: () => {} };
    feedSse(s, Buffer.from('data: a\n\nda'), hooks, null);
    assert.equal(s.eventEnd, 'data: a\n\n'.length);
    feedSse(s, Buffer.from('ta: b\r\n\r\ndata: c'), hooks, null);
    assert.equal(s.eventEnd, 'data: a\n\ndata: b\r\n\r\n'.length);
  });

  it('lineHas in a hook agrees with a plain search for every chunking (tail lines included)', () => {
    const usage = needle('"usage"');
    const text = Buffer.from(
      [
        'data: {"usage":null}',
        '',
        'data: {"a":1}',
        '',
        'data: {"usage":{"n":1}}',
        '',
        'data: [DONE]',
        '',
      ].join('\r\n'),
    );
    const hooks: SseHooks<string[]> = {
      wantData(found, _s, buf, from, to) {
        if (lineHas(usage, buf, from, to)) found.push(buf.toString('utf8', from, to));
        return DATA_SKIP;
      },
      onEvent: () => {},
    };
    for (const size of [1, 2, 5, 11, text.length]) {
      const found: string[] = [];
      const s = createSseState(NO_NAMES);
      for (const c of split(text, size)) feedSse(s, c, hooks, found);
      endSse(s, hooks, found);
      assert.deepEqual(found, ['{"usage":null}', '{"usage":{"n":1}}'], `chunks of ${size}`);
    }
  });

  it('uses a 1 MiB line cap by default', () => {
    assert.equal(createSseState(NAMES).maxLine, MAX_LINE_BYTES);
    assert.equal(MAX_LINE_BYTES, 1024 * 1024);
  });
});
