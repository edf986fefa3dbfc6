import { migrate } from '@coupons/ledger-record';
import {
  describeIfPostgres,
  describeIfRedis,
  testPostgresServerUrl,
  usePrivateDatabase,
} from '@coupons/testing';
import { Client } from 'pg';
import { couponApi, liveCampaign, uniqueId, type TestService, startReadyService } from './support';

/**
 * The book of record is never on a request path: with DATABASE_URL set and PostgreSQL stalled
 * (every table of the record locked by a transaction that does not end, and the database taking
 * no new connection), claims, reads, redemptions, reversals and budget reads answer as they would
 * without it, within their deadline, and the service never opens a connection to it.
 */
describeIfRedis('the service while the book of record is stalled', () => {
  describeIfPostgres('PostgreSQL locked and full', () => {
    const database = usePrivateDatabase((url) => migrate(url));
    const campaign = liveCampaign(uniqueId('stalled-record'), { shards: 2 });
    let locker: Client;
    let service: TestService;

    /** Connections to the private database besides the locker's own, seen from outside it. */
    async function otherBackends(): Promise<number> {
      const admin = new Client({ connectionString: testPostgresServerUrl().toString() });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ n: string }>(
          'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> $2',
          [database.name, (locker as unknown as { processID: number }).processID],
        );
        return Number(rows[0]!.n);
      } finally {
        await admin.end();
      }
    }

    beforeAll(async () => {
      locker = new Client({ connectionString: database.url });
      // The database is dropped (WITH FORCE) after the tests, maybe before this ends its session.
      locker.on('error', () => undefined);
      await locker.connect();
      const { rows } = await locker.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
      );
      expect(rows.length).toBeGreaterThan(0);
      await locker.query('BEGIN');
      for (const { tablename } of rows)
        await locker.query(`LOCK TABLE "${tablename}" IN ACCESS EXCLUSIVE MODE`);
      // The only connection the database takes is the locker's.
      await locker.query(`ALTER DATABASE ${database.name} CONNECTION LIMIT 1`);
      service = await startReadyService({
        clock: 'redis',
        campaigns: [campaign],
        env: { DATABASE_URL: database.url, USER_RATE_LIMIT: 'off' },
      });
    }, 60_000);

    afterAll(async () => {
      await service?.stop();
      await locker?.query('ROLLBACK').catch(() => undefined);
      await locker?.end();
    });

    it('claims, reads, redeems, reverses and reads the budget as usual, without a connection to it', async () => {
      const api = couponApi(service, campaign.id);
      const answers = [];
      for (let i = 0; i < 6; i += 1) {
        const userId = `stalled-${i}`;
        const claim = await api.claim(userId, `stalled-key-${i}`);
        expect(claim.status).toBe(201);
        const code = claim.body.coupon.code as string;
        const order = { userId, orderId: `stalled-order-${i}`, orderAmountFen: 10_000 };
        answers.push(
          claim,
          await api.claim(userId, `stalled-key-${i}`),
          await api.read(code, userId),
          await api.redeem(code, order),
          await api.reverse(code, order.orderId, userId),
          await api.budget(),
        );
      }
      expect(answers.map((a) => a.status)).toEqual(
        Array.from({ length: 6 }, () => [201, 201, 200, 201, 200, 200]).flat(),
      );
      // A request that waited on the lock would have answered 503 at its deadline (2 s).
      expect(await otherBackends()).toBe(0);
    }, 60_000);
  });
});
