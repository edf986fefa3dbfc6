import { describeIfPostgres } from '@coupons/testing';
import { runRecorderFaults } from '../src';

/** The recorder SIGKILLed and replaced, then PostgreSQL cut off, under load; bounded for `npm test`. */
describeIfPostgres('chaos: the recorder killed and PostgreSQL down', () => {
  jest.setTimeout(120_000);

  it('claims go on, the lag shows, recording catches up, every event recorded exactly once', async () => {
    const r = await runRecorderFaults({
      claimsPerSecond: 30,
      loadMs: 8_000,
      databaseDownMs: 3_000,
    });
    expect(r.eventsRecorded).toBe(r.eventsInRedis);
    expect(r.eventsTwice).toBe(0);
    expect(r.duringOutage.sent).toBeGreaterThan(0);
    expect(r.duringOutage.acknowledged).toBe(r.duringOutage.sent);
    expect(r.maxPendingEvents).toBeGreaterThan(0);
    expect(r.maxOldestAgeSeconds).toBeGreaterThan(1);
    expect(r.inventory).toMatchObject({ codesTwice: 0, problems: [] });
    expect(r.recordProblems).toEqual([]);
  });
});
