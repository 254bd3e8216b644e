// Start-up cost of `zai-proxy statusline`, which Claude Code runs after every message: wall time of
// the whole process (spawn to exit) with a fresh cache (no request), with a cache miss (two requests
// to a proxy-like server on 127.0.0.1), and with the proxy down, against a bare `node -e ''` in the
// same run, so the figures read as "node start + this much".
// Run: node --import tsx bench/statusline.bench.ts   (add --json for machine-readable output)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const json = process.argv.includes('--json');
const RUNS = Number(process.env.RUNS ?? 15);
const BIN = fileURLToPath(new URL('../bin/zai-proxy.mjs', import.meta.url));
const HEALTH = JSON.stringify({
  quota: {
    enabled: true,
    fresh: true,
    windows: [
      {
        window: 'five_hour',
        limit_type: 'TOKENS_LIMIT',
        used_fraction: 0.37,
        reset_at: new Date(Date.now() + 3e6).toISOString(),
      },
      {
        window: 'weekly',
        limit_type: 'TOKENS_LIMIT',
        used_fraction: 0.52,
        reset_at: new Date(Date.now() + 3e8).toISOString(),
      },
    ],
    gate: { enabled: true, open: true, closed: [] },
  },
});
const METRICS = `${'zai_proxy_request_duration_seconds_bucket{le="1"} 1\n'.repeat(400)}zai_proxy_tokens_total{direction="input"} 1000\n`;

function median(xs: number[]): number {
  const a = [...xs].sort((p, q) => p - q);
  return a[Math.floor(a.length / 2)]!;
}

/** Median wall ms of each `node args` target over RUNS rounds, after one warm-up each. Targets run
 *  interleaved, one after another in every round, so a load change on the machine hits them alike. */
function timeAll(targets: Record<string, string[]>): Record<string, number> {
  const ms: Record<string, number[]> = {};
  for (const [k, args] of Object.entries(targets)) {
    spawnSync(process.execPath, args);
    ms[k] = [];
  }
  for (let i = 0; i < RUNS; i++) {
    for (const [k, args] of Object.entries(targets)) {
      const t = performance.now();
      const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
      ms[k]!.push(performance.now() - t);
      if (r.status !== 0) throw new Error(`exit ${r.status}: ${r.stderr}`);
    }
  }
  return Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, median(v)]));
}

// The server runs in a child process: spawnSync blocks this one's event loop.
const serverScript = `
  const http = require('node:http');
  const s = new http.Server((q, r) => q.url === '/health' ? r.end(${JSON.stringify(HEALTH)}) : r.end(${JSON.stringify(METRICS)}));
  s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;
const child = spawn(process.execPath, ['-e', serverScript], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve) =>
  child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString()))),
);

const dir = mkdtempSync(join(tmpdir(), 'statusline-bench-'));
const url = `--url=http://127.0.0.1:${port}`;
const warmCache = join(dir, 'warm.json');
spawnSync(process.execPath, [BIN, 'statusline', url, `--cache-file=${warmCache}`]);
const results = timeAll({
  node_baseline_ms: ['-e', ''],
  cached_ms: [BIN, 'statusline', url, `--cache-file=${warmCache}`, '--cache-ms=3600000'],
  fetch_ms: [BIN, 'statusline', url, `--cache-file=${join(dir, 'cold.json')}`, '--cache-ms=0'],
  down_ms: [BIN, 'statusline', '--url=http://127.0.0.1:1', `--cache-file=${join(dir, 'down.json')}`],
});
child.kill();

if (json) console.log(JSON.stringify({ runs: RUNS, ...results }));
else {
  const b = results.node_baseline_ms!;
  console.log(`statusline start-up, median of ${RUNS} runs (wall time, spawn to exit)`);
  console.log(`  node -e ''            ${b.toFixed(1)} ms`);
  for (const [k, v] of Object.entries(results).slice(1)) {
    console.log(
      `  ${k.padEnd(20)}  ${v.toFixed(1)} ms  (${(v / b).toFixed(2)}× bare node, +${(v - b).toFixed(1)} ms)`,
    );
  }
}
