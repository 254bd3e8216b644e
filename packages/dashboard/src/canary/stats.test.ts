// Reference values computed with scipy 1.17: norm.sf, gammaincc, mannwhitneyu(cand, base,
// alternative='greater', method='asymptotic', use_continuity=True) on the expanded samples, and
// chi2_contingency(..., correction=False).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chiSquareHomogeneity, gammaQ, mannWhitneyBuckets, normalSf, twoProportionZ } from './stats.ts';

const close = (actual: number, expected: number, rel = 1e-9) =>
  assert.ok(
    Math.abs(actual - expected) <= rel * Math.abs(expected) + 1e-300,
    `${actual} is not within ${rel} of ${expected}`,
  );

describe('normal and gamma tails', () => {
  test('normalSf matches scipy.stats.norm.sf from −3 to 10', () => {
    const ref: [number, number][] = [
      [-3, 0.9986501019683699],
      [0, 0.5],
      [0.5, 0.3085375387259869],
      [1.96, 0.024997895148220435],
      [3, 0.0013498980316300933],
      [5, 2.866515718791933e-7],
      [8, 6.22096057427174e-16],
      [10, 7.61985302416047e-24],
    ];
    for (const [z, p] of ref) close(normalSf(z), p, 1e-12);
  });
  test('gammaQ matches scipy.special.gammaincc', () => {
    close(gammaQ(1.5, 2), 0.26146412994911117, 1e-12);
    close(gammaQ(3, 10), 0.0027693957155115775, 1e-12);
    close(gammaQ(0.5, 0.1), 0.6547208460185768, 1e-12);
  });
});

describe('twoProportionZ (one-sided, candidate worse)', () => {
  const ref: [number, number, number, number, number, number][] = [
    // xCand, nCand, xBase, nBase, z, p
    [12, 200, 4, 200, 2.041241452319315, 0.020613416668581908],
    [6, 200, 0, 200, 2.468070209369181, 0.00679218363135571],
    [3, 100, 3, 100, 0, 0.5],
    [40, 60, 1, 400, 16.836920924067744, 6.543571954199506e-64],
    [1, 50, 5, 50, -1.6843038421330379, 0.9539385183711736],
  ];
  for (const [x1, n1, x2, n2, z, p] of ref) {
    test(`${x1}/${n1} vs ${x2}/${n2}`, () => {
      const r = twoProportionZ(x1, n1, x2, n2);
      close(r.statistic, z, 1e-9);
      close(r.pValue, p, 1e-8);
    });
  }
  test('no errors on either side is no evidence (p = 1), not NaN', () => {
    assert.deepEqual(twoProportionZ(0, 80, 0, 120), { statistic: 0, pValue: 1 });
  });
});

describe('mannWhitneyBuckets', () => {
  const ref: [number[], number[], number, number][] = [
    [[0, 5, 20, 30, 10, 3, 0], [0, 8, 25, 20, 5, 1, 0], 2450.5, 0.011519953454947503],
    [[3, 10, 40, 30, 12, 5, 0], [3, 10, 40, 30, 12, 5, 0], 5000, 0.5005120050662895],
    [[0, 0, 1, 2, 50, 40, 7], [10, 30, 40, 15, 5, 0, 0], 9810, 1.703613426045137e-33],
    [[1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1], 0, 0.9772498680518208],
    [[120, 40, 10, 5, 2, 1, 0, 0], [130, 38, 9, 4, 1, 0, 0, 0], 16925, 0.1815547236413086],
  ];
  for (const [c, b, u, p] of ref) {
    test(`U and p match scipy for ${JSON.stringify(c)} vs ${JSON.stringify(b)}`, () => {
      const r = mannWhitneyBuckets(c, b);
      assert.equal(r.u, u);
      close(r.pValue, p, 1e-9);
      close(r.effect, u / (r.nCand * r.nBase), 1e-12);
    });
  }
  test('everything in one bucket: no variance, p = 1, effect ½', () => {
    const r = mannWhitneyBuckets([0, 9, 0], [0, 4, 0]);
    assert.equal(r.pValue, 1);
    assert.equal(r.effect, 0.5);
  });
  test('an empty side is NaN (the caller reports it as inconclusive)', () => {
    assert.ok(Number.isNaN(mannWhitneyBuckets([0, 0], [1, 2]).pValue));
  });
  test('different bucket layouts are refused', () => {
    assert.throws(() => mannWhitneyBuckets([1, 2], [1, 2, 3]), RangeError);
  });
});

describe('chiSquareHomogeneity', () => {
  test('matches scipy chi2_contingency without Yates correction', () => {
    let r = chiSquareHomogeneity([5, 3, 2], [10, 1, 1]);
    close(r.statistic, 2.841666666666667, 1e-12);
    close(r.pValue, 0.2415126724547917, 1e-10);
    assert.equal(r.df, 2);
    r = chiSquareHomogeneity([30, 10, 0, 5], [28, 12, 1, 4]);
    close(r.statistic, 1.3618948101706723, 1e-12);
    close(r.pValue, 0.714490594503338, 1e-10);
    r = chiSquareHomogeneity([50, 0], [0, 50]);
    close(r.pValue, 1.5239706048320995e-23, 1e-8);
    close(r.effect, 1, 1e-12);
  });
  test('a class seen by nobody is dropped; one class left means no test', () => {
    assert.equal(chiSquareHomogeneity([4, 0], [7, 0]).pValue, 1);
  });
});
