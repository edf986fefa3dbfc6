import { shardOfUser, shareOf } from '../src';
import { splitEvenly } from '@coupons/campaign';
import fc from 'fast-check';

describe('shardOfUser', () => {
  it('is stable and in range', () => {
    expect(shardOfUser('user-42', 16)).toBe(shardOfUser('user-42', 16));
    fc.assert(
      fc.property(
        fc.string({ maxLength: 64 }),
        fc.integer({ min: 1, max: 1024 }),
        (userId, shards) => {
          const shard = shardOfUser(userId, shards);
          expect(Number.isInteger(shard) && shard >= 0 && shard < shards).toBe(true);
        },
      ),
    );
    expect(shardOfUser('anyone', 1)).toBe(0);
    expect(() => shardOfUser('x', 0)).toThrow(RangeError);
  });

  it('spreads users evenly: 160,000 users over 16 shards within 2% of the mean', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 160_000; i += 1) counts[shardOfUser(`user-${i}`, 16)]! += 1;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(200);
  });
});

describe('shareOf', () => {
  it('equals splitEvenly for every shard', () => {
    fc.assert(
      fc.property(fc.nat(1e12), fc.integer({ min: 1, max: 1024 }), (total, parts) => {
        const split = splitEvenly(total, parts);
        const index = total % parts;
        expect(shareOf(total, parts, index)).toBe(split[index]);
        expect(shareOf(total, parts, 0)).toBe(split[0]);
        expect(shareOf(total, parts, parts - 1)).toBe(split[parts - 1]);
      }),
    );
  });
});
