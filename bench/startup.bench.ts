// What does the production build save at start? The proxy's entry point started through tsx
// (`node --import tsx packages/proxy/src/main.ts`, the dev way) and as the bundle
// (`node dist/proxy/main.js`, what `npm start`, `npx zai-proxy` and the images run), interleaved:
// wall time from spawn to the `listening` log line, and resident memory (VmRSS) once listening.
// Usage: npm run build && node --import tsx bench/startup.bench.ts [--runs N]
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median } from './sample-stats.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BUNDLE = `${ROOT}dist/proxy/main.js`;
const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag === -1 ? 7 : Number(process.argv[runsFlag + 1]);

if (!existsSync(BUNDLE)) {
  console.error('startup.bench: dist/proxy/main.js is missing; run `npm run build` first');
  process.exit(1);
}

const variants = {
  tsx: ['--import', 'tsx', `${ROOT}packages/proxy/src/main.ts`],
  bundle: [BUNDLE],
} as const;
type Variant = keyof typeof variants;

/** One start: ms from spawn to the listening line, and kB resident then. */
function startOnce(args: readonly string[]): Promise<{ ms: number; rssKb: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', ZAI_API_KEY: 'bench' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      if (!out.includes('Z.AI proxy listening')) return;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
      child.stdout.removeAllListeners('data');
      child.kill('SIGKILL');
      child.once('exit', () => resolve({ ms, rssKb }));
    });
    child.once('error', reject);
  });
}

const samples: Record<Variant, { ms: number[]; rssKb: number[] }> = {
  tsx: { ms: [], rssKb: [] },
  bundle: { ms: [], rssKb: [] },
};
await startOnce(variants.tsx); // warm tsx's compile cache and the page cache for both
await startOnce(variants.bundle);
for (let i = 0; i < RUNS; i++) {
  for (const v of Object.keys(variants) as Variant[]) {
    const r = await startOnce(variants[v]);
    samples[v].ms.push(r.ms);
    samples[v].rssKb.push(r.rssKb);
  }
}

console.log(`startup, ${RUNS} interleaved starts each (node ${process.version})`);
for (const v of Object.keys(variants) as Variant[]) {
  console.log(
    `  ${v.padEnd(7)} start ${median(samples[v].ms).toFixed(0).padStart(5)} ms   RSS ${(median(samples[v].rssKb) / 1024).toFixed(1).padStart(6)} MiB`,
  );
}
console.log(
  `  bundle ÷ tsx: start ${(median(samples.bundle.ms) / median(samples.tsx.ms)).toFixed(2)}, RSS ${(median(samples.bundle.rssKb) / median(samples.tsx.rssKb)).toFixed(2)}`,
);
