// The access log over every way a request can end: each error code of the catalogue, each Z.AI
// class, each transport failure kind, a client that leaves, a stream upstream breaks, successes.
// For each: exactly one access line for its request id, with the right status, level, class, code
// and attempts, and no secret anywhere in the log. The tables are checked against ERRORS and
// ZAI_CLASSES, so a new code or class without a row fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { until } from '@zai-proxy/testkit';
import { type Admission, openAdmission } from '../src/admission/index.ts';
import { ERRORS, type ErrorCode, GatewayError } from '../src/errors.ts';
import { ZAI_CLASSES, ZAI_CODES, type ZaiErrorClass } from '../src/upstream/zai-classifier.ts';
import { type Stack, startStack, ZAI_KEY } from './harness.ts';

const CLIENT_KEY = 'client-own-KEY-5f4e3d2c1b';
const PROXY_KEY = 'proxy-client-KEY-9a8b7c6d';
const SECRETS = [ZAI_KEY, CLIENT_KEY, PROXY_KEY];
const LEVEL = { info: 30, warn: 40, error: 50 } as const;
type Level = keyof typeof LEVEL;

/** Refuses an attempt whose model is `refuse-<CODE>` with that catalogue error (`refuse-throw`: a
 *  plain Error, which the proxy answers as INTERNAL); grants everything else at once. */
const refusing: Admission = {
  acquire(r) {
    const m = /^refuse-(.+)$/.exec(r.model ?? '');
    if (m === null) return openAdmission.acquire(r, new AbortController().signal);
    if (m[1] === 'throw') return Promise.reject(new Error('admission bug'));
    return Promise.reject(new GatewayError(m[1] as ErrorCode, undefined, 3));
  },
  health: openAdmission.health,
};

interface Expect {
  status: number;
  level: Level;
  class?: string;
  code?: string;
  attempts: number;
  method?: string;
  route?: string;
  msg?: string | RegExp;
  /** Further fields the line must have (deep-equal each). */
  fields?: Record<string, unknown>;
}

type Send = (s: Stack, id: string) => Promise<void>;

interface Row {
  name: string;
  stack: 'main' | 'keys' | 'passthrough' | 'timeout' | 'wrongbase' | 'edge';
  send: Send;
  expect: Expect;
  /** Catalogue code or Z.AI class this row covers. */
  covers?: ErrorCode | ZaiErrorClass;
}

const msgBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], ...extra });
const chatBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'glm-4.6', messages: [{ role: 'user', content: 'hi' }], ...extra });

/** A request whose response is read to the end (or whose failure is swallowed: a broken stream). */
function req(path: string, init: { method?: string; body?: string; scenario?: string; key?: string }): Send {
  return async (s, id) => {
    const headers: Record<string, string> = { 'x-request-id': id, 'content-type': 'application/json' };
    if (init.scenario !== undefined) headers['x-sim-scenario'] = init.scenario;
    if (init.key !== undefined) headers['x-api-key'] = init.key;
    if (path.startsWith('/v1/chat') && init.key !== undefined) {
      delete headers['x-api-key'];
      headers.authorization = `Bearer ${init.key}`;
    }
    try {
      const r = await fetch(`${s.url}${path}`, { method: init.method ?? 'POST', headers, body: init.body });
      await r.arrayBuffer();
    } catch {
      // the proxy broke the connection on purpose (upstream broke mid-stream)
    }
  };
}
const messages = (scenario: string, extra?: Record<string, unknown>) =>
  req('/v1/messages', { body: msgBody(extra), scenario });

