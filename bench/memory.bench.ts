// How much memory does the bundled proxy need? Resident memory idle, and its peak (VmHWM) while
// N streams with large prompts are in flight, against the simulated Z.AI. The Kubernetes requests
// and limits in deploy/k8s/proxy/deployment.yaml come from these figures.
// Usage: npm run build && node --import tsx bench/memory.bench.ts
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startSimUpstream } from '@zai-proxy/testkit';

const BUNDLE = fileURLToPath(new URL('../dist/proxy/main.js', import.meta.url));
const sim = await startSimUpstream({ apiKey: 'bench' });
const child = spawn(process.execPath, [BUNDLE], {
  env: {
    PATH: process.env.PATH,
    HOST: '127.0.0.1',
    PORT: '0',
    ZAI_API_KEY: 'bench',
    ZAI_TARGET_URL: `${sim.url}/api/anthropic`,
    ZAI_OPENAI_TARGET_URL: `${sim.url}/api/paas/v4`,
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const port = await new Promise<number>((resolve) => {
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
    const m = /Z\.AI proxy listening on :(\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
});
const mib = (field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) /
  1024;

console.log(`idle: RSS ${mib('VmRSS').toFixed(0)} MiB`);
const word = 'x '.repeat(512 * 1024); // 1 MiB of prompt
for (const [n, mibEach] of [
  [16, 1],
  [8, 8],
] as const) {
  const content = word.repeat(mibEach);
  await Promise.all(
    Array.from({ length: n }, () =>
      fetch(`http://127.0.0.1:${port}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-sim-scenario': 'ok;events=50;words=2000' },
        body: JSON.stringify({
          model: 'glm-4.6',
          max_tokens: 10,
          stream: true,
          messages: [{ role: 'user', content }],
        }),
      }).then((r) => r.arrayBuffer()),
    ),
  );
  console.log(`${n} streams with ${mibEach} MiB prompts in flight: peak RSS ${mib('VmHWM').toFixed(0)} MiB`);
}
child.kill();
await sim.close();
