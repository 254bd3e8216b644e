// The classifier against the corpus of Z.AI bodies (every code × envelope × language, and real
// bodies whose wording drifted), and properties that hold on any input: it never throws, returns a
// class from the closed set, keeps no provider text, and a known code always beats the wording.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { anthropicBody, CODE_TEXTS, type CodeText, openaiBody, REAL_BODIES } from './fixtures/zai-bodies.ts';
import { retryAfterFromHeaders } from './retry-after.ts';
import {
  classifyZaiError,
  DEFAULT_ZAI_ERROR_BODY_BYTES,
  withHeaderReset,
  ZAI_CLASSES,
  ZAI_CODES,
  type ZaiError,
} from './zai-classifier.ts';

// Fixed seed and bounded runs: the same cases on every machine, a bounded share of `npm test`.
const PROPS = { seed: 0x5a1c0de, numRuns: 300 } as const;
const CLASSES = Object.keys(ZAI_CLASSES);
// Codes whose published wording alone (no code field) must classify the same as the code.
const WORDED = new Set([
  '1113',
  '1261',
  '1302',
  '1303',
  '1304',
  '1305',
  '1308',
  '1309',
  '1310',
  '1311',
  '1312',
  '1313',
]);

function expectCode(got: ZaiError, t: CodeText, where: string): void {
  assert.equal(got.class, t.class, where);
  assert.equal(got.code, t.code, where);
  assert.equal(got.basis, 'code', where);
  assert.equal(got.quotaWindow, t.window ?? null, where);
  assert.equal(got.resetAtMs, t.resetAtMs ?? null, where);
}

describe('corpus: every known code × envelope × language', () => {
  test('the corpus covers every code the classifier knows, and no other', () => {
    assert.deepEqual(CODE_TEXTS.map((t) => t.code).sort(), [...ZAI_CODES.keys()].sort());
  });

  for (const t of CODE_TEXTS) {
    test(`${t.code} → ${t.class}`, () => {
      for (const [lang, msg] of [
        ['en', t.en],
        ['zh', t.zh],
      ] as const) {
        expectCode(classifyZaiError(t.status, openaiBody(t.code, msg)), t, `openai ${lang}`);
        expectCode(classifyZaiError(t.status, anthropicBody(t.status, t.code, msg)), t, `anthropic ${lang}`);
        if (WORDED.has(t.code)) {
          // No code anywhere: the wording decides, in both languages.
          const got = classifyZaiError(t.status, JSON.stringify({ error: { message: msg } }));
          assert.equal(got.class, t.class, `wording ${lang}: ${msg}`);
          assert.equal(got.basis, 'message', `wording ${lang}`);
          assert.equal(got.quotaWindow, t.window ?? null, `wording ${lang}`);
          assert.equal(got.code, null);
        }
      }
    });
  }
});

describe('corpus: real bodies', () => {
  for (const r of REAL_BODIES) {
    test(r.name, () => {
      const now = Date.UTC(2026, 6, 8, 10, 0, 0);
      const headerMs = retryAfterFromHeaders(r.headers ?? {}, now);
      const got = withHeaderReset(classifyZaiError(r.status, r.body), headerMs, now);
      assert.equal(got.class, r.want.class);
      assert.equal(got.code, r.want.code);
      assert.equal(got.basis, r.want.basis);
      if (r.want.quotaWindow !== undefined) assert.equal(got.quotaWindow, r.want.quotaWindow);
      if (r.want.resetAtMs !== undefined) assert.equal(got.resetAtMs, r.want.resetAtMs);
    });
  }

  test('retry-after-ms gives a quota error its reset when the body names none', () => {
    const now = Date.UTC(2026, 6, 8, 10, 0, 0);
    const body = JSON.stringify({ error: { code: '1310', message: 'Weekly/Monthly Limit Exhausted.' } });
    const got = withHeaderReset(classifyZaiError(429, body), 504_641_000, now);
    assert.equal(got.resetAtMs, now + 504_641_000);
    // Only quota errors take it: for a 1302 the header is a retry hint, not a reset.
    const c = withHeaderReset(classifyZaiError(429, openaiBody('1302', 'x')), 5000, now);
    assert.equal(c.resetAtMs, null);
    // A reset from the body is never replaced.
    const withStamp = classifyZaiError(
      429,
      openaiBody('1310', CODE_TEXTS.find((t) => t.code === '1310')!.en),
    );
    assert.equal(withHeaderReset(withStamp, 1000, now), withStamp);
  });
});