/** Reads the first bytes of a gated stream, then leaves. */
const leaveMidStream: Send = async (s, id) => {
  const ac = new AbortController();
  const r = await fetch(`${s.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-request-id': id, 'x-sim-scenario': 'ok;events=4;gate=1' },
    body: msgBody({ stream: true }),
    signal: ac.signal,
  });
  const reader = r.body!.getReader();
  await reader.read();
  ac.abort();
  await reader.read().catch(() => {});
};

/** Leaves while upstream has not answered yet. */
const leaveBeforeHeaders: Send = async (s, id) => {
  const ac = new AbortController();
  const done = fetch(`${s.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-request-id': id, 'x-sim-scenario': 'slow_headers;delay=60000' },
    body: msgBody(),
    signal: ac.signal,
  }).catch(() => {});
  await until(() => s.sim.journal.some((j) => j.headers['x-request-id'] === id));
  ac.abort();
  await done;
};

const zaiCode = (cls: ZaiErrorClass) => [...ZAI_CODES].find(([, r]) => r.class === cls)?.[0];

const ROWS: Row[] = [
  // --- successes
  {
    name: 'ok JSON with provider usage',
    stack: 'main',
    send: messages('ok;input=1;output=2'),
    expect: {
      status: 200,
      level: 'info',
      attempts: 1,
      msg: 'Token usage: input=1, output=2, cache_read=0, cache_write=0',
      fields: { source: 'provider', input: 1, output: 2, model: 'glm-4.6', stream: false },
    },
  },
  {
    name: 'ok stream',
    stack: 'main',
    send: messages('ok;input=3;output=4', { stream: true }),
    expect: { status: 200, level: 'info', attempts: 1, msg: /^Token usage: input=3, output=4/ },
  },
  {
    name: 'ok without usage: estimated',
    stack: 'main',
    send: messages('ok;no_usage=1'),
    expect: { status: 200, level: 'info', attempts: 1, msg: /^Token usage \(estimated\): input=\d+/ },
  },
  // --- the proxy's own errors, before anything is forwarded
  {
    name: 'unknown path',
    covers: 'ROUTE_NOT_FOUND',
    stack: 'main',
    send: req('/v1/nope', { method: 'GET' }),
    expect: { status: 404, level: 'info', class: 'client', attempts: 0, method: 'GET', route: '/v1/nope' },
  },
  {
    name: 'wrong method',
    covers: 'METHOD_NOT_ALLOWED',
    stack: 'main',
    send: req('/v1/messages', { method: 'GET' }),
    expect: { status: 405, level: 'info', class: 'client', attempts: 0, method: 'GET' },
  },
  {
    name: 'invalid JSON',
    covers: 'INVALID_JSON',
    stack: 'main',
    send: req('/v1/messages', { body: '{"model":' }),
    expect: { status: 400, level: 'info', class: 'client', attempts: 0 },
  },
  {
    name: 'body over MAX_REQUEST_BYTES',
    covers: 'BODY_TOO_LARGE',
    stack: 'main',
    send: req('/v1/messages', { body: msgBody({ pad: 'x'.repeat(9000) }) }),
    expect: { status: 413, level: 'info', class: 'client', attempts: 0 },
  },
  {
    name: 'no proxy key',
    covers: 'UNAUTHORIZED',
    stack: 'keys',
    send: req('/v1/messages', { body: msgBody(), key: 'not-a-proxy-key-123' }),
    expect: {
      status: 401,
      level: 'info',
      class: 'client',
      attempts: 0,
      msg: 'POST /v1/messages 401 client UNAUTHORIZED: the client presented none of the PROXY_API_KEYS keys',
    },
  },
  // --- the HTTP edge's own limits
  {
    name: 'more than 256 request headers',
    covers: 'HEADERS_TOO_LARGE',
    stack: 'main',
    send: async (s, id) => {
      const headers: Record<string, string> = { 'x-request-id': id, 'content-type': 'application/json' };
      for (let i = 0; i < 300; i++) headers[`x-h-${i}`] = 'v';
      await fetch(`${s.url}/v1/messages`, { method: 'POST', headers, body: msgBody() }).then(
        (r) => r.arrayBuffer(),
        () => {},
      );
    },
    expect: { status: 431, level: 'info', class: 'client', attempts: 0 },
  },
  {
    name: 'bodies in flight over MAX_BUFFERED_REQUEST_BYTES',
    covers: 'BODY_BUDGET_EXCEEDED',
    stack: 'edge',
    send: req('/v1/messages', { body: msgBody({ pad: 'x'.repeat(3000) }) }),
    expect: { status: 503, level: 'error', class: 'admission', attempts: 0 },
  },
  {
    name: 'a body that stops arriving',
    covers: 'REQUEST_TIMEOUT',
    stack: 'edge',
    send: async (s, id) => {
      const sock = connect(Number(new URL(s.url).port), '127.0.0.1');
      sock.on('error', () => {});
      sock.write(
        `POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-request-id: ${id}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"model":`,
      );
      await new Promise<void>((done) => {
        sock.on('close', () => done());
        sock.resume();
      });
    },
    expect: { status: 408, level: 'info', class: 'client', attempts: 0 },
  },
  // --- admission refusals and a proxy bug
  ...(
    [
      'PROXY_OVERLOADED',
      'QUEUE_FULL',
      'QUEUE_TIMEOUT',
      'QUOTA_EXHAUSTED',
      'BUDGET_EXCEEDED',
      'CLIENT_IN_FLIGHT_LIMIT',
    ] as const
  ).map(
    (code): Row => ({
      name: `admission refuses: ${code}`,
      covers: code,
      stack: 'main',
      send: req('/v1/messages', { body: msgBody({ model: `refuse-${code}` }) }),
      expect: {
        status: ERRORS[code].status,
        level: ERRORS[code].status >= 500 ? 'error' : 'warn',
        class: 'admission',
        attempts: 0,
      },
    }),
  ),
  {
    name: 'a proxy bug',
    covers: 'INTERNAL',
    stack: 'main',
    send: req('/v1/messages', { body: msgBody({ model: 'refuse-throw' }) }),
    expect: { status: 500, level: 'error', class: 'internal', attempts: 0, fields: { err: 'admission bug' } },
  },
  // --- transport failures: the line names the kind, the proxy code beside it
  {
    name: 'connection reset before headers, retried once',
    covers: 'UPSTREAM_UNREACHABLE',
    stack: 'main',
    send: messages('reset_before_headers'),
    expect: { status: 502, level: 'error', class: 'network', attempts: 2 },
  },
  {
    name: 'invalid JSON 200, retried once',
    covers: 'UPSTREAM_BAD_RESPONSE',
    stack: 'main',
    send: messages('invalid_json'),
    expect: { status: 502, level: 'error', class: 'truncated_response', attempts: 2 },
  },
  {
    name: 'empty stream, retried once',
    covers: 'UPSTREAM_EMPTY_STREAM',
    stack: 'main',
    send: messages('empty_stream', { stream: true }),
    expect: { status: 502, level: 'error', class: 'empty_streaming', attempts: 2 },
  },
  {
    name: 'no headers within UPSTREAM_HEADERS_TIMEOUT, not retried',
    covers: 'UPSTREAM_TIMEOUT',
    stack: 'timeout',
    send: messages('slow_headers;delay=60000'),
    expect: {
      status: 504,
      level: 'error',
      class: 'timeout',
      attempts: 1,
      msg: 'POST /v1/messages 504 timeout UPSTREAM_TIMEOUT',
    },
  },
  // --- the client leaves, upstream breaks a stream
  {
    name: 'the client leaves mid-stream',
    stack: 'main',
    send: leaveMidStream,
    expect: { status: 200, level: 'info', class: 'client_closed', attempts: 1 },
  },
  {
    name: 'the client leaves before the answer',
    stack: 'main',
    send: leaveBeforeHeaders,
    expect: { status: 499, level: 'info', class: 'client_closed', attempts: 1 },
  },
  {
    name: 'upstream breaks the stream after bytes went out',
    stack: 'main',
    send: messages('reset_mid_stream;after=2', { stream: true }),
    expect: { status: 200, level: 'error', class: 'upstream_broken', attempts: 1 },
  },
  // --- hints where the mistake is known
  {
    name: 'ZAI_TARGET_URL without /api/anthropic',
    stack: 'wrongbase',
    send: messages('ok'),
    expect: {
      status: 404,
      level: 'info',
      class: 'unknown',
      attempts: 1,
      msg: 'POST /v1/messages 404 unknown: upstream has no /v1/messages: ZAI_TARGET_URL should end in /api/anthropic',
    },
  },
  {
    name: '1113 from the general OpenAI base',
    stack: 'main',
    send: req('/v1/chat/completions', { body: chatBody(), scenario: 'zai_error;status=429;code=1113' }),
    expect: {
      status: 429,
      level: 'error',
      class: 'billing',
      code: '1113',
      attempts: 1,
      route: '/v1/chat/completions',
      msg: 'POST /v1/chat/completions 429 billing 1113: Z.AI refuses this account until a person acts; coding-plan keys need ZAI_OPENAI_TARGET_URL=https://api.z.ai/api/coding/paas/v4',
    },
  },
  {
    name: "pass-through: Z.AI refuses the client's own key",
    stack: 'passthrough',
    send: req('/v1/messages', { body: msgBody(), key: CLIENT_KEY }),
    expect: {
      status: 401,
      level: 'warn',
      class: 'auth',
      attempts: 1,
      msg: /^POST \/v1\/messages 401 auth.*: Z\.AI refused the request, not retried; pass-through mode: the client's own key was forwarded/,
    },
  },
];

