import { describeIfPostgres } from '@coupons/testing';
import { runLoss, type LossKind } from '../src';

/**
 * Redis loses its data under load (empty, or restarted from a snapshot taken half way, which the
 * recorder's trims had already shortened) and every pod restarts; bounded for `npm test`.
 */
describeIfPostgres('chaos: Redis lost and restored from the book of record', () => {
  jest.setTimeout(120_000);

  it.each<LossKind>(['empty', 'older-snapshot'])(
    '%s: claims refuse, --from-record restores exactly, replays return the same coupons, issuing resumes',
    async (kind) => {
      const r = await runLoss({ kind, claimsPerSecond: 30, loadMs: 4_000 });
      expect(r.before.acknowledged).toBeGreaterThan(50);
      // Everything Redis issued was recorded before the loss (the scenario waits for it).
      expect(r.recordedCoupons).toBe(r.issuedBefore);
      expect(r.afterLoss.refused).toBe(r.afterLoss.sent);
      expect(r.restore).toMatchObject({ code: 0 });
      expect(r.issuedAfterRestore).toBe(r.issuedBefore);
      expect(r.replays.sameCoupon).toBe(r.replays.asked);
      expect(r.resumed.acknowledged).toBe(r.resumed.sent);
      expect(r.inventory).toMatchObject({ codesTwice: 0, acknowledgedButLost: 0, problems: [] });
      expect(r.inventory.overSpendFen!).toBeLessThanOrEqual(0);
      expect(r.recordProblems).toEqual([]);
    },
  );
});