test('docs/errors.md has a row for every known code and every class', () => {
  const md = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
  for (const code of ZAI_CODES.keys()) assert.ok(md.includes(`\`${code}\``), `code ${code} documented`);
  for (const cls of CLASSES) assert.ok(md.includes(`| \`${cls}\` |`), `class ${cls} has a table row`);
});

describe('properties (fast-check, fixed seed)', () => {
  const anyBody = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.json({ maxDepth: 4 }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ error: v })),
    fc
      .record({
        code: fc.oneof(fc.constantFrom(...ZAI_CODES.keys()), fc.string({ maxLength: 10 }), fc.integer()),
        message: fc.string({ unit: 'grapheme', maxLength: 200 }),
        reset_time: fc.oneof(fc.string({ maxLength: 30 }), fc.double(), fc.integer()),
        retry_after: fc.oneof(fc.string({ maxLength: 10 }), fc.double()),
      })
      .map((e) => JSON.stringify({ type: 'error', error: e })),
  );
  const status = fc.constantFrom(400, 401, 403, 404, 429, 500, 503, 529);

  test('never throws; the class is from the closed set; fields stay in their bounds', () => {
    fc.assert(
      fc.property(status, anyBody, (s, body) => {
        const got = classifyZaiError(s, body);
        assert.ok(CLASSES.includes(got.class));
        assert.ok(got.code === null || /^[0-9]{1,8}$/.test(got.code));
        assert.ok(got.resetAtMs === null || (got.resetAtMs >= 1e12 && got.resetAtMs <= 2e13));
        assert.ok(got.retryAfterSec === null || (got.retryAfterSec > 0 && got.retryAfterSec <= 604800));
        assert.ok(got.quotaWindow === null || got.class === 'quota');
      }),
      PROPS,
    );
  });

  test('every truncation and every single-byte corruption of a corpus body is classified without throwing', () => {
    const bodies = CODE_TEXTS.flatMap((t) => [
      openaiBody(t.code, t.zh),
      anthropicBody(t.status, t.code, t.en),
    ]);
    fc.assert(
      fc.property(fc.constantFrom(...bodies), fc.nat(), fc.nat(255), (body, at, byte) => {
        const buf = Buffer.from(body);
        const i = at % buf.length;
        classifyZaiError(429, buf.subarray(0, i));
        const bent = Buffer.from(buf);
        bent[i] = byte;
        assert.ok(CLASSES.includes(classifyZaiError(429, bent).class));
      }),
      PROPS,
    );
  });

  test('a known code field always wins over any wording, in both envelopes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CODE_TEXTS),
        fc.constantFrom(...CODE_TEXTS),
        fc.string({ maxLength: 50 }),
        (t, other, noise) => {
          // Another code's wording, with noise around it, cannot move the class off the code.
          const msg = `${noise}${other.en} ${other.zh}`;
          assert.equal(classifyZaiError(t.status, openaiBody(t.code, msg)).class, t.class);
          assert.equal(classifyZaiError(t.status, anthropicBody(t.status, t.code, msg)).class, t.class);
        },
      ),
      PROPS,
    );
  });

  test('keeps no provider text: a marker in the message never appears in the result', () => {
    fc.assert(
      fc.property(fc.constantFrom(...CODE_TEXTS), fc.stringMatching(/^[a-z]{8,16}$/), (t, marker) => {
        const got = classifyZaiError(t.status, openaiBody(t.code, `${marker} ${t.en} ${marker}`));
        assert.ok(!JSON.stringify(got).includes(marker));
      }),
      PROPS,
    );
  });

  test('bounded work: adversarial bodies at the full budget are classified (linear scans only)', () => {
    const n = DEFAULT_ZAI_ERROR_BODY_BYTES - 64;
    const adversarial = [
      `{"error":{"message":"${'a'.repeat(n)}"}}`, // one huge message: only its head is matched
      `{"error":{"message":"${'5 '.repeat(n / 2)}"}}`, // many near-matches for the wording rules
      `{"x":${'['.repeat(n / 2)}${']'.repeat(n / 2)}}`, // deep nesting: the walk is iterative
      `[${'1'.repeat(n)}`, // bare text that opens like a bracketed code
      `${'9999-99-99 99:99:99 '.repeat(n / 20)}`, // near-stamps in bare text
      `{"error":{"message":"${'\\u5e76'.repeat(n / 6)}"}}`, // escaped CJK
    ];
    for (const body of adversarial) {
      assert.ok(Buffer.byteLength(body) <= DEFAULT_ZAI_ERROR_BODY_BYTES);
      assert.ok(CLASSES.includes(classifyZaiError(429, body).class));
    }
  });
});
