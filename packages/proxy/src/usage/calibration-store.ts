// The calibration snapshot in a small JSON state file. There is no shared state store yet; this is
// the in-process default, behind the CalibrationStore interface that a later store can implement.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
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
