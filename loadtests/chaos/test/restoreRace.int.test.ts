import { describeIfPostgres } from '@coupons/testing';
import { runRestoreRace } from '../src';

/**
 * The restore race with the fence on: Redis back from a snapshot older than the record while
 * the recorder runs (or starts while Redis is down) and a new pod claims at once, in randomised
 * trials (their seed in the test name, to run one again). Each trial's release is small and the
 * pod claims until it is spent: a shard that served before the record verified it would give
 * users more than was released.
 */
describeIfPostgres('chaos: the restore race, fenced', () => {
  jest.setTimeout(240_000);
  const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);

  it(`users never hold more than was released, in 12 trials (seed ${seed})`, async () => {
    const { trials } = await runRestoreRace({ trials: 12, seed, fenced: true });
    expect(trials).toHaveLength(12);
    for (const trial of trials) {
      expect(trial.held).toBeLessThanOrEqual(trial.released);
      if (trial.ended === 'serving') expect(trial.recordProblems).toEqual([]);
      // Behind the record: refused, never served.
      if (trial.afterSnapshot > 0) {
        expect(trial.ended).toBe('rolled_back');
        expect(trial.firstServedMs).toBeNull();
      }
    }
    // Both ends were met: a restore equal to the record opens again, one behind it stays shut.
    expect(trials.some((t) => t.ended === 'serving' && t.firstServedMs !== null)).toBe(true);
    expect(trials.some((t) => t.ended === 'rolled_back')).toBe(true);
  });
});
