import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, type LineLevel, lineWriter } from './log.ts';

function capture(level = 'info') {
  const lines: string[] = [];
  return { lines, log: createLogger(level, { write: (s: string) => void lines.push(s) }) };
}

const hostile = 'glm-4.6"},"level":60,"x":"\n\u2028\u0000\ud800é';

test('lineWriter writes the line pino writes: same keys, order, values and level, one line', () => {
  for (const level of ['info', 'warn', 'error'] as LineLevel[]) {
    const viaPino = capture();
    const fast = capture();
    const fields = () => ({
      log: 'access',
      requestId: 'r-1',
      status: 200,
      durationMs: 12.34,
      ttfbMs: undefined,
      model: hostile,
      stream: true,
      costUsd: 0.00123,
      hint: undefined,
    });
    viaPino.log[level](fields(), `POST ${hostile} 200`);
    lineWriter(fast.log)(level, fields(), `POST ${hostile} 200`);
    assert.equal(fast.lines.length, 1);
    const a = viaPino.lines[0]!;
    const b = fast.lines[0]!;
    assert.ok(b.endsWith('\n') && !b.slice(0, -1).includes('\n'), 'one line');
    const pa = JSON.parse(a) as Record<string, unknown>;
    const pb = JSON.parse(b) as Record<string, unknown>;
    assert.ok(typeof pb.time === 'number' && Math.abs((pb.time as number) - (pa.time as number)) < 1000);
    delete pa.time;
    delete pb.time;
    assert.deepEqual(Object.keys(pb), Object.keys(pa));
    assert.deepEqual(pb, pa);
    assert.equal(pb.model, hostile);
  }
});

test("lineWriter keeps a child logger's bindings", () => {
  const c = capture();
  lineWriter(c.log.child({ component: 'edge' }))('warn', { status: 503 }, 'busy');
  const line = JSON.parse(c.lines[0]!) as Record<string, unknown>;
  assert.equal(line.service, 'zai-proxy');
  assert.equal(line.component, 'edge');
  assert.equal(line.level, 40);
  assert.equal(line.msg, 'busy');
});
