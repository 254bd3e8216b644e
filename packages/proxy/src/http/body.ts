// The request body: read up to the configured limit, then parsed once as a JSON object.
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.ts';
import { asObject, NOT_JSON, parseJson } from '../json.ts';

/** Reads a request body up to `limit` bytes; a larger one is a 413. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new GatewayError('BODY_TOO_LARGE'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(new GatewayError('BODY_TOO_LARGE'));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}

/** The body as a JSON object; a 400 INVALID_JSON otherwise. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  const v = parseJson(body);
  if (v === NOT_JSON) throw new GatewayError('INVALID_JSON');
  const o = asObject(v);
  if (o === null) throw new GatewayError('INVALID_JSON', 'request body must be a JSON object');
  return o;
}
