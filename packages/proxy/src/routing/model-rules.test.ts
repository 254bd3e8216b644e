import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KNOWN_GLM_MODELS } from '../usage/index.ts';
import { firstMatch, globCovers, parseModelMap, parseStepDown, ruleWarnings } from './model-rules.ts';

const map = (text: string) => {
  const r = parseModelMap(text);
  assert.deepEqual(r.errors, [], 'no errors');
  return r.rules;
};
const route = (text: string, model: string) => {
  const rules = map(text);
  const i = firstMatch(rules, model);
  return i === -1 ? model : rules[i]!.target;
};

describe('MODEL_MAP rules', () => {
  test('first match wins, in the order written; an unmatched model stays', () => {
    const rules = 'claude-*haiku*=glm-4.5-air,claude-*=glm-4.6';
    assert.equal(route(rules, 'claude-haiku-4-5-20251001'), 'glm-4.5-air');
    assert.equal(route(rules, 'claude-3-5-haiku-latest'), 'glm-4.5-air');
    assert.equal(route(rules, 'claude-opus-4-8'), 'glm-4.6');
    assert.equal(route(rules, 'claude-sonnet-4-5-20250929'), 'glm-4.6');
    assert.equal(route(rules, 'glm-4.6'), 'glm-4.6');
    assert.equal(route(rules, 'gpt-4o'), 'gpt-4o');
    // Reversed, the broad rule would take haiku too: that order is refused as shadowed (below).
  });

  test('globs: * any run, ? one character, the whole string, any case; other characters literal', () => {
    assert.equal(route('claude-?-5*=glm-4.6', 'claude-3-5-sonnet'), 'glm-4.6');
    assert.equal(route('claude-?-5*=glm-4.6', 'claude-35-sonnet'), 'claude-35-sonnet');
    assert.equal(route('CLAUDE-OPUS*=glm-5', 'claude-opus-4-8'), 'glm-5');
    assert.equal(route('claude-opus=glm-5', 'claude-opus-4-8'), 'claude-opus-4-8', 'anchored at the end');
    assert.equal(route('a.b=glm-5', 'axb'), 'axb', '. is a dot');
    assert.equal(route('claude-sonnet-4-5[1m]=glm-4.6', 'claude-sonnet-4-5[1m]'), 'glm-4.6');
    assert.equal(route('claude(x)+=glm-4.6', 'claude(x)+'), 'glm-4.6');
  });

  test('spaces around rules and empty items are ignored; the rule text is kept as written', () => {
    const rules = map(' claude-*haiku* = glm-4.5-air , ,claude-*=glm-4.6,');
    assert.deepEqual(
      rules.map((r) => [r.text, r.pattern, r.target]),
      [
        ['claude-*haiku* = glm-4.5-air', 'claude-*haiku*', 'glm-4.5-air'],
        ['claude-*=glm-4.6', 'claude-*', 'glm-4.6'],
      ],
    );
    assert.deepEqual(parseModelMap('').rules, []);
  });

  test('syntax errors name the rule', () => {
    const cases: [string, RegExp][] = [
      ['claude-*', /rule "claude-\*": expected pattern=target/],
      ['=glm-4.6', /rule "=glm-4.6": the pattern must be/],
      ['claude-*=', /rule "claude-\*=": the target must be a model name/],
      ['claude-*=glm 4.6', /the target must be a model name .* not "glm 4.6"/],
      ['claude-*=glm-*', /the target must be a model name/],
      ['a b=glm-4.6', /rule "a b=glm-4.6": the pattern/],
    ];
    for (const [text, want] of cases) {
      const r = parseModelMap(text);
      assert.equal(r.errors.length, 1, text);
      assert.match(r.errors[0]!, want);
    }
  });

  test('a rule shadowed by an earlier one is an error naming both', () => {
    const r = parseModelMap('claude-*=glm-4.6,claude-*haiku*=glm-4.5-air');
    assert.deepEqual(r.errors, [
      'rule "claude-*haiku*=glm-4.5-air" never applies: rule "claude-*=glm-4.6" before it takes every request it would',
    ]);
    assert.equal(parseModelMap('glm-4.6=glm-5,GLM-4.6=glm-4.5').errors.length, 1, 'a repeat, in any case');
    assert.equal(parseModelMap('*=glm-4.6,claude-x=glm-5').errors.length, 1);
    assert.equal(parseModelMap('claude-?=glm-4.6,claude-x=glm-5').errors.length, 1);
    // Overlapping but not covering: both can apply.
    assert.deepEqual(parseModelMap('claude-*-4*=glm-4.6,claude-opus*=glm-5').errors, []);
    assert.deepEqual(parseModelMap('claude-?=glm-4.6,claude-*=glm-5').errors, []);
  });

  test('a cycle is an error naming its rules; a rule whose target it maps to itself is not', () => {
    assert.deepEqual(parseModelMap('glm-4.6=glm-4.5,glm-4.5=glm-4.6').errors, [
      'rules "glm-4.6=glm-4.5", "glm-4.5=glm-4.6" form a cycle (glm-4.5 → glm-4.6 → glm-4.5)',
    ]);
    assert.equal(parseModelMap('a=b,b=c,c=a').errors.length, 1, 'one error per cycle');
    assert.deepEqual(parseModelMap('glm-*=glm-4.6').errors, [], 'glm-4.6 maps to itself: a fixed point');
    assert.deepEqual(parseModelMap('claude-*=glm-4.6,glm-4.6=glm-4.7').errors, [], 'a chain is no cycle');
  });

  test('warnings: targets outside the known GLM models, and chains one pass does not follow', () => {
    const rules = map('claude-*=glm-9-ultra,gpt-*=glm-4.6,glm-4.6=glm-4.5-air');
    assert.deepEqual(ruleWarnings(rules, [], KNOWN_GLM_MODELS), [
      'MODEL_MAP rule "claude-*=glm-9-ultra": glm-9-ultra is not a known GLM model; it is sent as written and its tokens are labelled "other"',
      'MODEL_MAP rule "gpt-*=glm-4.6": its target also matches rule "glm-4.6=glm-4.5-air", which is not applied to it (one pass)',
    ]);
    assert.deepEqual(ruleWarnings(map('claude-*=GLM-4.6'), [], KNOWN_GLM_MODELS), []);
  });
});

