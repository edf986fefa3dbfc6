import fc from 'fast-check';
import { splitEvenly } from '@coupons/campaign';
import { shardOfUser } from '@coupons/budget-ledger';
import {
  DAY_MS,
  mapUsersToShards,
  simulateStranding,
  type ArrivalProfile,
  type Popularity,
  type RebalanceRule,
  type StrandingEvent,
  type StrandingOptions,
  type StrandingReport,
} from '../src/stranding/stranding';

const FLASH_SLICE: ArrivalProfile = { kind: 'flash-slice', share: 0.8, withinMs: 300_000 };
const FLASH_DAY: ArrivalProfile = { kind: 'flash-day', share: 0.8, withinMs: 3 * 3_600_000 };
const ON_SOLD_OUT: RebalanceRule = {
  kind: 'on-sold-out',
  maxCoupons: 50,
  cooldownMs: 1_000,
  latencyMs: 100,
  lowWaterCoupons: 2,
};
const PERIODIC: RebalanceRule = { kind: 'periodic', everyMs: 60_000, latencyMs: 100 };

interface Replayed {
  report: StrandingReport;
  events: number;
}

/**
 * Runs the simulation and replays its trace against a model built here from the release schedule
 * alone: every issue within the shard's cap and the day's release, every sold-out refusal on a
 * shard that really had nothing, every debit taken from budget the source really had, coupons
 * conserved; and the report's figures recomputed from the events.
 */
