// x-should-retry as the official SDKs obey it, with their retries on: for every answer no retry can
// fix (a Z.AI class whose clientMayRetry is false, the proxy's own client errors, a spent quota or
// budget) the SDK sends the request once. Z.AI errors: the simulated upstream's journal holds one
// request. Proxy-made errors: the proxy's access log holds one line for the request id. A class that
// says true is retried by the SDK, so the counting can fail.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { type Admission, openAdmission } from '../src/admission/index.ts';
import { ERRORS, type ErrorCode, GatewayError } from '../src/errors.ts';
import { ZAI_CLASSES, ZAI_CODES, type ZaiErrorClass } from '../src/upstream/zai-classifier.ts';
import { type Stack, startStack } from './harness.ts';

const PROXY_KEY = 'proxy-key-for-sdk-tests-01';
const SDK_RETRIES = 3;

/** Refuses an attempt whose model is `refuse-<CODE>` with that catalogue error. */
const refusing: Admission = {
  acquire(r) {
    const m = /^refuse-(.+)$/.exec(r.model ?? '');
    if (m === null) return openAdmission.acquire(r, new AbortController().signal);
    return Promise.reject(new GatewayError(m[1] as ErrorCode, undefined, 1));
  },
  health: openAdmission.health,
};

const STATUS: Partial<Record<ZaiErrorClass, number>> = { auth: 401, permission: 403, request: 400 };
const noRetryClasses = (Object.keys(ZAI_CLASSES) as ZaiErrorClass[]).filter(
  (c) => !ZAI_CLASSES[c].clientMayRetry,
);
const codeOf = (cls: ZaiErrorClass) => [...ZAI_CODES].find(([, r]) => r.class === cls)![0];

type Sdk = 'anthropic' | 'openai';
const SDKS: Sdk[] = ['anthropic', 'openai'];

describe('x-should-retry: false stops both SDKs after one request', () => {
  let s: Stack;
  let keyed: Stack;
  let n = 0;
  before(async () => {
    // The proxy itself does not retry (MAX_RETRIES=0): every upstream request is the SDK's.
    // No quota gate: a quota row would close it for the tests after it.
    const env = {
      MAX_RETRIES: '0',
      MAX_REQUEST_BYTES: '2048',
      CONCURRENCY_ENABLED: 'false',
      QUOTA_GATE_ENABLED: 'false',
    };
    s = await startStack({ env, admission: refusing });
    keyed = await startStack({ env: { ...env, PROXY_API_KEYS: `team:${PROXY_KEY}` } });
  });
  after(async () => {
    await s.close();
    await keyed.close();
  });

  const clients = (st: Stack, key: string) => ({
    anthropic: new Anthropic({ apiKey: key, baseURL: st.url, maxRetries: SDK_RETRIES }),
    openai: new OpenAI({ apiKey: key, baseURL: `${st.url}/v1`, maxRetries: SDK_RETRIES }),
  });
  const accessLines = (st: Stack, id: string) =>
    st.logs.filter((l) => l.includes('"log":"access"') && l.includes(`"requestId":"${id}"`)).length;

  /** One SDK call that must fail; returns its status. */
  async function call(
    st: Stack,
    sdk: Sdk,
    id: string,
    o: {
      key?: string;
      model?: string;
      scenario?: string;
      big?: boolean;
      path?: string;
      get?: boolean;
      body?: unknown;
    },
  ): Promise<number> {
    const c = clients(st, o.key ?? 'any-client-key')[sdk];
    const headers: Record<string, string> = { 'x-request-id': id };
    if (o.scenario !== undefined) headers['x-sim-scenario'] = o.scenario;
    const content = o.big ? 'x'.repeat(4096) : 'hi';
    const model = o.model ?? 'glm-4.6';
    try {
      if (o.path !== undefined || o.get) {
        const path = o.path ?? (sdk === 'anthropic' ? '/v1/messages' : '/chat/completions');
        await (o.get ? c.get(path, { headers }) : c.post(path, { body: o.body ?? {}, headers }));
      } else if (sdk === 'anthropic') {
        await (c as Anthropic).messages.create(
          { model, max_tokens: 8, messages: [{ role: 'user', content }] },
          { headers },
        );
      } else {
        await (c as OpenAI).chat.completions.create(
          { model, messages: [{ role: 'user', content }] },
          { headers },
        );
      }
    } catch (err) {
      return (err as { status: number }).status;
    }
    assert.fail('the call succeeded');
  }

  for (const sdk of SDKS) {
    for (const cls of noRetryClasses) {
      const code = codeOf(cls);
      const status = STATUS[cls] ?? 429;
      test(`${sdk}: Z.AI ${cls} (${code} as ${status}): one request reaches Z.AI`, {
        timeout: 60_000,
      }, async () => {
        s.sim.reset();
        const st = await call(s, sdk, `sr-${n++}`, {
          scenario: `zai_error;status=${status};code=${code};envelope=nested`,
        });
        assert.equal(st, status);
        assert.equal(s.sim.journal.length, 1, `${sdk} sent it ${s.sim.journal.length} times`);
      });
    }

    const own: [string, ErrorCode, Parameters<typeof call>[3], 'keyed' | 'main'][] = [
      ['no such route', 'ROUTE_NOT_FOUND', { path: '/v1/nope' }, 'main'],
      ['wrong method', 'METHOD_NOT_ALLOWED', { get: true }, 'main'],
      [
        'body not a JSON object',
        'INVALID_JSON',
        { path: sdk === 'anthropic' ? '/v1/messages' : '/chat/completions', body: [1] },
        'main',
      ],
      ['body over MAX_REQUEST_BYTES', 'BODY_TOO_LARGE', { big: true }, 'main'],
      ['not a proxy key', 'UNAUTHORIZED', { key: 'wrong-key-1234' }, 'keyed'],
      ['quota gate', 'QUOTA_EXHAUSTED', { model: 'refuse-QUOTA_EXHAUSTED' }, 'main'],
      ['budget', 'BUDGET_EXCEEDED', { model: 'refuse-BUDGET_EXCEEDED' }, 'main'],
    ];
    for (const [what, code, o, which] of own) {
      test(`${sdk}: the proxy's ${code} (${what}): one request reaches the proxy`, {
        timeout: 60_000,
      }, async () => {
        const st = which === 'keyed' ? keyed : s;
        st.sim.reset();
        const id = `sr-${n++}`;
        const status = await call(st, sdk, id, o);
        assert.equal(status, ERRORS[code].status);
        assert.equal(accessLines(st, id), 1, `${sdk} sent it ${accessLines(st, id)} times`);
        assert.equal(st.sim.journal.length, 0);
      });
    }

    test(`${sdk}: control: a 1302 (x-should-retry: true) is retried by the SDK`, async () => {
      s.sim.reset();
      const c =
        sdk === 'anthropic'
          ? new Anthropic({ apiKey: 'k', baseURL: s.url, maxRetries: 1 })
          : new OpenAI({ apiKey: 'k', baseURL: `${s.url}/v1`, maxRetries: 1 });
      const headers = { 'x-sim-scenario': 'zai_error;status=429;code=1302' };
      await assert.rejects(
        sdk === 'anthropic'
          ? (c as Anthropic).messages.create(
              { model: 'glm-4.6', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] },
              { headers },
            )
          : (c as OpenAI).chat.completions.create(
              { model: 'glm-4.6', messages: [{ role: 'user', content: 'hi' }] },
              { headers },
            ),
      );
      assert.equal(s.sim.journal.length, 2);
    });
  }
});
