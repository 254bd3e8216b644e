// Hostile and broken input, sent as raw bytes on a socket: each case gets a clean 4xx (or a closed
// connection), nothing reaches Z.AI, and the proxy stays up. Cases that are valid requests in
// disguise (a deep but valid body, invalid UTF-8 inside a string) are forwarded byte for byte.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sumSamples } from '@zai-proxy/prom-text';
import { type Stack, startStack, ZAI_KEY } from './harness.ts';

/** Writes `bytes` (optionally trickled a byte at a time) and returns what came back before close. */
function raw(url: string, bytes: Buffer | string, trickleMs = 0, hold = false): Promise<Buffer> {
  const { port } = new URL(url);
  const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1');
  return new Promise((resolve) => {
    const sock = connect(Number(port), '127.0.0.1');
    const out: Buffer[] = [];
    let timer: NodeJS.Timeout | null = null;
    sock.on('connect', () => {
      if (trickleMs === 0) {
        if (hold) sock.write(data);
        else sock.end(data);
        return;
      }
      let i = 0;
      timer = setInterval(() => {
        if (i < data.length && sock.writable) sock.write(data.subarray(i, ++i));
      }, trickleMs);
    });
    sock.on('data', (c) => {
      out.push(c);
      if (timer !== null) clearInterval(timer);
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      if (timer !== null) clearInterval(timer);
      resolve(Buffer.concat(out));
    });
  });
}

const status = (r: Buffer) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(r.toString('latin1'))?.[1] ?? 0);
const bodyOf = (r: Buffer) => r.toString('latin1').split('\r\n\r\n').slice(1).join('\r\n\r\n');

