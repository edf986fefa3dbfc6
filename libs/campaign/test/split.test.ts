import fc from 'fast-check';
import { splitByWeights, splitEvenly } from '../src';
import { sum } from './fixtures';

/** floor(total * w_i / W) in exact integer arithmetic, leftover one each to the earliest. */
function exactIntegerWeightSplit(total: number, weights: readonly number[]): number[] {
  const weightSum = weights.reduce((acc, w) => acc + BigInt(w), 0n);
  const shares = weights.map((w) => (BigInt(total) * BigInt(w)) / weightSum);
  const leftover = BigInt(total) - shares.reduce((acc, s) => acc + s, 0n);
  return shares.map((share, i) => Number(BigInt(i) < leftover ? share + 1n : share));
}

describe('splitEvenly', () => {
  it('gives the remainder to the lowest indexes', () => {
    expect(splitEvenly(10, 3)).toEqual([4, 3, 3]);
    expect(splitEvenly(11, 3)).toEqual([4, 4, 3]);
    expect(splitEvenly(2, 5)).toEqual([1, 1, 0, 0, 0]);
    expect(splitEvenly(0, 2)).toEqual([0, 0]);
    expect(splitEvenly(Number.MAX_SAFE_INTEGER, 1)).toEqual([Number.MAX_SAFE_INTEGER]);
  });

  it('refuses non-integers, negatives and parts < 1', () => {
    for (const [total, parts] of [
      [-1, 2],
      [1.5, 2],
      [Number.NaN, 2],
      [Number.MAX_SAFE_INTEGER + 1, 2],
      [10, 0],
      [10, -1],
      [10, 1.5],
      [10, Number.POSITIVE_INFINITY],
    ] as const) {
      expect(() => splitEvenly(total, parts)).toThrow(RangeError);
    }
  });

  it('sums exactly, parts differ by at most 1, larger parts first', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: 2_000 }),
        (total, parts) => {
          const split = splitEvenly(total, parts);
          expect(split).toHaveLength(parts);
          expect(sum(split)).toBe(total);
          const low = Math.floor(total / parts);
          // plain checks in the loop: one expect per part makes this test take seconds
          const misfits = split.filter(
            (part, i) => (part !== low && part !== low + 1) || (i > 0 && part > split[i - 1]!),
          );
          expect(misfits).toEqual([]);
        },
      ),
    );
  });

  it('splits any released amount over 1..1024 shards exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: 1024 }),
        (released, shards) => {
          const perShard = splitEvenly(released, shards);
          expect(sum(perShard)).toBe(released);
          expect(Math.max(...perShard) - Math.min(...perShard)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});

describe('splitByWeights', () => {
  it('splits in proportion, leftover to the earliest', () => {
    expect(splitByWeights(100, [1, 3])).toEqual([25, 75]);
    expect(splitByWeights(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(splitByWeights(10, [1, 2])).toEqual([4, 6]); // 3.33 -> 3 + 1 leftover, 6.67 -> 6
    expect(splitByWeights(3, [0.1, 0.2])).toEqual([1, 2]);
    expect(splitByWeights(5, [2.5])).toEqual([5]);
  });

  it('sums exactly even when float division would not', () => {
    // 0.1 + 0.2 + 0.7 is 1.0000000000000002 in floats; shares taken by float division drift.
    const weights = [0.1, 0.2, 0.7];
    for (const total of [10, 1_000_000_007, Number.MAX_SAFE_INTEGER]) {
      expect(sum(splitByWeights(total, weights))).toBe(total);
    }
    expect(sum(splitByWeights(1e15, [1e300, 1e-300, 5e-324]))).toBe(1e15);
    expect(splitByWeights(1e15, [1e300, 1e-300, 5e-324])).toEqual([1e15, 0, 0]);
  });

  it('refuses bad totals and bad weights', () => {
    expect(() => splitByWeights(-1, [1])).toThrow(RangeError);
    expect(() => splitByWeights(0.5, [1])).toThrow(RangeError);
    expect(() => splitByWeights(Number.MAX_SAFE_INTEGER + 1, [1])).toThrow(RangeError);
    for (const weights of [[], [0], [-1], [1, Number.NaN], [Number.POSITIVE_INFINITY]]) {
      expect(() => splitByWeights(10, weights)).toThrow(RangeError);
    }
  });

  it('matches exact integer arithmetic for integer weights', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.array(fc.integer({ min: 1, max: 1_000_000 }), { minLength: 1, maxLength: 60 }),
        (total, weights) => {
          expect(splitByWeights(total, weights)).toEqual(exactIntegerWeightSplit(total, weights));
        },
      ),
    );
  });

  it('sums exactly and stays within 1 of the exact share for any positive weights', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e12 }),
        fc.array(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 60 }),
        (total, weights) => {
          const split = splitByWeights(total, weights);
          expect(sum(split)).toBe(total);
          const weightSum = sum(weights);
          split.forEach((part, i) => {
            expect(Number.isSafeInteger(part) && part >= 0).toBe(true);
            // exact share in [part - 1, part + 1), with float slack for the check itself
            const share = (total * weights[i]!) / weightSum;
            expect(Math.abs(part - share)).toBeLessThanOrEqual(1 + 1e-6 * Math.max(1, share));
          });
        },
      ),
    );
  });

  it('with equal weights is splitEvenly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.integer({ min: 1, max: 500 }),
        fc.double({ min: 1e-9, max: 1e9, noNaN: true }),
        (total, parts, weight) => {
          expect(splitByWeights(total, Array(parts).fill(weight))).toEqual(
            splitEvenly(total, parts),
          );
        },
      ),
    );
  });
});