// --- every Z.AI class, by a code of that class (unknown: a code Z.AI never sent)
const ZAI_ROWS: Record<ZaiErrorClass, { status: number; level: Level; retried: boolean; code?: string }> = {
  concurrency: { status: 429, level: 'warn', retried: true },
  frequency: { status: 429, level: 'warn', retried: true },
  overloaded: { status: 529, level: 'warn', retried: true },
  model_congestion: { status: 429, level: 'warn', retried: true },
  quota: { status: 429, level: 'warn', retried: false, code: '1308' },
  fair_use: { status: 429, level: 'error', retried: false },
  billing: { status: 429, level: 'error', retried: false },
  permission: { status: 403, level: 'warn', retried: false },
  request: { status: 400, level: 'info', retried: false },
  auth: { status: 401, level: 'warn', retried: false },
  unknown: { status: 429, level: 'warn', retried: true, code: '9999' },
};
for (const [cls, z] of Object.entries(ZAI_ROWS) as [ZaiErrorClass, (typeof ZAI_ROWS)[ZaiErrorClass]][]) {
  const code = z.code ?? zaiCode(cls)!;
  const hint = cls === 'auth' ? '; Z.AI refused ZAI_API_KEY' : '';
  const note = {
    error: ': Z.AI refuses this account until a person acts',
    warn: ': Z.AI refused the request, not retried',
    info: '',
  }[ZAI_CLASSES[cls].logLevel];
  ROWS.push({
    name: `Z.AI ${cls} (${code} as ${z.status})`,
    covers: cls,
    stack: 'main',
    send: messages(`zai_error;status=${z.status};code=${code};envelope=nested`),
    expect: {
      status: z.status,
      level: z.level,
      class: cls,
      code,
      attempts: z.retried ? 2 : 1,
      msg: `POST /v1/messages ${z.status} ${cls} ${code}${note}${hint}`,
    },
  });
}

