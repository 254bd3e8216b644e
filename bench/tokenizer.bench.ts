// Token counting cost: cl100k throughput (MB/s) on realistic text, and how long the event loop stalls
// while a 1 MB prompt is counted inline vs on the worker thread (what the proxy does for large input).
// Run: node --import tsx bench/tokenizer.bench.ts   (add --json for machine-readable output)
import {
  createTokenCounter,
  estimateInputTokens,
  type TokenCounter,
} from '../packages/proxy/src/usage/index.ts';

const json = process.argv.includes('--json');
const MB = 1024 * 1024;

/** ~1 MB of mixed text: English prose, TypeScript, CJK and emoji, deterministic. */
function corpus(bytes: number): string {
  const parts = [
    'The proxy forwards Anthropic Messages and OpenAI Chat Completions to Z.AI, streaming byte for byte. ',
    'export function feed(s: LineState, chunk: Buffer): void { const nl = chunk.indexOf(0x0a); if (nl === -1) return; }\n',
    '智谱的模型在流式响应中报告用量，代理按方向统计令牌与成本。',
    'Cache reads are priced apart from input 🚀✅ — never summed, never double-counted. ',
    '{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"42 files changed"}]}\n',
  ];
  let s = '';
  for (let i = 0; Buffer.byteLength(s) < bytes; i++) s += `${parts[i % parts.length]!}${i % 997} `;
  return s;
}

function median(xs: number[]): number {
  const a = [...xs].sort((p, q) => p - q);
  return a[Math.floor(a.length / 2)]!;
}

function throughput(counter: TokenCounter, text: string, runs: number): { mbPerS: number; tokens: number } {
  const bytes = Buffer.byteLength(text);
  counter.count(text.slice(0, 10_000)); // warm-up
  const rates: number[] = [];
  let tokens = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    tokens = counter.count(text);
    rates.push(bytes / MB / ((performance.now() - t) / 1000));
  }
  return { mbPerS: median(rates), tokens };
}

/** Event-loop stalls while `work` runs: the largest and the p99 gap between 1 ms ticks, minus the 1 ms. */
async function loopDelay(
  work: () => Promise<unknown>,
): Promise<{ maxMs: number; p99Ms: number; wallMs: number }> {
  const gaps: number[] = [];
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last - 1);
    last = now;
  }, 1);
  await new Promise((r) => setTimeout(r, 20)); // the ticker is running before the work starts
  gaps.length = 0;
  const t = performance.now();
  await work();
  const wallMs = performance.now() - t;
  await new Promise((r) => setTimeout(r, 5)); // the tick that ends a stall lands after the work
  clearInterval(tick);
  return { maxMs: Math.max(0, ...gaps), p99Ms: Math.max(0, percentile(gaps, 0.99)), wallMs };
}

function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const a = [...xs].sort((p, r) => p - r);
  return a[Math.min(a.length - 1, Math.floor(q * a.length))]!;
}

const text = corpus(MB);
const counter = await createTokenCounter();
const fallback = await createTokenCounter({ forceFallback: true });
const cl = throughput(counter, text, 7);
const fb = throughput(fallback, text, 7);
const request = { model: 'glm-4.6', system: 'Be brief.', messages: [{ role: 'user', content: text }] };

const inline: Awaited<ReturnType<typeof loopDelay>>[] = [];
const worker: Awaited<ReturnType<typeof loopDelay>>[] = [];
for (let i = 0; i < 5; i++) {
  inline.push(await loopDelay(async () => counter.count(text)));
  worker.push(await loopDelay(() => estimateInputTokens(counter, 'anthropic', request)));
}
await counter.close();
const med = (xs: { maxMs: number }[], k: 'maxMs' | 'p99Ms' | 'wallMs') =>
  median(xs.map((x) => (x as never)[k]));
const result = {
  corpusBytes: Buffer.byteLength(text),
  cl100k: { mbPerS: cl.mbPerS, tokens: cl.tokens },
  fallback: { mbPerS: fb.mbPerS, tokens: fb.tokens },
  loopDelay1MB: {
    inline: { maxMs: med(inline, 'maxMs'), wallMs: med(inline, 'wallMs') },
    worker: { maxMs: med(worker, 'maxMs'), p99Ms: med(worker, 'p99Ms'), wallMs: med(worker, 'wallMs') },
  },
  workerJobs: counter.workerJobs,
};
if (json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const f = (n: number) => n.toFixed(1);
  console.log(
    `tokenizer bench, node ${process.version}, corpus ${(result.corpusBytes / MB).toFixed(2)} MB mixed (prose, code, CJK, emoji, JSON); medians`,
  );
  console.log(
    `cl100k (gpt-tokenizer)  ${f(cl.mbPerS)} MB/s  (${cl.tokens} tokens, ${(cl.tokens / (result.corpusBytes / MB) / 1000).toFixed(0)}k tokens/MB)`,
  );
  console.log(`fallback (bytes/4)      ${f(fb.mbPerS)} MB/s`);
  console.log(`event-loop delay while a 1 MB prompt is counted:`);
  console.log(
    `  inline on the main thread   max ${f(result.loopDelay1MB.inline.maxMs)} ms (count took ${f(result.loopDelay1MB.inline.wallMs)} ms)`,
  );
  console.log(
    `  proxy path (worker thread)  max ${f(result.loopDelay1MB.worker.maxMs)} ms, p99 ${f(result.loopDelay1MB.worker.p99Ms)} ms (count took ${f(result.loopDelay1MB.worker.wallMs)} ms; ${counter.workerJobs} worker jobs)`,
  );
}
