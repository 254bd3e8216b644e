// Child processes for the deploy tests: started in their own process group (npx and sh start
// grandchildren), output collected, stopped as a group in after().
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface Proc {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first match of re in the output; rejects if the process exits first. */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code when the process exits by itself. */
  exited(): Promise<number | null>;
  /** Sends sig to the whole group. */
  signal(sig: NodeJS.Signals): void;
  /** Resolves once every process holding its output pipes has exited (grandchildren too). */
  closed(): Promise<void>;
  /** SIGTERM to the group, SIGKILL after 5 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function start(cmd: string, args: readonly string[], opts: SpawnOptions = {}): Proc {
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (c: Buffer) => {
    out += c;
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const closed = Promise.all([once(child.stdout!, 'close'), once(child.stderr!, 'close')]).then(() => {});
  child.on('exit', () => {
    for (const w of waiters) w();
  });
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {}
  };
  return {
    child,
    output: () => out,
    exited: () => exited,
    signal: signalGroup,
    closed: () => closed,
    waitFor(re, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`timed out waiting for ${re}; output:\n${out}`)), ms);
        const check = () => {
          const m = out.match(re);
          if (m) finish(null, m);
          else if (child.exitCode !== null || child.signalCode !== null)
            finish(new Error(`exited (${child.exitCode ?? child.signalCode}) before ${re}; output:\n${out}`));
        };
        const finish = (err: Error | null, m?: RegExpMatchArray) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve(m!);
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      signalGroup('SIGTERM');
      const kill = setTimeout(() => signalGroup('SIGKILL'), 5_000);
      const code = await exited;
      clearTimeout(kill);
      signalGroup('SIGKILL'); // anything the group left behind
      return code;
    },
  };
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(cmd: string, args: readonly string[], opts: SpawnOptions = {}): string {
  const r = spawnSync(cmd, args, { ...opts, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
  }
  return r.stdout;
}

/** GET a URL on 127.0.0.1; status and body text. */
export async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
}

/**
 * better-sqlite3's install script (prebuild-install) downloads a prebuilt addon from GitHub, else
 * compiles SQLite for minutes. Offline, it is handed the checkout's own addon (built for this Node
 * by `npm ci`) as a local prebuild, so an install runs the real script without the network.
 * Returns the environment that points the script at it.
 */
export function localPrebuilds(root: string, dir: string): Record<string, string> {
  const mod = join(root, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(mod, 'package.json'), 'utf8')) as { version: string };
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  mkdirSync(dir, { recursive: true });
  run('tar', ['czf', join(dir, name), '-C', mod, 'build/Release/better_sqlite3.node']);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

/** A port free on 127.0.0.1 a moment ago, for a service that must be told its port up front. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
