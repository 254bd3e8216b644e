// Structured JSON logs (pino). Message texts that runbooks grep are kept from the original.
import { pino } from 'pino';

export type Logger = pino.Logger;

/** The process logger. `destination`: a stream (tests capture every line), or a file descriptor or
 *  path written like stdout (the benches use /dev/null); stdout by default. */
export function createLogger(level: string, destination?: pino.DestinationStream | number | string): Logger {
  const opts: pino.LoggerOptions = { level, base: { service: 'zai-proxy' } };
  const out =
    destination === undefined || typeof destination === 'number' || typeof destination === 'string'
      ? batched(pino.destination({ dest: destination ?? 1, sync: true }))
      : destination;
  return pino(opts, out);
}

// A busy proxy ends several requests per turn of the event loop, each with an access line: the lines
// of one turn go out in one write, at the end of that turn (setImmediate), instead of one syscall
// each (a write per line cost ~4 % of the CPU per request). Nothing waits longer than the turn; what
// is pending when the process exits is written synchronously then.
function batched(dest: pino.DestinationStream & { flushSync(): void }): pino.DestinationStream {
  let pending: string[] = [];
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const lines = pending.length === 1 ? pending[0]! : pending.join('');
    pending = [];
    dest.write(lines);
  };
  process.on('exit', flush);
  return {
    write(line: string) {
      pending.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}