const post = (path: string, body: Buffer | string, headers = '') => {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: ${b.length}\r\n${headers}\r\n`,
    ),
    b,
  ]);
};

const MSG = '{"model":"glm-4.6","max_tokens":8,"messages":[{"role":"user","content":"x"}]}';

interface BadCase {
  name: string;
  bytes: Buffer | string;
  /** Acceptable statuses; 0 = the connection closed without an answer. */
  status: number[];
  trickleMs?: number;
  /** Keep the connection open after writing (a client that goes silent, not one that left). */
  hold?: boolean;
  /** The answer must be JSON in this API's envelope. */
  envelope?: 'anthropic' | 'openai';
}

const CASES: BadCase[] = [
  { name: 'malformed JSON', bytes: post('/v1/messages', '{"model":'), status: [400], envelope: 'anthropic' },
  {
    name: 'malformed JSON (OpenAI)',
    bytes: post('/v1/chat/completions', '{"model":'),
    status: [400],
    envelope: 'openai',
  },
  { name: 'a JSON array', bytes: post('/v1/messages', '[1,2,3]'), status: [400], envelope: 'anthropic' },
  { name: 'a JSON string', bytes: post('/v1/messages', '"hi"'), status: [400], envelope: 'anthropic' },
  { name: 'an empty body', bytes: post('/v1/messages', ''), status: [400], envelope: 'anthropic' },
  { name: 'trailing garbage after the object', bytes: post('/v1/messages', `${MSG}xyz`), status: [400] },
  { name: 'two objects', bytes: post('/v1/messages', `${MSG}${MSG}`), status: [400] },
  {
    name: '100k-deep unterminated nesting',
    bytes: post('/v1/messages', `{"model":"glm-4.6","x":${'['.repeat(100_000)}`),
    status: [400],
    envelope: 'anthropic',
  },
  {
    name: '2 MB of unterminated nesting (the large-body validator)',
    bytes: post('/v1/chat/completions', `{"model":"glm-4.6","x":${'{"a":'.repeat(400_000)}`),
    status: [400],
    envelope: 'openai',
  },
  {
    name: 'invalid UTF-8 outside any string',
    bytes: post(
      '/v1/messages',
      Buffer.concat([Buffer.from('{"model":'), Buffer.from([0xff, 0xfe]), Buffer.from('}')]),
    ),
    status: [400],
  },
  {
    name: 'form-encoded body',
    bytes: post('/v1/messages', 'model=glm-4.6&x=1', 'content-type: application/x-www-form-urlencoded\r\n'),
    status: [400],
  },
  {
    name: 'multipart body',
    bytes: post(
      '/v1/messages',
      '--b\r\ncontent-disposition: form-data; name="a"\r\n\r\n1\r\n--b--',
      'content-type: multipart/form-data; boundary=b\r\n',
    ),
    status: [400],
  },
  {
    name: 'a body over MAX_REQUEST_BYTES',
    bytes: post('/v1/messages', `{"x":"${'a'.repeat(3_100_000)}"}`),
    status: [413, 0], // refused on its declared length: the reset for unread bytes may overtake the answer
  },
  {
    name: 'Content-Length and Transfer-Encoding together',
    bytes: `POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n${MSG}`,
    status: [400],
  },
  {
    name: 'two different Content-Lengths',
    bytes: `POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\ncontent-length: 80\r\n\r\n{}`,
    status: [400],
  },
  {
    name: 'a bad chunk size',
    bytes: 'POST /v1/messages HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    status: [400],
  },
  {
    name: 'a bare CR in a header value (CRLF injection)',
    bytes: 'GET /v1/models HTTP/1.1\r\nhost: x\r\nx-request-id: a\rset-cookie: x\r\n\r\n',
    status: [400],
  },
  {
    name: 'a NUL in a header value',
    bytes: 'GET /v1/models HTTP/1.1\r\nhost: x\r\nx-a: a\u0000b\r\n\r\n',
    status: [400],
  },
  {
    name: 'a header line without a colon',
    bytes: 'GET /v1/models HTTP/1.1\r\nhost: x\r\nnocolon\r\n\r\n',
    status: [400],
  },
  {
    name: 'a huge header',
    bytes: `GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(70_000)}\r\n\r\n`,
    status: [431],
  },
  {
    name: "2,000 short headers (22 KB, under Node's byte limit)",
    bytes: `GET /v1/models HTTP/1.1\r\nhost: x\r\nconnection: close\r\n${Array.from({ length: 2000 }, (_, i) => `x-h${i}: v`).join('\r\n')}\r\n\r\n`,
    status: [431],
    envelope: 'openai', // /v1/models is an OpenAI-style route
  },
  { name: 'an unknown method', bytes: 'BREW /v1/messages HTTP/1.1\r\nhost: x\r\n\r\n', status: [400, 405] },
  {
    name: 'a known method a route does not take',
    bytes: 'DELETE /v1/messages HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    status: [405],
    envelope: 'anthropic',
  },
  {
    name: 'PUT on an ops endpoint',
    bytes: 'PUT /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: 0\r\n\r\n',
    status: [405],
  },
  { name: 'an unknown path', bytes: post('/v1/messages/extra', MSG), status: [404], envelope: 'anthropic' },
  { name: 'path traversal', bytes: post('/v1/../../etc/passwd', MSG), status: [404] },
  { name: 'encoded path traversal', bytes: post('/v1/%2e%2e/%2e%2e/v1/messages', MSG), status: [404] },
  { name: 'traversal back into a route', bytes: post('/v1/models/../messages', MSG), status: [404] },
  {
    name: 'an absolute-form target naming another host',
    bytes: post('http://evil.example/v1/messages', MSG),
    status: [404],
  },
  {
    name: 'an asterisk target',
    bytes: 'OPTIONS * HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n',
    status: [404, 405],
  },
  {
    name: 'HTTP/2 preface on a cleartext socket',
    bytes: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    status: [400, 505, 0],
  },
  { name: 'a TLS ClientHello', bytes: Buffer.from('16030100a5010000a10303', 'hex'), status: [400, 0] },
  {
    name: 'random binary',
    bytes: Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 256)),
    status: [400, 0],
  },
  {
    name: 'an HTTP version from the future',
    bytes: 'GET /v1/models HTTP/9.9\r\nhost: x\r\n\r\n',
    status: [400, 505],
  },
  {
    name: 'slowloris: a head trickled a byte every 40 ms',
    bytes: `GET /v1/models HTTP/1.1\r\nhost: x\r\n${'x-slow: y\r\n'.repeat(20)}\r\n`,
    trickleMs: 40,
    status: [408],
  },
  {
    name: 'a body that never arrives',
    bytes: 'POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{"mod',
    hold: true,
    status: [408],
  },
];

describe('bad input', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({
      env: { MAX_REQUEST_BYTES: '3000000', REQUEST_BODY_TIMEOUT: '300ms', TOKEN_COUNTING_ENABLED: 'true' },
    });
  });
  after(() => s.close());

  for (const c of CASES) {
    test(`${c.name}: a clean ${c.status.filter((n) => n > 0).join(' or ') || 'close'}, nothing reaches Z.AI`, {
      timeout: 20_000,
    }, async () => {
      const seen = s.sim.journal.length;
      const r = await raw(s.url, c.bytes, c.trickleMs, c.hold);
      assert.ok(
        c.status.includes(status(r)),
        `status ${status(r)} in ${JSON.stringify(c.status)}: ${r.toString('latin1').slice(0, 200)}`,
      );
      if (c.envelope !== undefined) {
        const j = JSON.parse(bodyOf(r));
        if (c.envelope === 'anthropic') assert.equal(j.type, 'error');
        assert.equal(typeof j.error.message, 'string');
        assert.equal(typeof j.error.type, 'string');
      }
      assert.ok(!r.toString('latin1').includes(ZAI_KEY));
      assert.ok(!/set-cookie/i.test(r.toString('latin1')), 'nothing injected into the answer');
      assert.equal(s.sim.journal.length, seen, 'nothing reached Z.AI');
      assert.equal((await fetch(`${s.url}/readyz`)).status, 200);
    });
  }

  test('a request id with CR/LF, spaces or 200 characters is replaced, never echoed', async () => {
    for (const rid of ['a b', 'x'.repeat(200), 'ok\u00e9']) {
      const r = await fetch(`${s.url}/v1/models`, { headers: { 'x-request-id': rid } });
      await r.text();
      assert.match(r.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    }
  });

  test('valid requests in disguise are forwarded byte for byte: invalid UTF-8 inside a string, a deep valid body', async () => {
    const bad = Buffer.concat([
      Buffer.from('{"model":"glm-4.6","max_tokens":8,"messages":[{"role":"user","content":"'),
      Buffer.from([0xff, 0xc3, 0x28]),
      Buffer.from('"}],"x":'),
      Buffer.from(`${'['.repeat(50_000)}${']'.repeat(50_000)}}`),
    ]);
    const r = await fetch(`${s.url}/v1/messages`, { method: 'POST', body: bad });
    assert.equal(r.status, 200);
    await r.text();
    assert.ok(s.sim.journal.at(-1)!.body.equals(bad));
  });

  test('a deep valid body on count_tokens answered locally is a count, not a 500', async () => {
    let deep = '1';
    for (let i = 0; i < 100_000; i++) deep = `[${deep}]`;
    const body = `{"model":"glm-4.6","messages":[{"role":"user","content":"x"}],"tools":[{"name":"t","input_schema":{"d":${deep}}}]}`;
    const r = await fetch(`${s.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-sim-scenario': 'count_tokens_unsupported' },
      body,
    });
    assert.equal(r.status, 200, await r.clone().text());
    const j = (await r.json()) as { input_tokens: number };
    assert.ok(j.input_tokens > 0);
  });

  test('after all of it: nothing in flight, every refusal counted', async () => {
    const m = await s.metricsText();
    assert.equal(sumSamples(m, 'zai_proxy_concurrent_requests'), 0);
    assert.ok(sumSamples(m, 'zai_proxy_requests_total', { status_code: '400' }) >= 5);
  });
});
