// The proxy's version: ZAI_PROXY_VERSION / ZAI_PROXY_COMMIT when the build set them, otherwise the
// package version and, when run from a git checkout, the commit it is at. Read once at startup.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Config } from './config.ts';

// The product's package.json (the root one, whose version `zai-proxy --version` prints): three levels
// up from src/version.ts in a checkout, two from dist/proxy/main.js in a package or an image.
const PACKAGE_JSONS = [
  new URL('../../../package.json', import.meta.url),
  new URL('../../package.json', import.meta.url),
];
const REPO_ROOT = new URL('../../../', import.meta.url);

export interface BuildInfo {
  version: string;
  commit: string;
}

/** The version of the zai-proxy package (`unknown` when its package.json cannot be found). */
export function packageVersion(): string {
  for (const url of PACKAGE_JSONS) {
    try {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'zai-proxy' && typeof pkg.version === 'string' && pkg.version !== '')
        return pkg.version;
    } catch {
      // not there: the next place
    }
  }
  return 'unknown';
}

/** The checkout's short commit, with `-dirty` when the work tree has changes; null outside a checkout. */
export function gitCommit(): string | null {
  if (!existsSync(new URL('.git', REPO_ROOT))) return null;
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
  try {
    const head = git('rev-parse', '--short=12', 'HEAD');
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return null; // no git binary, or not a repository after all
  }
}

/** Version and commit: the build's variables win over what the package and git say. */
export function buildInfo(cfg: Pick<Config, 'ZAI_PROXY_VERSION' | 'ZAI_PROXY_COMMIT'>): BuildInfo {
  const version = cfg.ZAI_PROXY_VERSION !== 'unknown' ? cfg.ZAI_PROXY_VERSION : packageVersion();
  const commit = cfg.ZAI_PROXY_COMMIT !== 'unknown' ? cfg.ZAI_PROXY_COMMIT : (gitCommit() ?? 'unknown');
  return { version, commit };
}

/** The `--version` line: `zai-proxy 0.1.0 (commit 1a2b3c4d5e6f)`. */
export function versionLine(info: BuildInfo): string {
  return info.commit === 'unknown'
    ? `zai-proxy ${info.version}`
    : `zai-proxy ${info.version} (commit ${info.commit})`;
}