describe('MODEL_STEP_DOWN rules', () => {
  test('conditions: peak, or a quota window above a used fraction', () => {
    const r = parseStepDown(
      'glm-4.6=glm-4.5-air@five_hour>0.9, glm-5=glm-4.6@weekly>.75 ,glm-4.7=glm-4.6@peak',
    );
    assert.deepEqual(r.errors, []);
    assert.deepEqual(
      r.rules.map((x) => [x.text, x.pattern, x.target, x.when]),
      [
        [
          'glm-4.6=glm-4.5-air@five_hour>0.9',
          'glm-4.6',
          'glm-4.5-air',
          { kind: 'quota', window: 'five_hour', above: 0.9 },
        ],
        ['glm-5=glm-4.6@weekly>.75', 'glm-5', 'glm-4.6', { kind: 'quota', window: 'weekly', above: 0.75 }],
        ['glm-4.7=glm-4.6@peak', 'glm-4.7', 'glm-4.6', { kind: 'peak' }],
      ],
    );
  });

  test('bad conditions are errors naming the rule', () => {
    const cases: [string, RegExp][] = [
      ['glm-4.6=glm-4.5-air', /rule "glm-4.6=glm-4.5-air": expected pattern=target@condition/],
      [
        'glm-4.6=glm-4.5-air@monthly>0.5',
        /condition "monthly>0.5": the window must be one of five_hour, weekly/,
      ],
      ['glm-4.6=glm-4.5-air@five_hour>1', /the fraction must be below 1/],
      ['glm-4.6=glm-4.5-air@five_hour>90%', /condition "five_hour>90%": expected peak, or/],
      ['glm-4.6=glm-4.5-air@offpeak', /condition "offpeak"/],
      ['glm-4.6=@peak', /the target must be a model name/],
    ];
    for (const [text, want] of cases) {
      const r = parseStepDown(text);
      assert.equal(r.errors.length, 1, text);
      assert.match(r.errors[0]!, want);
    }
  });

  test('shadowed: an earlier rule over the same models whose condition holds whenever the later one does', () => {
    const bad = [
      'glm-4.6=glm-4.5-air@five_hour>0.8,glm-4.6=glm-4.5-flash@five_hour>0.9',
      'glm-*=glm-4.5-air@peak,glm-4.6=glm-4.5-flash@peak',
      'glm-4.6=glm-4.5-air@weekly>0.5,glm-4.6=glm-4.5-flash@weekly>0.5',
    ];
    for (const text of bad) {
      const r = parseStepDown(text);
      assert.equal(r.errors.length, 1, text);
      assert.match(r.errors[0]!, /never applies: rule .* before it takes every request it would/);
    }
    const good = [
      'glm-4.6=glm-4.5-flash@five_hour>0.95,glm-4.6=glm-4.5-air@five_hour>0.8', // escalation
      'glm-4.6=glm-4.5-air@peak,glm-4.6=glm-4.5-air@five_hour>0.9',
      'glm-4.6=glm-4.5-air@five_hour>0.9,glm-4.6=glm-4.5-air@weekly>0.9',
    ];
    for (const text of good) assert.deepEqual(parseStepDown(text).errors, [], text);
  });

  test('a cycle under any conditions is an error', () => {
    const r = parseStepDown('glm-4.6=glm-4.5-air@five_hour>0.9,glm-4.5-air=glm-4.6@peak');
    assert.deepEqual(r.errors, [
      'rules "glm-4.6=glm-4.5-air@five_hour>0.9", "glm-4.5-air=glm-4.6@peak" form a cycle (glm-4.5-air → glm-4.6 → glm-4.5-air)',
    ]);
    assert.deepEqual(parseStepDown('glm-5=glm-4.6@peak,glm-4.6=glm-4.5-air@five_hour>0.9').errors, []);
  });
});

describe('globCovers', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'anything*?', true],
    ['claude-*', 'claude-*haiku*', true],
    ['claude-*haiku*', 'claude-*', false],
    ['claude-?', 'claude-x', true],
    ['claude-?', 'claude-*', false],
    ['claude-*', 'claude-?', true],
    ['*-4*', 'claude-opus-4-8', true],
    ['a*b', 'a*c', false],
    ['A*', 'abc', true],
  ];
  for (const [a, b, want] of cases) test(`${a} ⊇ ${b}: ${want}`, () => assert.equal(globCovers(a, b), want));
});