function simulateAndReplay(opts: StrandingOptions): Replayed {
  const { users, shards, trancheCoupons, slicesPerDay } = opts;
  const userShards = opts.userShards ?? mapUsersToShards(users, shards, shardOfUser);
  const perUserDaily = opts.perUserDaily ?? 3;
  const sliceCoupons = splitEvenly(trancheCoupons, slicesPerDay);
  const lastSliceAt = Math.floor(((slicesPerDay - 1) * DAY_MS) / slicesPerDay);
  const cap = new Array<number>(shards).fill(0); // even share of the release + net transfers
  const evenShare = new Array<number>(shards).fill(0);
  const issued = new Array<number>(shards).fill(0);
  const daily = new Array<number>(users).fill(0);
  const soldOutInLastSlice = new Array<number>(shards).fill(0);
  let released = 0;
  let slices = 0;
  let inTransit = 0;
  const inTransitTo = new Array<number>(shards).fill(0);
  let lastAt = 0;
  let refusedWhileBudgetElsewhere = 0;
  let maxStranded = 0;
  let events = 0;
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const unspent = (s: number) => cap[s]! - issued[s]!;

  // Plain checks, not expect(): this runs for every event.
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`${what} at event ${events}`);
  };
  const onEvent = (event: StrandingEvent) => {
    events += 1;
    check(event.atMs >= lastAt, 'time goes backwards');
    check(event.atMs < DAY_MS, 'after the day');
    lastAt = event.atMs;
    switch (event.kind) {
      case 'release': {
        check(event.slice === slices, 'slice out of order');
        check(
          event.atMs === Math.floor((slices * DAY_MS) / slicesPerDay),
          'release at the wrong time',
        );
        released += sliceCoupons[slices]!;
        slices += 1;
        check(event.releasedCoupons === released, 'wrong release');
        const share = splitEvenly(released, shards);
        share.forEach((c, s) => {
          cap[s]! += c - evenShare[s]!;
          evenShare[s] = c;
        });
        break;
      }
      case 'issue':
        check(event.shard === userShards[event.user], 'user on the wrong shard');
        check(daily[event.user]! < perUserDaily, 'user over the daily limit');
        daily[event.user]! += 1;
        issued[event.shard]! += 1;
        check(issued[event.shard]! <= cap[event.shard]!, 'shard over its cap');
        check(sum(issued) <= released, 'over the release');
        break;
      case 'refuse':
        check(event.shard === userShards[event.user], 'user on the wrong shard');
        if (event.reason === 'user-limit') {
          check(daily[event.user] === perUserDaily, 'limit refusal under the limit');
        } else {
          check(daily[event.user]! < perUserDaily, 'user over the daily limit');
          check(unspent(event.shard) === 0, 'sold out with budget left');
          let elsewhere = 0;
          for (let s = 0; s < shards; s += 1) if (s !== event.shard) elsewhere += unspent(s);
          if (elsewhere > 0) refusedWhileBudgetElsewhere += 1;
          maxStranded = Math.max(maxStranded, elsewhere);
          if (event.atMs >= lastSliceAt) soldOutInLastSlice[event.shard]! += 1;
        }
        break;
      case 'debit':
        check(event.coupons > 0, 'empty transfer');
        check(unspent(event.shard) >= event.coupons, 'debit beyond unspent');
        cap[event.shard]! -= event.coupons;
        inTransit += event.coupons;
        inTransitTo[event.target]! += event.coupons;
        break;
      case 'credit':
        check(inTransitTo[event.shard]! >= event.coupons, 'credit never debited');
        inTransit -= event.coupons;
        inTransitTo[event.shard]! -= event.coupons;
        cap[event.shard]! += event.coupons;
        break;
    }
    // Conservation: the shards' caps plus what is in transit are exactly the release.
    check(sum(cap) + inTransit === released, 'coupons created or lost');
  };

  const report = simulateStranding({ ...opts, trace: onEvent });

  expect(released).toBe(trancheCoupons);
  expect(report.issuedCoupons).toBe(sum(issued));
  expect(report.unissuedAtEnd).toBe(trancheCoupons - sum(issued));
  expect(report.refusedWhileBudgetElsewhere).toBe(refusedWhileBudgetElsewhere);
  expect(report.maxStrandedWhileRefusingCoupons).toBe(maxStranded);
  expect(report.rebalance.inTransitAtEnd).toBe(inTransit);
  report.shards.forEach((shard, s) => {
    expect(shard.issuedCoupons).toBe(issued[s]);
    expect(shard.releasedCoupons).toBe(cap[s]);
    expect(shard.soldOutInLastSlice).toBe(soldOutInLastSlice[s]);
  });
  // strandedAtEnd from the definition: what is left on shards (in transit to them included)
  // while another shard refused a user for sold-out in the last slice.
  let stranded = 0;
  for (let s = 0; s < shards; s += 1) {
    if (soldOutInLastSlice.some((n, other) => other !== s && n > 0)) {
      stranded += unspent(s) + inTransitTo[s]!;
    }
  }
  expect(report.strandedAtEndCoupons).toBe(stranded);
  expect(report.strandedAtEnd).toBeCloseTo(report.strandedAtEndCoupons / trancheCoupons, 12);
  return { report, events };
}

const base = { users: 2_000, shards: 4, trancheCoupons: 1_000, slicesPerDay: 6, seed: 1 };

/** 90% of users pinned to shard 0, the rest spread over the others: a mapping gone wrong. */
const skewed = (users: number, shards: number) =>
  Array.from({ length: users }, (_, n) => (n % 10 < 9 ? 0 : 1 + (n % (shards - 1))));

