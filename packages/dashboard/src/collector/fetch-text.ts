// GET one exposition: a timeout, a body cap, and a short error text for /api/status.
import { request } from 'node:http';
import { request as requestTls } from 'node:https';

/** A scrape that failed; `message` is what /api/status shows as last_error. */
export class ScrapeError extends Error {
  override readonly name = 'ScrapeError';
}

/** Fetches `url` as text; rejects with ScrapeError on a non-200, a timeout, a body over `maxBytes`, or a socket error. */
export function fetchText(
  url: string,
  timeoutMs: number,
  maxBytes: number,
  headers: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? requestTls : request)(
      u,
      { method: 'GET', headers: { accept: 'text/plain;version=0.0.4', ...headers }, agent: false },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          fail(new ScrapeError(`HTTP ${res.statusCode}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            fail(new ScrapeError(`body over ${maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString('utf8'));
        });
        res.on('error', (err) => fail(new ScrapeError(err.message)));
      },
    );
    const timer = setTimeout(() => fail(new ScrapeError(`timeout after ${timeoutMs} ms`)), timeoutMs);
    let done = false;
    function fail(err: ScrapeError) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    }
    req.on('error', (err: NodeJS.ErrnoException) => fail(new ScrapeError(err.code ?? err.message)));
    req.end();
  });
}