describe('the access line', () => {
  const stacks = {} as Record<Row['stack'], Stack>;
  // No quota gate: a 1308 row would close it for the rows after it.
  const env = {
    MAX_RETRIES: '1',
    MAX_REQUEST_BYTES: '4096',
    CONCURRENCY_ENABLED: 'false',
    QUOTA_GATE_ENABLED: 'false',
  };
  before(async () => {
    stacks.main = await startStack({ env, admission: refusing });
    stacks.keys = await startStack({ env: { ...env, PROXY_API_KEYS: `team:${PROXY_KEY}` } });
    stacks.passthrough = await startStack({ env: { ...env, ZAI_API_KEY: '' } });
    stacks.timeout = await startStack({ env: { ...env, UPSTREAM_HEADERS_TIMEOUT: '100ms' } });
    stacks.edge = await startStack({
      env: { ...env, MAX_BUFFERED_REQUEST_BYTES: '2048', REQUEST_BODY_TIMEOUT: '300ms' },
    });
    // The mistake of pointing the proxy at the upstream's host without its API base path.
    stacks.wrongbase = await startStack({ env, simEnv: (url) => ({ ZAI_TARGET_URL: url }) });
    // Rows run one after another: each leaves its stack idle for the next.
    for (const [i, row] of ROWS.entries()) {
      const s = stacks[row.stack];
      const id = `acc-${i}`;
      await row.send(s, id);
      await until(() => accessLines(s, id).length > 0, 10_000).catch(() => {});
      // A second line would be written at once if at all: wait until the stack is idle.
      await until(() => s.proxy.inflight() === 0, 10_000);
    }
  });
  after(async () => {
    for (const s of Object.values(stacks)) await s.close();
  });

  const parsed = (s: Stack) => s.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
  const accessLines = (s: Stack, id: string) =>
    parsed(s).filter((l) => l.log === 'access' && l.requestId === id);

  test('the tables cover every error code and every Z.AI class', () => {
    const covered = new Set<string | undefined>(ROWS.map((r) => r.covers));
    covered.add('SHUTTING_DOWN'); // its own stack, below: draining ends the proxy
    for (const code of Object.keys(ERRORS)) assert.ok(covered.has(code as ErrorCode), `no row for ${code}`);
    for (const cls of Object.keys(ZAI_CLASSES))
      assert.ok(covered.has(cls as ZaiErrorClass), `no row for ${cls}`);
  });

  for (const [i, row] of ROWS.entries()) {
    test(`${row.name}: one access line, ${row.expect.level}, status ${row.expect.status}`, () => {
      const s = stacks[row.stack];
      const id = `acc-${i}`;
      const lines = accessLines(s, id);
      assert.equal(lines.length, 1, `exactly one access line for ${id}:\n${s.logs.join('')}`);
      const l = lines[0]!;
      const e = row.expect;
      assert.equal(l.status, e.status, 'status');
      assert.equal(l.level, LEVEL[e.level], `level of ${String(l.msg)}`);
      assert.equal(l.class, e.class, 'class');
      const code = e.code ?? (row.covers !== undefined && row.covers in ERRORS ? row.covers : undefined);
      assert.equal(l.code, code, 'code');
      assert.equal(l.attempts, e.attempts, 'attempts');
      assert.equal(l.method, e.method ?? 'POST', 'method');
      assert.equal(l.route, e.route ?? '/v1/messages', 'route');
      assert.equal(typeof l.durationMs, 'number');
      assert.ok(typeof l.client === 'string' || e.attempts === 0, 'client named on an exchange');
      if (typeof e.msg === 'string') assert.equal(l.msg, e.msg);
      else if (e.msg !== undefined) assert.match(String(l.msg), e.msg);
      for (const [k, v] of Object.entries(e.fields ?? {})) assert.deepEqual(l[k], v, k);
      // Nothing else about this request is logged above info: the access line is the trace.
      const others = parsed(s).filter((o) => o.requestId === id && o.log !== 'access');
      assert.deepEqual(
        others.filter((o) => (o.level as number) > LEVEL.info).map((o) => o.msg),
        [],
        'no second line at warn or error',
      );
    });
  }

  test('a retried request logs one line per retry, attempt 2 of 2', () => {
    const i = ROWS.findIndex((r) => r.covers === 'concurrency');
    const retry = parsed(stacks.main).filter((o) => o.requestId === `acc-${i}` && o.log !== 'access');
    assert.deepEqual(
      retry.map((o) => o.msg),
      ['Retrying after 429 concurrency (code 1302): attempt 2 of 2 in 1s'],
    );
  });

  test('no key appears in any log line', () => {
    for (const s of Object.values(stacks)) {
      const text = s.logs.join('');
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `a log line holds ${secret}`);
    }
  });

  for (const file of ['docs/logging.md', 'README.md']) {
    test(`every access-line example in ${file} is a line these requests produced`, () => {
      const doc = readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');
      const blocks = [...doc.matchAll(/```log access\n([\s\S]*?)```/g)];
      assert.ok(blocks.length > 0, `${file} has a \`\`\`log access block`);
      const produced = new Set(Object.values(stacks).flatMap((s) => parsed(s).map((l) => l.msg)));
      for (const line of blocks.flatMap((b) => b[1]!.split('\n')).filter((x) => x !== ''))
        assert.ok(produced.has(line), `"${line}" was not produced`);
    });
  }
});

