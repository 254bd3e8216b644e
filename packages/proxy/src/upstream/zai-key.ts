// The proxy's Z.AI key: ZAI_API_KEY, or the contents of ZAI_API_KEY_FILE (a mounted Secret), re-read
// every few seconds so a rotated Secret takes effect without a restart. An exchange reads the key
// once, when its upstream headers are built, and keeps it through its retries. The key itself is
// never logged; only that it changed.
import { readFileSync } from 'node:fs';
import { type Config, ConfigError } from '../config.ts';
import type { Logger } from '../log.ts';

/** 5 s: a Secret volume is refreshed by the kubelet within about a minute; a tiny file read is free. */
export const KEY_FILE_POLL_MS = 5_000;

export interface ZaiKey {
  /** The key for a new exchange; null in pass-through mode. */
  current(): string | null;
  /** Re-reads ZAI_API_KEY_FILE (no-op without one). A missing or empty file keeps the current key. */
  reload(): void;
  close(): void;
}

/** Runs fn every ms until the returned function is called; unref'd. */
export type Schedule = (fn: () => void, ms: number) => () => void;

const every: Schedule = (fn, ms) => {
  const t = setInterval(fn, ms);
  t.unref();
  return () => clearInterval(t);
};

/** Throws ConfigError when ZAI_API_KEY_FILE cannot be read or is empty at startup. */
export function createZaiKey(
  cfg: Pick<Config, 'ZAI_API_KEY' | 'ZAI_API_KEY_FILE'>,
  log: Logger,
  schedule: Schedule = every,
): ZaiKey {
  const file = cfg.ZAI_API_KEY_FILE;
  if (file === undefined) {
    const key = cfg.ZAI_API_KEY ?? null;
    return { current: () => key, reload: () => {}, close: () => {} };
  }
  const read = (): string => {
    const text = readFileSync(file, 'utf8').trim(); // a Secret file usually ends with a newline
    if (text === '') throw Object.assign(new Error('the file is empty'), { code: 'EMPTY' });
    return text;
  };
  let key: string;
  try {
    key = read();
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(
      ['ZAI_API_KEY_FILE'],
      [`ZAI_API_KEY_FILE: cannot read the key from ${file} (${why})`],
    );
  }
  let failing = false;
  const reload = () => {
    let next: string;
    try {
      next = read();
    } catch (err) {
      if (!failing) {
        log.warn(
          { file, code: (err as NodeJS.ErrnoException).code },
          'Cannot read ZAI_API_KEY_FILE; keeping the current key',
        );
      }
      failing = true;
      return;
    }
    failing = false;
    if (next === key) return;
    key = next;
    log.info({ file }, 'Z.AI key reloaded from ZAI_API_KEY_FILE');
  };
  const stop = schedule(reload, KEY_FILE_POLL_MS);
  return { current: () => key, reload, close: stop };
}
