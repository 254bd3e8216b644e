import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError } from '../config.ts';
import { createLogger } from '../log.ts';
import { createZaiKey, KEY_FILE_POLL_MS, type Schedule } from './zai-key.ts';

const dir = mkdtempSync(join(tmpdir(), 'zai-key-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  const lines: string[] = [];
  return { lines, log: createLogger('info', { write: (s: string) => void lines.push(s) }) };
}
/** A schedule that never fires by itself: the test runs `tick` when it wants a re-read. */
function manual(): Schedule & { tick(): void; ms: number; stopped: boolean } {
  let fn = () => {};
  const s = Object.assign(
    (f: () => void, ms: number) => {
      fn = f;
      s.ms = ms;
      return () => {
        s.stopped = true;
      };
    },
    { tick: () => fn(), ms: 0, stopped: false },
  );
  return s;
}

test('without a file: ZAI_API_KEY, or null in pass-through mode', () => {
  const { log } = capture();
  assert.equal(createZaiKey({ ZAI_API_KEY: 'k1', ZAI_API_KEY_FILE: undefined }, log).current(), 'k1');
  assert.equal(createZaiKey({ ZAI_API_KEY: undefined, ZAI_API_KEY_FILE: undefined }, log).current(), null);
});

test('a rotated file is picked up at the next re-read, logged without the key', () => {
  const file = join(dir, 'rotate');
  writeFileSync(file, 'zai-OLD-secret\n');
  const { lines, log } = capture();
  const s = manual();
  const key = createZaiKey({ ZAI_API_KEY: undefined, ZAI_API_KEY_FILE: file }, log, s);
  assert.equal(s.ms, KEY_FILE_POLL_MS);
  assert.equal(
    key.current(),
    'zai-OLD-secret',
    'the trailing newline of a Secret file is not part of the key',
  );
  writeFileSync(file, 'zai-NEW-secret');
  assert.equal(key.current(), 'zai-OLD-secret', 'nothing changes before the re-read');
  s.tick();
  assert.equal(key.current(), 'zai-NEW-secret');
  s.tick(); // unchanged: no second log line
  const logged = lines.join('');
  assert.equal(logged.match(/Z\.AI key reloaded from ZAI_API_KEY_FILE/g)?.length, 1);
  assert.ok(!logged.includes('secret'), 'no key in any log line');
  key.close();
  assert.ok(s.stopped);
});

test('a missing or empty file later keeps the current key and warns once', () => {
  const file = join(dir, 'vanish');
  writeFileSync(file, 'zai-KEEP-secret');
  const { lines, log } = capture();
  const s = manual();
  const key = createZaiKey({ ZAI_API_KEY: undefined, ZAI_API_KEY_FILE: file }, log, s);
  writeFileSync(file, '  \n');
  s.tick();
  rmSync(file);
  s.tick();
  assert.equal(key.current(), 'zai-KEEP-secret');
  assert.equal(lines.join('').match(/Cannot read ZAI_API_KEY_FILE; keeping the current key/g)?.length, 1);
  writeFileSync(file, 'zai-BACK-secret');
  s.tick();
  assert.equal(key.current(), 'zai-BACK-secret');
  assert.ok(!lines.join('').includes('secret'));
});

test('an unreadable or empty file at startup is a ConfigError naming ZAI_API_KEY_FILE', () => {
  const { log } = capture();
  const empty = join(dir, 'empty');
  writeFileSync(empty, '\n');
  for (const file of [join(dir, 'absent'), empty]) {
    assert.throws(
      () => createZaiKey({ ZAI_API_KEY: undefined, ZAI_API_KEY_FILE: file }, log, manual()),
      (e: unknown) => e instanceof ConfigError && e.variables.includes('ZAI_API_KEY_FILE'),
    );
  }
});