describe('the access line while draining', () => {
  let s: Stack;
  before(async () => {
    s = await startStack();
  });
  after(() => s.close());

  test('SHUTTING_DOWN: a request that arrives while draining gets one access line at error', async () => {
    // Two requests on one kept-alive connection: the first is in flight (a gated stream) when the
    // drain starts, which leaves that connection open; the second is sent on it while draining.
    const sock = connect(Number(new URL(s.url).port), '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const one = msgBody({ stream: true });
    const two = msgBody();
    let got = '';
    sock.on('data', (c) => {
      got += c;
    });
    sock.write(
      `POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-request-id: drain-1\r\nx-sim-scenario: ok;events=3;gate=1\r\ncontent-length: ${one.length}\r\n\r\n${one}`,
    );
    await until(() => got.includes('event:'));
    const drained = s.proxy.http.drain(10_000);
    sock.write(
      `POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-request-id: drain-2\r\ncontent-length: ${two.length}\r\n\r\n${two}`,
    );
    await until(() => s.logs.some((l) => l.includes('"drain-2"')));
    for (let i = 0; i < 20; i++) s.sim.advance(); // the rest of the gated stream (extra ones are banked)
    await until(() => got.includes('HTTP/1.1 503'), 5000);
    sock.destroy();
    await drained;
    const lines = s.logs.map((l) => JSON.parse(l)).filter((l) => l.log === 'access');
    const two503 = lines.filter((l) => l.requestId === 'drain-2');
    assert.equal(two503.length, 1);
    assert.equal(two503[0].status, 503);
    assert.equal(two503[0].code, 'SHUTTING_DOWN');
    assert.equal(two503[0].level, LEVEL.error);
    assert.equal(lines.filter((l) => l.requestId === 'drain-1').length, 1);
  });
});

describe('the index at /', () => {
  let s: Stack;
  before(async () => {
    s = await startStack({ env: { DASHBOARD_URL: 'http://127.0.0.1:8081' } });
  });
  after(() => s.close());

  test('GET / is a JSON index and HEAD / a 200; neither is counted or logged as a request', async () => {
    const r = await fetch(`${s.url}/`);
    assert.equal(r.status, 200);
    const doc = (await r.json()) as { name: string; version: string; endpoints: string[]; dashboard: string };
    assert.equal(doc.name, 'zai-proxy');
    assert.equal(typeof doc.version, 'string');
    assert.ok(doc.endpoints.includes('POST /v1/messages'));
    assert.ok(doc.endpoints.includes('POST /v1/chat/completions'));
    assert.equal(doc.dashboard, 'http://127.0.0.1:8081');
    const h = await fetch(`${s.url}/`, { method: 'HEAD' });
    assert.equal(h.status, 200);
    const metrics = await s.metricsText();
    assert.doesNotMatch(metrics, /zai_proxy_requests_total\{[^}]*status="404"/);
    assert.doesNotMatch(metrics, /path="unmatched"/);
    assert.ok(!s.logs.some((l) => l.includes('"log":"access"')));
  });
});
