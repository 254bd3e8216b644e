// Preloaded into a proxy by stream-cpu.bench.ts (NODE_OPTIONS=--import): on the first SIGUSR2 it
// starts measuring the event loop's delay and, with PROFILE_DIR set, a CPU profile; on the second it
// prints the delay to stderr and writes PROFILE_DIR/<pid>.cpuprofile. Not used in production.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const dir = process.env.PROFILE_DIR;
const delay = monitorEventLoopDelay({ resolution: 1 });
let session = null;
let signals = 0;
process.on('SIGUSR2', () => {
  signals++;
  if (signals === 1) {
    delay.enable();
    if (dir === undefined || dir === '') return;
    session = new Session();
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 500 });
    session.post('Profiler.start');
  } else if (signals === 2) {
    delay.disable();
    const ms = (ns) => (ns / 1e6).toFixed(1);
    process.stderr.write(
      `event-loop delay p50 ${ms(delay.percentile(50))} p99 ${ms(delay.percentile(99))} max ${ms(delay.max)} ms\n`,
    );
    session?.post('Profiler.stop', (err, r) => {
      if (err === null) writeFileSync(`${dir}/${process.pid}.cpuprofile`, JSON.stringify(r.profile));
    });
  }
});
