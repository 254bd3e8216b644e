import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { GatewayError } from '../errors.ts';
import { Exchange } from '../exchange.ts';
import { createRouteTable } from '../routes/index.ts';
import { writeError } from './error-response.ts';

const routes = createRouteTable({
  ZAI_TARGET_URL: 'http://127.0.0.1:1',
  ZAI_OPENAI_TARGET_URL: 'http://127.0.0.1:1',
});

/** One request to a server whose handler is `h`; returns status, headers and body. */
async function roundTrip(h: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(h).listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const r = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'x-request-id': 'err-1' },
    });
    return { status: r.status, headers: r.headers, body: await r.text() };
  } finally {
    server.close();
  }
}

describe('the error writer', () => {
  test('answers in the route envelope and records code and class on the exchange', async () => {
    let x: Exchange | null = null;
    const r = await roundTrip((req, res) => {
      x = new Exchange(req, res, routes.match('/v1/chat/completions')!, { kind: 'peer', name: 'p' });
      writeError(res, x.route.surface, new GatewayError('QUOTA_EXHAUSTED', undefined, 30), x);
    });
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '30');
    assert.equal(r.headers.get('x-request-id'), 'err-1');
    assert.equal(JSON.parse(r.body).error.code, 'quota_exhausted');
    assert.deepEqual(x!.error, { code: 'QUOTA_EXHAUSTED', class: 'admission' });
    assert.equal(x!.status, 429);
    assert.equal(x!.committed, true);
    assert.equal(x!.bytesOut, Buffer.byteLength(r.body));
  });

  test('without an exchange (answers before one exists): no request id, same envelope', async () => {
    const r = await roundTrip((_req, res) =>
      writeError(res, routes.familyOf('/v1/chat/x'), new GatewayError('UNAUTHORIZED'), null),
    );
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('x-request-id'), null);
    assert.equal(JSON.parse(r.body).error.type, 'authentication_error');
  });
});
