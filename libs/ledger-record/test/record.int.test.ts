import { describeIfPostgres, usePrivateDatabase } from '@coupons/testing';
import { Client } from 'pg';
import { LedgerRecord, migrate, RecordFault, type StreamEvent } from '../src';

const CAMPAIGN = 'record-test';

function event(shard: number, streamId: string, fields: Record<string, string>): StreamEvent {
  return { campaignId: CAMPAIGN, shard, streamId, fields };
}
const init = (shard: number, id: string, gen: string) =>
  event(shard, id, {
    type: 'init',
    gen,
    events: '1',
    writtenOff: '0',
    day: '2026-02-10',
    dayWrittenOff: '0',
    at: gen,
  });
const issued = (shard: number, id: string, code: string, userId: string, at: string) =>
  event(shard, id, {
    type: 'issued',
    code,
    userId,
    valueFen: '2500',
    day: '2026-02-10',
    at,
    expiresAt: '1772294399999',
    idem: `idem-${code}`,
    bodyHash: `{"userId":"${userId}"}`,
    keepUntil: '1780070399999',
  });

describeIfPostgres('LedgerRecord: every audit event once, with the state derived from it', () => {
  const database = usePrivateDatabase(migrate);
  let record: LedgerRecord;
  beforeAll(() => {
    record = LedgerRecord.connect(database.url);
  });
  afterAll(() => record.close());

  it('records events once: a replay is a duplicate and changes nothing derived', async () => {
    const batch = [
      init(0, '1000-0', '1000'),
      issued(0, '1001-0', 'AAA', 'alice', '1001'),
      event(0, '1002-0', {
        type: 'redeemed',
        code: 'AAA',
        userId: 'alice',
        orderId: 'o-1',
        discountFen: '2000',
        at: '1002',
      }),
    ];
    expect(await record.record(batch)).toEqual({ recorded: 3, duplicates: 0 });
    expect(await record.record(batch)).toEqual({ recorded: 0, duplicates: 3 });
    // A batch that overlaps what is recorded inserts only what is new.
    expect(await record.record([batch[2]!, issued(0, '1003-0', 'BBB', 'bob', '1003')])).toEqual({
      recorded: 1,
      duplicates: 1,
    });

    expect(await record.position(CAMPAIGN, 0)).toEqual({
      gen: '1000',
      streamId: '1003-0',
      events: 4,
    });
    expect(await record.position(CAMPAIGN, 1)).toBeNull();
    expect(await record.findCoupon(CAMPAIGN, 'AAA')).toMatchObject({
      shard: 0,
      userId: 'alice',
      valueFen: 2500n,
      status: 'redeemed',
      orderId: 'o-1',
      discountFen: 2000n,
      redeemedAt: 1002,
      idem: 'idem-AAA',
      keepUntil: 1780070399999,
    });
    const { rows } = await record.query(
      `SELECT issued_coupons, issued_fen, redeemed_coupons, redeemed_fen FROM shard_day_totals
       WHERE campaign_id = $1 AND shard = 0`,
      [CAMPAIGN],
    );
    expect(rows).toEqual([
      { issued_coupons: '2', issued_fen: '5000', redeemed_coupons: '1', redeemed_fen: '2000' },
    ]);
  });

  it('writes nothing of a batch holding one bad event', async () => {
    const before = await record.position(CAMPAIGN, 2);
    await expect(
      record.record([
        init(2, '2000-0', '2000'),
        event(2, '2001-0', { type: 'issued', code: 'CCC', userId: 'carol', valueFen: '25.5' }),
      ]),
    ).rejects.toThrow(RecordFault);
    expect(await record.position(CAMPAIGN, 2)).toEqual(before);
  });

  it('orders stream ids by number, not text', async () => {
    await record.record([init(3, '9-0', '9'), issued(3, '10-0', 'DDD', 'dan', '10')]);
    await record.record([issued(3, '9-1', 'EEE', 'eve', '9')]);
    expect(await record.position(CAMPAIGN, 3)).toMatchObject({ streamId: '10-0' });
  });

  it('refuses UPDATE, DELETE and TRUNCATE of ledger_events', async () => {
    const client = new Client({ connectionString: database.url });
    await client.connect();
    try {
      await expect(client.query(`UPDATE ledger_events SET type = 'x'`)).rejects.toThrow(
        /append-only: UPDATE refused/,
      );
      await expect(client.query(`DELETE FROM ledger_events`)).rejects.toThrow(
        /append-only: DELETE refused/,
      );
      await expect(client.query(`TRUNCATE ledger_events`)).rejects.toThrow(
        /append-only: TRUNCATE refused/,
      );
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM ledger_events`);
      expect(rows[0].n).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
  });
});
