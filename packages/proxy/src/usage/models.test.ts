import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { foldModel, KNOWN_GLM_MODELS, modelLabels } from './models.ts';

describe('foldModel', () => {
  it('keeps known GLM names, lower-cased and trimmed', () => {
    for (const m of [
      'glm-4',
      'glm-4-plus',
      'glm-4-air',
      'glm-4-flash',
      'glm-4.5',
      'glm-4.5-air',
      'glm-4.5-flash',
    ]) {
      assert.equal(foldModel(m), m);
    }
    for (const m of ['glm-4.5v', 'glm-4.6', 'glm-4.6v', 'glm-4.7', 'glm-5']) assert.equal(foldModel(m), m);
    // the coding-plan models whose quota multipliers differ (plan-units.ts)
    for (const m of ['glm-5.1', 'glm-5-turbo', 'glm-5.2', 'glm-5.3']) assert.equal(foldModel(m), m);
    assert.equal(foldModel('  GLM-4.6 '), 'glm-4.6');
    assert.equal(foldModel('z-ai/glm-4.6'), 'glm-4.6');
    assert.equal(foldModel('zai/GLM-4.5-Air'), 'glm-4.5-air');
  });

  it('folds Claude names to their family', () => {
    const cases: [string, string][] = [
      ['claude-opus-4-1-20250805', 'claude-opus'],
      ['claude-opus-4-5', 'claude-opus'],
      ['claude-sonnet-4-5-20250929', 'claude-sonnet'],
      ['claude-sonnet-4-20250514[1m]', 'claude-sonnet'],
      ['Claude-Haiku-4-5', 'claude-haiku'],
      ['claude-haiku-4-5@20251001', 'claude-haiku'],
      ['claude-3-5-sonnet-20241022', 'claude-sonnet'],
      ['claude-3-7-sonnet-latest', 'claude-sonnet'],
      ['claude-3-opus-20240229', 'claude-opus'],
      ['claude-3-haiku-20240307', 'claude-haiku'],
      ['claude-3.5-haiku', 'claude-haiku'],
      ['anthropic/claude-sonnet-4.5', 'claude-sonnet'],
      ['claude-sonnet', 'claude-sonnet'],
    ];
    for (const [raw, want] of cases) assert.equal(foldModel(raw), want, raw);
  });

  it('folds everything else to other', () => {
    for (const raw of [
      null,
      undefined,
      '',
      '   ',
      'gpt-4o',
      'glm-4.6-turbo-x',
      'glm-99',
      'claude-2.1',
      'claude-instant-1',
      'claude-sonnetx',
    ]) {
      assert.equal(foldModel(raw), 'other', String(raw));
    }
    assert.equal(foldModel(`glm-4.6${' '.repeat(500)}`), 'other');
  });

  it('returns only labels from the bounded set', () => {
    const labels = new Set(modelLabels());
    assert.equal(labels.size, KNOWN_GLM_MODELS.size + 4);
    for (const raw of ['glm-4.6', 'claude-3-opus', 'whatever', 'claude-haiku-9'])
      assert.ok(labels.has(foldModel(raw)));
  });
});
