// Structured JSON logs (pino). Message texts that runbooks grep are kept from the original.
import { pino } from 'pino';

export type Logger = pino.Logger;

/** The process logger; `destination` lets tests capture every line. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const opts: pino.LoggerOptions = { level, base: { service: 'zai-proxy' } };
  return destination ? pino(opts, destination) : pino(opts);
}
