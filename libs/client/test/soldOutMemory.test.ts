import { SoldOutMemory } from '../src/soldOutMemory';
import { ManualClock, randoms } from './support';

const T0 = Date.parse('2026-02-10T15:30:00+08:00');
const RELEASE = '2026-02-10T16:00:00+08:00';
const DAY = 86_400_000;

/** A memory on a clock at T0, its draws all `r`: spread and horizon as given, else none and a day. */
function memoryAt(
  options: { spreadMs?: number; finalMs: number; horizonMs?: number },
  r = 0,
): { clock: ManualClock; memory: SoldOutMemory } {
  const clock = new ManualClock(T0);
  const memory = new SoldOutMemory({ spreadMs: 0, horizonMs: DAY, ...options }, clock, randoms(r));
  return { clock, memory };
}

describe('SoldOutMemory', () => {
  it('answers a sold-out campaign until the next release plus this client’s spread', () => {
    const { clock, memory } = memoryAt({ spreadMs: 60_000, finalMs: 60_000 }, 0.5);
    const entry = memory.learn('spring', { kind: 'sold_out', nextReleaseAt: RELEASE });
    expect(entry.untilMs).toBe(Date.parse(RELEASE) + 30_000);
    expect(memory.lookup('spring')?.reason).toEqual({ kind: 'sold_out', nextReleaseAt: RELEASE });
    expect(memory.lookup('autumn')).toBeUndefined();
    clock.advance(Date.parse(RELEASE) + 29_999 - T0);
    expect(memory.lookup('spring')).toBeDefined();
    clock.advance(1);
    expect(memory.lookup('spring')).toBeUndefined();
  });

  it('spreads clients over the spread: each draws its own', () => {
    const clock = new ManualClock(T0);
    const until = [0, 0.25, 0.999].map(
      (r) =>
        new SoldOutMemory(
          { spreadMs: 60_000, finalMs: 1, horizonMs: DAY },
          clock,
          randoms(r),
        ).learn('spring', {
          kind: 'sold_out',
          nextReleaseAt: RELEASE,
        }).untilMs - Date.parse(RELEASE),
    );
    expect(until).toEqual([0, 15_000, 59_940]);
  });

  it('remembers a campaign that has not started until its start', () => {
    const { memory } = memoryAt({ finalMs: 1 });
    memory.learn('spring', { kind: 'not_started', startsAt: RELEASE });
    expect(memory.lookup('spring')?.untilMs).toBe(Date.parse(RELEASE));
  });

  it('remembers final answers for finalMs only', () => {
    const { clock, memory } = memoryAt({ finalMs: 5_000 });
    memory.learn('a', { kind: 'ended' });
    memory.learn('b', { kind: 'budget_exhausted' });
    clock.advance(4_999);
    expect(Object.keys(memory.snapshot()).sort()).toEqual(['a', 'b']);
    clock.advance(1);
    expect(memory.snapshot()).toEqual({});
  });

  it('forgets a campaign when told (a fresh coupon was issued)', () => {
    const { memory } = memoryAt({ finalMs: 1 });
    memory.learn('spring', { kind: 'sold_out', nextReleaseAt: RELEASE });
    memory.forget('spring');
    expect(memory.lookup('spring')).toBeUndefined();
  });

  it('keeps no entry for a moment it cannot read', () => {
    const { memory } = memoryAt({ finalMs: 1 });
    memory.learn('spring', { kind: 'sold_out', nextReleaseAt: 'soon' });
    expect(memory.lookup('spring')).toBeUndefined();
  });

  it('holds no campaign past its horizon, whatever moment the service named', () => {
    const { clock, memory } = memoryAt({ spreadMs: 60_000, finalMs: DAY * 2 }, 0.5);
    // A far release, a start years ahead, a final answer kept for two days: a day at most.
    memory.learn('far', { kind: 'sold_out', nextReleaseAt: '2031-02-10T16:00:00+08:00' });
    memory.learn('late', { kind: 'not_started', startsAt: '2027-02-10T16:00:00+08:00' });
    memory.learn('over', { kind: 'ended' });
    // Past the believable range of moments: no memory at all.
    memory.learn('never', { kind: 'sold_out', nextReleaseAt: '9999-12-31T00:00:00+08:00' });
    expect(Object.values(memory.snapshot()).map((e) => e.untilMs)).toEqual([
      T0 + DAY,
      T0 + DAY,
      T0 + DAY,
    ]);
    clock.advance(DAY - 1);
    expect(memory.claimAnswer('far')).toMatchObject({
      kind: 'sold_out',
      retryAfterSeconds: 1,
      local: true,
    });
    clock.advance(1);
    expect(memory.snapshot()).toEqual({});
  });
});
