/** CLI: runs the simulated upstream on SIM_PORT (default 9090, 0 = random) until SIGINT/SIGTERM. */
import { type SimUpstream, startSimUpstream } from './sim-upstream.ts';

const DEFAULT_PORT = 9090;

// The one place in testkit that reads process.env: the CLI is configuration's edge.
function readPort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    console.error(`SIM_PORT must be an integer in 0..65535, got '${raw}'`);
    process.exit(2);
  }
  return port;
}

let sim: SimUpstream | null = null;
let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  if (sim === null) process.exit(0);
  sim.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
// Registered before listening, so a signal during startup still stops cleanly.
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

const port = readPort(process.env.SIM_PORT);
const apiKey = process.env.SIM_API_KEY;
sim = await startSimUpstream({ port, ...(apiKey !== undefined && apiKey !== '' ? { apiKey } : {}) });
console.log(`zai sim upstream listening on ${sim.url}`);
