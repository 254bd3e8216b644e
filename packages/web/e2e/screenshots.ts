// Regenerates docs/screenshots/*.png: a real stack with a couple of minutes of mixed traffic, then the
// dashboard in dark and light at desktop and phone widths. Run: node --import tsx packages/web/e2e/screenshots.ts
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './browser.ts';
import { startStack } from './stack.ts';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'screenshots');
const TRAFFIC_MS = Number(process.argv[2] ?? 90_000);

const stack = await startStack({ scrapeInterval: '2s' });
try {
  // traffic keeps flowing while the pictures are taken, so the headlines show live rates
  let running = true;
  const loop = async (variant: 'production' | 'canary', mix: (string | undefined)[], pauseMs: number) => {
    for (let i = 0; running; i++) {
      await stack.traffic(variant, 1, mix[i % mix.length]);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const cached = 'ok;input=900;cache_read=600;output=120';
  const traffic = Promise.all([
    loop('production', [undefined, cached, undefined, cached, 'zai_error;code=1302', undefined, cached], 150),
    loop('production', [cached, undefined, 'ok;output=400;words=60'], 400),
    loop('canary', [undefined, cached, 'status;code=500', undefined, 'zai_error;code=1305'], 500),
  ]);
  await new Promise((r) => setTimeout(r, TRAFFIC_MS));
  mkdirSync(OUT, { recursive: true });
  for (const scheme of ['dark', 'light'] as const) {
    const b = await launch({ colorScheme: scheme });
    for (const [name, viewport] of [
      ['desktop', { width: 1440, height: 900 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      const page = await b.newPage(viewport);
      await page.goto(`${stack.dashboard.url}/?range=5m`);
      await page.locator('section[data-panel="requests"] .numbers').waitFor();
      await page.getByTestId('verdict-canary').waitFor();
      await page.waitForTimeout(1500);
      const file = join(OUT, `dashboard-${scheme}-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      process.stdout.write(`${file}\n`);
      await page.close();
    }
    await b.close();
  }
  running = false;
  await traffic;
} finally {
  await stack.close();
}
