import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type SimUpstream, startSimUpstream } from '@zai-proxy/testkit';
import { DIRECT_PATHS, pacedStream } from './request-fixtures.ts';
import { runStreams, type StreamRun } from './stream-load.ts';

let sim: SimUpstream;
before(async () => {
  sim = await startSimUpstream({});
});
after(() => sim.close());

const run = (scenario: string, streams: number): StreamRun => {
  const s = pacedStream(5, 1);
  return {
    origin: sim.url,
    path: DIRECT_PATHS.anthropic,
    headers: { ...s.headers, 'x-sim-scenario': scenario },
    body: s.body.toString(),
    streams,
    rampMs: 0,
    intervalMs: 1,
    timeoutMs: 10_000,
  };
};

test('every event of every stream is timed: one first byte and one gap per later event', async () => {
  const r = await runStreams(run('ok;events=5;delay=1;words=15', 3));
  assert.equal(r.errors, 0);
  assert.equal(r.ttfbMs.length, 3);
  assert.equal(r.totalMs.length, 3);
  const perStream = r.events / 3;
  assert.ok(Number.isInteger(perStream) && perStream >= 5, `events per stream: ${perStream}`);
  assert.equal(r.lateMs.length, r.events - 3);
});

test('a stream cut short, or answered with an error, is a failure, not a sample', async () => {
  const cut = await runStreams(run('reset_mid_stream', 2));
  assert.equal(cut.errors, 2);
  assert.equal(cut.totalMs.length, 0);
  const ended = await runStreams(run('empty_stream', 2)); // a clean end with no message_stop
  assert.equal(ended.errors, 2);
  const refused = await runStreams(run('status;status=503', 2));
  assert.equal(refused.errors, 2);
  assert.equal(refused.ttfbMs.length, 0);
});
