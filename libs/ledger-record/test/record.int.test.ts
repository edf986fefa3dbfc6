import { describeIfPostgres, usePrivateDatabaseClient } from '@coupons/testing';
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
  let record: LedgerRecord;
  const database = usePrivateDatabaseClient(migrate, LedgerRecord.connect, (r) => (record = r));

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

  it('keeps a rolled-back mark until it is cleared, beside the position', async () => {
    await record.record([init(4, '4000-0', '4000')]);
    expect(await record.rolledBack(CAMPAIGN, 4)).toBeNull();
    await record.markRolledBack(CAMPAIGN, 4, 'stream went back to 3999-0');
    expect(await record.rolledBack(CAMPAIGN, 4)).toEqual({
      at: expect.any(Date),
      reason: 'stream went back to 3999-0',
    });
    expect(await record.position(CAMPAIGN, 4)).toMatchObject({ streamId: '4000-0' });
    await record.clearRolledBack(CAMPAIGN, 4);
    expect(await record.rolledBack(CAMPAIGN, 4)).toBeNull();
    // A shard with nothing recorded can be marked, and has no position.
    await record.markRolledBack(CAMPAIGN, 5, 'lost');
    expect(await record.rolledBack(CAMPAIGN, 5)).toMatchObject({ reason: 'lost' });
    expect(await record.position(CAMPAIGN, 5)).toBeNull();
  });

  it('a rolled-back mark found before a rebuild and written after it does not close the rebuilt shard', async () => {
    await record.record([init(60, '6000-0', '6000')]);
    await record.markRolledBack(CAMPAIGN, 60, '6100 recorder verified run x: fewer events', 6100);
    // The rebuild's restore at Redis time 6200 clears it; the recorder's write of the mark it
    // found at 6150 (its PostgreSQL write delayed past the rebuild) lands after: not applied.
    await record.clearRolledBack(CAMPAIGN, 60, 6200);
    await record.markRolledBack(CAMPAIGN, 60, '6150 recorder verified run x: fewer events', 6150);
    expect(await record.rolledBack(CAMPAIGN, 60)).toBeNull();
    // A mark found after the rebuild is written.
    await record.markRolledBack(CAMPAIGN, 60, '6300 recorder verified run y: fewer events', 6300);
    expect(await record.rolledBack(CAMPAIGN, 60)).toMatchObject({
      reason: expect.stringMatching(/^6300 /),
    });
  });

  it("keeps each event's sequence number and refuses a newer event repeating a recorded one (diverged)", async () => {
    const withN = (e: StreamEvent, n: string) => ({ ...e, fields: { ...e.fields, n } });
    await record.record([
      withN(init(70, '7000-0', '7000'), '1'),
      withN(issued(70, '7001-0', 'S71', 'u1', '7001'), '2'),
      withN(issued(70, '7002-0', 'S72', 'u2', '7002'), '3'),
    ]);
    expect(await record.position(CAMPAIGN, 70)).toEqual({
      gen: '7000',
      streamId: '7002-0',
      events: 3,
    });
    const { rows } = await record.query<{ seq: string }>(
      `SELECT seq FROM ledger_events WHERE campaign_id = $1 AND shard = 70 ORDER BY stream_ms`,
      [CAMPAIGN],
    );
    expect(rows.map((r) => r.seq)).toEqual(['1', '2', '3']);
    // A Redis restored to n = 2 appended again: a later stream id with sequence 3.
    const diverged = withN(issued(70, '7100-0', 'S73', 'u3', '7100'), '3');
    await expect(record.record([diverged])).rejects.toMatchObject({ kind: 'diverged' });
    expect(await record.position(CAMPAIGN, 70)).toMatchObject({ streamId: '7002-0', events: 3 });
    // An older event delivered late (two recorders) is recorded and moves nothing.
    // The history goes on: sequence 4 is taken.
    await record.record([withN(issued(70, '7101-0', 'S74', 'u4', '7101'), '4')]);
    expect(await record.position(CAMPAIGN, 70)).toMatchObject({ streamId: '7101-0', events: 4 });
  });

  it('keeps the money settings an init carries, per shard', async () => {
    const money = JSON.stringify({ shards: 2, poolFen: 50000 });
    await record.record([
      event(80, '8000-0', { ...init(80, '8000-0', '8000').fields, fingerprint: 'f8', money }),
    ]);
    expect(await record.moneySettings(CAMPAIGN, 80)).toEqual({
      fingerprint: 'f8',
      money: { shards: 2, poolFen: 50000 },
    });
    expect(await record.moneySettings(CAMPAIGN, 0)).toBeNull();
  });

  it('derives reversals, transfers and write-offs as the scripts changed Redis', async () => {
    await record.record([
      {
        ...init(6, '6000-0', '6000'),
        fields: { ...init(6, '6000-0', '6000').fields, writtenOff: '7', dayWrittenOff: '3' },
      },
      issued(6, '6001-0', 'FFF', 'fay', '6001'),
      event(6, '6002-0', {
        type: 'redeemed',
        code: 'FFF',
        userId: 'fay',
        orderId: 'o-9',
        discountFen: '2500',
        at: '6002',
      }),
      event(6, '6003-0', {
        type: 'reversed',
        code: 'FFF',
        userId: 'fay',
        orderId: 'o-9',
        discountFen: '2500',
        at: '6003',
      }),
      event(6, '6004-0', {
        type: 'rebalance-out',
        transfer: 't-1',
        coupons: '4',
        target: '7',
        targetGen: '7000',
        field: 'adj',
        at: '6004',
      }),
      event(7, '7001-0', {
        type: 'rebalance-in',
        transfer: 't-1',
        coupons: '4',
        source: '6',
        sourceGen: '6000',
        field: 'adj',
        at: '7001',
      }),
      event(6, '6005-0', {
        type: 'rebalance-out',
        transfer: 't-2',
        coupons: '2',
        target: '7',
        targetGen: '7000',
        field: 'adj',
        at: '6005',
      }),
      event(6, '6006-0', {
        type: 'rebalance-void',
        transfer: 't-2',
        coupons: '2',
        target: '7',
        at: '6006',
      }),
    ]);
    expect(await record.findCoupon(CAMPAIGN, 'FFF')).toMatchObject({
      status: 'issued',
      orderId: null,
      discountFen: null,
      reversals: { 'o-9': '6003' },
    });
    const totals = await record.query(
      `SELECT day, issued_coupons, redeemed_coupons, redeemed_fen, written_off_coupons
       FROM shard_day_totals WHERE campaign_id = $1 AND shard = 6`,
      [CAMPAIGN],
    );
    expect(totals.rows).toEqual([
      {
        day: '2026-02-10',
        issued_coupons: '1',
        redeemed_coupons: '0',
        redeemed_fen: '0',
        written_off_coupons: '3',
      },
    ]);
    const transfers = await record.query(
      `SELECT transfer_id, source_shard, source_gen, target_shard, target_gen, coupons, state
       FROM transfers WHERE campaign_id = $1 ORDER BY transfer_id`,
      [CAMPAIGN],
    );
    expect(transfers.rows).toEqual([
      {
        transfer_id: 't-1',
        source_shard: 6,
        source_gen: '6000',
        target_shard: 7,
        target_gen: '7000',
        coupons: '4',
        state: 'given',
      },
      {
        transfer_id: 't-2',
        source_shard: 6,
        source_gen: '6000',
        target_shard: 7,
        target_gen: '7000',
        coupons: '2',
        state: 'void',
      },
    ]);
  });

  it('refuses a redemption of a coupon whose issue it does not hold (a gap), recording nothing', async () => {
    await expect(
      record.record([
        event(8, '8000-0', {
          type: 'redeemed',
          code: 'ZZZ',
          userId: 'zed',
          orderId: 'o',
          discountFen: '1',
          at: '8000',
        }),
      ]),
    ).rejects.toMatchObject({ kind: 'gap' });
    expect(await record.position(CAMPAIGN, 8)).toBeNull();
  });

  it('migrates again without change: applied migrations are skipped', async () => {
    await migrate(database.url);
    const { rows } = await record.query<{ name: string }>(`SELECT name FROM pgmigrations`);
    expect(rows.map((r) => r.name)).toEqual([
      '1764680400000_book-of-record',
      '1796630400000_fence',
    ]);
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
