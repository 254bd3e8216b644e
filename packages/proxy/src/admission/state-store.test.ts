import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createLogger } from '../log.ts';
import { createLocalStore, LEGACY_RATE_KEY } from './state-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'zai-state-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const lines: string[] = [];
const log = createLogger('info', { write: (s: string) => lines.push(s) });
const HOUR = 3600_000;
let clock = Date.UTC(2026, 11, 1, 10, 0, 0);
const now = () => clock;
const store = (path: string | null, maxAgeMs = 6 * HOUR) => createLocalStore({ path, maxAgeMs, now, log });

test('documents round-trip through the state file; no temp files are left', async () => {
  const path = join(dir, 'a', 'state.json'); // the directory is created on first write
  const s = store(path);
  assert.equal(s.restored, false);
  await s.set('concurrency:default', { limit: 3, ceiling: 4 });
  await s.set('gate:default', { open: false }, HOUR);
  s.flush();
  const t = store(path);
  assert.equal(t.restored, true);
  assert.deepEqual(await t.get('concurrency:default'), { limit: 3, ceiling: 4 });
  assert.deepEqual(await t.get('gate:default'), { open: false });
  assert.deepEqual(readdirSync(join(dir, 'a')), ['state.json']);
  await t.delete('gate:default');
  assert.equal(await t.get('gate:default'), null);
});

test('a document expires after its ttl, in memory and on reload', async () => {
  const path = join(dir, 'ttl.json');
  const s = store(path);
  await s.set('k', 1, 1000);
  s.flush();
  clock += 1001;
  assert.equal(await s.get('k'), null);
  assert.equal(await store(path).get('k'), null);
});

test('documents older than the max age are ignored on load', async () => {
  const path = join(dir, 'stale.json');
  const s = store(path, HOUR);
  await s.set('old', 1);
  s.flush();
  clock += HOUR + 1;
  const t = store(path, HOUR);
  assert.equal(t.restored, false);
  assert.equal(await t.get('old'), null);
});

test('a corrupt or foreign file is ignored with a log line, never fatal', async () => {
  for (const [name, text] of [
    ['corrupt.json', '{"version":1,"docs":'],
    ['array.json', '[1,2]'],
    ['foreign.json', '{"version":7}'],
  ] as const) {
    const path = join(dir, name);
    writeFileSync(path, text);
    lines.length = 0;
    const s = store(path);
    assert.equal(s.restored, false, name);
    assert.ok(
      lines.some((l) => l.includes('ignoring it')),
      name,
    );
  }
});

test("the Go proxy's ceiling file is read as the rate document (ts, else mtime, judges its age)", async () => {
  const path = join(dir, 'ceiling.json');
  writeFileSync(
    path,
    JSON.stringify({ ceiling: 12.5, hold: 12.25, ts: new Date(clock - HOUR).toISOString() }),
  );
  assert.deepEqual(await store(path).get(LEGACY_RATE_KEY), { ceiling: 12.5, hold: 12.25 });
  writeFileSync(
    path,
    JSON.stringify({ ceiling: 12.5, hold: 12.25, ts: new Date(clock - 7 * HOUR).toISOString() }),
  );
  assert.equal(await store(path).get(LEGACY_RATE_KEY), null);
  writeFileSync(path, JSON.stringify({ ceiling: 9, hold: 8 })); // no ts: the file's mtime (just now)
  clock = Date.now();
  assert.deepEqual(await store(path).get(LEGACY_RATE_KEY), { ceiling: 9, hold: 8 });
});

test('an unwritable state directory keeps state in memory and warns once', async (t) => {
  if (process.getuid?.() === 0) {
    // root ignores permissions: make the path a file's child instead, which no user can create.
    writeFileSync(join(dir, 'plain'), '');
  }
  const ro = join(dir, 'ro');
  mkdirSync(ro);
  chmodSync(ro, 0o500);
  t.after(() => chmodSync(ro, 0o700));
  const path = process.getuid?.() === 0 ? join(dir, 'plain', 'state.json') : join(ro, 'state.json');
  const s = store(path);
  lines.length = 0;
  await s.set('k', 1);
  s.flush();
  await s.set('k', 2);
  s.flush();
  assert.equal(await s.get('k'), 2);
  assert.equal(lines.filter((l) => l.includes('failed to persist')).length, 1);
});

test('memory-only store (no path) never touches the disk', async () => {
  const before = readdirSync(dir).sort();
  const s = store(null);
  await s.set('k', { a: 1 });
  await s.close();
  assert.deepEqual(await s.get('k'), { a: 1 });
  assert.deepEqual(readdirSync(dir).sort(), before);
});
