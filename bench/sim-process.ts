// Child process for the benches: the simulated Z.AI upstream on 127.0.0.1, alone on its event loop.
// Prints `listening <url>` on stdout; answers `reset` and `stats` over IPC (see child-control.ts).
import { startSimUpstream } from '@zai-proxy/testkit';
import { serveControl } from './child-control.ts';

const JOURNAL_BOUND = 1000; // entries: the sim journals every body, so a load test would grow it without end
const JOURNAL_CHECK_MS = 100;

// The one place this process reads its environment: the key the sim demands.
const apiKey = process.env.SIM_API_KEY;
const sim = await startSimUpstream(apiKey === undefined || apiKey === '' ? {} : { apiKey });

// Bounds memory within a phase; the parent also resets between phases so each starts alike.
setInterval(() => {
  if (sim.journal.length > JOURNAL_BOUND) sim.reset();
}, JOURNAL_CHECK_MS).unref();

let stopping = false;
serveControl({ reset: () => sim.reset() }, () => {
  if (stopping) return;
  stopping = true;
  sim.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});

process.stdout.write(`listening ${sim.url}\n`);
