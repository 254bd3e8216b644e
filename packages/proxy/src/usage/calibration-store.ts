// Where the calibration snapshot is kept: by default one document of the proxy's state store (the
// admission state file, or Redis shared by the replicas, which learn the same ratios); or a JSON file
// of its own when TOKEN_CALIBRATION_STATE_FILE names one.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StateStore } from '../admission/state-store.ts';
import type { CalibrationSnapshot, CalibrationStore } from './token-calibration.ts';

/** A store in one JSON file, written atomically (temporary file, then rename). A missing or
 *  unreadable file loads as null; the caller validates what it loads. */
export function fileCalibrationStore(path: string): CalibrationStore {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        return null; // first start, or the directory is not there yet
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return null; // a torn or foreign file: start learning afresh
      }
    },
    async save(snapshot: CalibrationSnapshot) {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(snapshot)}\n`, 'utf8');
      await rename(tmp, path);
    },
  };
}

const LOAD_TRIES = 10;
const LOAD_RETRY_MS = 200; // 10 × 200 ms: about Redis's connect timeout

/** The snapshot as one document of the state store. At startup a Redis store is still connecting
 *  (it refuses commands until then): the load retries for about two seconds, then starts afresh. */
export function stateCalibrationStore(store: StateStore, key = 'token-calibration'): CalibrationStore {
  return {
    async load() {
      for (let i = 1; ; i++) {
        try {
          return await store.get(key);
        } catch {
          if (i >= LOAD_TRIES) return null; // Redis down: learn afresh, save once it is back
          await sleep(LOAD_RETRY_MS);
        }
      }
    },
    save: (snapshot) => store.set(key, snapshot),
  };
}