describe('simulateStranding', () => {
  it('strands nothing with one shard, though it sells out', () => {
    for (const arrival of [{ kind: 'uniform' } as const, FLASH_SLICE, FLASH_DAY]) {
      const { report } = simulateAndReplay({ ...base, shards: 1, demandFactor: 3, arrival });
      expect(report.refusedSoldOut).toBeGreaterThan(100);
      if (arrival.kind !== 'flash-day') expect(report.issuedCoupons).toBe(base.trancheCoupons);
      expect(report.refusedWhileBudgetElsewhere).toBe(0);
      expect(report.maxStrandedWhileRefusing).toBe(0);
      expect(report.strandedAtEnd).toBe(0);
    }
  });

  it.each([
    ['uniform, no rebalance', { kind: 'uniform' } as ArrivalProfile, undefined],
    ['flash-slice, on-sold-out', FLASH_SLICE, ON_SOLD_OUT],
    ['flash-day, periodic', FLASH_DAY, PERIODIC],
    [
      'uniform, on-sold-out without low water',
      { kind: 'uniform' } as ArrivalProfile,
      {
        kind: 'on-sold-out',
        maxCoupons: 1_000,
        cooldownMs: 0,
        latencyMs: 0,
      } as RebalanceRule,
    ],
  ])('never issues more than released, per shard or in total (%s)', (_, arrival, rebalance) => {
    for (const demandFactor of [0.9, 1.1, 4]) {
      const { report, events } = simulateAndReplay({
        ...base,
        demandFactor,
        arrival,
        userShards: skewed(base.users, base.shards),
        ...(rebalance ? { rebalance } : {}),
      });
      expect(events).toBeGreaterThan(report.attempts);
      expect(report.issuedCoupons).toBeLessThanOrEqual(base.trancheCoupons);
      if (rebalance) expect(report.rebalance.transfers).toBeGreaterThan(0);
    }
  });

  it('keeps every invariant for any small configuration', () => {
    const arrival = fc.oneof(
      fc.constant<ArrivalProfile>({ kind: 'uniform' }),
      fc.record({
        kind: fc.constantFrom('flash-slice' as const, 'flash-day' as const),
        share: fc.double({ min: 0, max: 1, noNaN: true }),
        withinMs: fc.integer({ min: 1, max: DAY_MS }),
      }),
    );
    const rebalance = fc.option(
      fc.oneof(
        fc.record({
          kind: fc.constant('on-sold-out' as const),
          maxCoupons: fc.integer({ min: 1, max: 100 }),
          cooldownMs: fc.integer({ min: 0, max: 600_000 }),
          latencyMs: fc.integer({ min: 0, max: 600_000 }),
          lowWaterCoupons: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
        }),
        fc.record({
          kind: fc.constant('periodic' as const),
          everyMs: fc.integer({ min: 10_000, max: DAY_MS }),
          latencyMs: fc.integer({ min: 0, max: 600_000 }),
        }),
      ),
      { nil: undefined },
    );
    const config = fc
      .record({
        users: fc.integer({ min: 1, max: 200 }),
        shards: fc.integer({ min: 1, max: 6 }),
        trancheCoupons: fc.integer({ min: 1, max: 400 }),
        slicesPerDay: fc.integer({ min: 1, max: 30 }),
        demandFactor: fc.double({ min: 0, max: 6, noNaN: true }),
        seed: fc.integer(),
        arrival,
        rebalance,
        mapSeed: fc.integer({ min: 0, max: 1_000 }),
        perUserDaily: fc.integer({ min: 1, max: 4 }),
        popularity: fc.oneof(
          fc.constant<Popularity>({ kind: 'uniform' }),
          fc.record({
            kind: fc.constant('zipf' as const),
            exponent: fc.double({ min: 0, max: 3, noNaN: true }),
          }),
        ),
      })
      .map(({ mapSeed, rebalance: rule, ...opts }) => ({
        ...opts,
        ...(rule ? { rebalance: rule as RebalanceRule } : {}),
        // Any mapping, lopsided ones included.
        userShards: Array.from(
          { length: opts.users },
          (_, n) => ((n * mapSeed) >> 3) % opts.shards,
        ),
      }));
    fc.assert(
      fc.property(config, (opts) => {
        simulateAndReplay(opts);
      }),
      { numRuns: 60 },
    );
  });

  it('is deterministic for a seed, and the seed matters', () => {
    const opts = { ...base, demandFactor: 1.2, arrival: FLASH_SLICE, rebalance: ON_SOLD_OUT };
    const first = simulateStranding(opts);
    expect(simulateStranding(opts)).toEqual(first);
    expect(simulateStranding({ ...opts, seed: 2 })).not.toEqual(first);
  });

  it('draws popular users more often under zipf popularity', () => {
    const opts = { ...base, demandFactor: 2 };
    const uniform = simulateAndReplay(opts).report;
    const zipf = simulateAndReplay({ ...opts, popularity: { kind: 'zipf', exponent: 1.2 } }).report;
    // The same attempts fall on fewer people, so many more hit the daily limit of 3.
    expect(uniform.refusedUserLimit).toBeLessThan(100);
    expect(zipf.refusedUserLimit).toBeGreaterThan(500);
  });

  it('uses the real shard mapping by default', () => {
    const opts = { ...base, demandFactor: 1.5 };
    const real = Array.from({ length: base.users }, (_, n) => shardOfUser(`user-${n}`, 4));
    expect(simulateStranding(opts)).toEqual(simulateStranding({ ...opts, userShards: real }));
    const users = real.reduce(
      (counts, s) => counts.map((c, i) => c + (i === s ? 1 : 0)),
      [0, 0, 0, 0],
    );
    expect(simulateStranding(opts).shards.map((s) => s.users)).toEqual(users);
  });

  it('reports large stranding for a skewed mapping, and rebalancing removes it', () => {
    const opts = { ...base, demandFactor: 1.5, userShards: skewed(base.users, base.shards) };
    const { report } = simulateAndReplay(opts);
    // Shard 0 has 90% of the demand and 25% of the budget; shards 1-3 cannot spend theirs.
    const leftOnOthers = report.shards
      .slice(1)
      .reduce((sum, s) => sum + s.releasedCoupons - s.issuedCoupons, 0);
    expect(report.shards[0]!.soldOutInLastSlice).toBeGreaterThan(0);
    expect(report.strandedAtEndCoupons).toBe(leftOnOthers);
    expect(report.strandedAtEnd).toBeGreaterThan(0.5);
    expect(report.maxStrandedWhileRefusing).toBeGreaterThan(0.5);
    expect(report.refusedWhileBudgetElsewhere).toBeGreaterThan(500);

    const even = simulateAndReplay({ ...opts, userShards: undefined }).report;
    expect(even.strandedAtEnd).toBeLessThan(0.05);

    const rebalanced = simulateAndReplay({ ...opts, rebalance: ON_SOLD_OUT }).report;
    expect(rebalanced.strandedAtEnd).toBeLessThan(0.01);
    expect(rebalanced.issuedCoupons).toBeGreaterThan(report.issuedCoupons + 500);
  });

  it('counts coupons still in transit at the end of the day on their target', () => {
    // Shards 0 and 1 each carry 45% of the users and both refuse in the last slice; a transfer
    // takes 3 h, so the ones started in the last slice are still in transit at midnight.
    const userShards = Array.from({ length: base.users }, (_, n) =>
      n % 20 < 9 ? 0 : n % 20 < 18 ? 1 : 2 + (n % 2),
    );
    const rebalance: RebalanceRule = { ...ON_SOLD_OUT, latencyMs: 3 * 3_600_000 };
    const { report } = simulateAndReplay({ ...base, demandFactor: 2, userShards, rebalance });
    expect(report.shards[0]!.soldOutInLastSlice).toBeGreaterThan(0);
    expect(report.shards[1]!.soldOutInLastSlice).toBeGreaterThan(0);
    expect(report.rebalance.inTransitAtEnd).toBeGreaterThan(0);
    const onShards = report.shards.reduce((sum, s) => sum + s.releasedCoupons - s.issuedCoupons, 0);
    expect(report.strandedAtEndCoupons).toBe(onShards + report.rebalance.inTransitAtEnd);
  });

  it('rejects options it cannot simulate', () => {
    const opts = { ...base, demandFactor: 1 };
    expect(() => simulateStranding({ ...opts, shards: 0 })).toThrow(RangeError);
    expect(() => simulateStranding({ ...opts, demandFactor: -1 })).toThrow(RangeError);
    expect(() => simulateStranding({ ...opts, userShards: [0] })).toThrow(RangeError);
    expect(() =>
      simulateStranding({ ...opts, userShards: new Array<number>(base.users).fill(4) }),
    ).toThrow(RangeError);
  });
});
