// The web UI's build directory at `/`: files with their content type, immutable caching for hashed
// assets, index.html for every other path (the SPA routes in the browser), and a short page saying
// how to build the UI when the directory is missing.
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zai-proxy dashboard</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The dashboard UI is not built</h1>
<p>The API is running (try <a href="/api/status">/api/status</a>). To build the web UI, run</p>
<pre>npm run build -w @zai-proxy/web</pre>
<p>or set <code>WEB_DIST</code> to a directory holding a build, then reload this page.</p>
</body></html>
`;

/** Serves `pathname` from `root`; returns false when the request is not for the UI (never for /api/). */
export function serveStatic(root: string, pathname: string, res: ServerResponse, head: boolean): void {
  const index = join(root, 'index.html');
  if (!existsSync(index)) {
    res.writeHead(pathname === '/' || pathname === '/index.html' ? 200 : 404, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
    });
    res.end(head ? undefined : NOT_BUILT_PAGE);
    return;
  }
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    rel = '/';
  }
  const file = normalize(join(root, rel));
  const inside = file === root || file.startsWith(root.endsWith(sep) ? root : root + sep);
  let target = index;
  if (inside && rel !== '/' && existsSync(file) && statSync(file).isFile()) target = file;
  else if (rel.startsWith('/assets/')) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(head ? undefined : 'not found\n');
    return;
  }
  const immutable = target !== index && rel.startsWith('/assets/');
  res.writeHead(200, {
    'content-type': TYPES[extname(target).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    'x-content-type-options': 'nosniff',
  });
  if (head) {
    res.end();
    return;
  }
  createReadStream(target).pipe(res);
}
