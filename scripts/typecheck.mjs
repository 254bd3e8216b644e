// Type-checks every package with its own tsconfig (the web package needs DOM and JSX, the node
// packages must not see them), then bench/ and scripts/ with the root one. Two at a time.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const projects = readdirSync('packages')
  .map((p) => join('packages', p, 'tsconfig.json'))
  .filter((p) => existsSync(p))
  .concat('tsconfig.json');
const tsc = join('node_modules', 'typescript', 'bin', 'tsc');

function check(project) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsc, '-p', project, '--noEmit'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('close', (code) => resolve({ project, code, out }));
  });
}

const queue = [...projects];
let failed = 0;
async function worker() {
  for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
    const r = await check(p);
    if (r.code !== 0) {
      failed++;
      process.stdout.write(`tsc -p ${r.project}: failed\n${r.out}`);
    } else process.stdout.write(`tsc -p ${r.project}: ok\n`);
  }
}
await Promise.all([worker(), worker()]);
process.exit(failed === 0 ? 0 : 1);
