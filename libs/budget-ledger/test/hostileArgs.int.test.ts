import { writeFileSync } from 'node:fs';
import { describeWithRedis } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import {
  generateCouponCode,
  GIVE_ARGV,
  INIT_ARGV,
  ISSUE_ARGV,
  NO_MARK,
  READ_ARGV,
  REDEEM_ARGV,
  registerLedgerScripts,
  RELEASE_ORDER_ARGV,
  RESERVE_ORDER_ARGV,
  REVERSE_ARGV,
  SETTLE_ARGV,
  shardKeys,
  shardTag,
  TAKE_ARGV,
  toArgv,
  TRIM_RECORDED_ARGV,
  CHECK_RECORDED_ARGV,
  WRITE_OFF_ARGV,
  type ScriptReply,
  type ShardKeys,
} from '../src';
import { claim, ledgerAt, takeOnly } from './support';

/**
 * Every script that writes, called through its registered command with hostile arguments: each
 * ARGV position in turn replaced by 0, -0, a negative, a fraction, a huge number, text, nothing
 * (empty) and left out (missing), and each key in turn made a key of another type. Redis does not
 * roll a script back, so a script that fails or refuses half way keeps what it wrote: whenever a
 * script answers an error or a refusal, every key of the campaign must be byte for byte as before
 * (DUMP, which holds a stream's entries and last id, and PEXPIRETIME).
 */

type KeyType = 'hash' | 'string' | 'stream' | 'set';

interface Call {
  keys: string[];
  argv: string[];
  types: KeyType[];
}

interface ScriptCase {
  name: string;
  /** Fresh keys and arguments the script would take (new codes, orders, transfers each time). */
  prepare(): Promise<Call>;
  run(keys: string[], argv: string[]): Promise<ScriptReply>;
}

const SHAPES: [string, string | undefined][] = [
  ['0', '0'],
  ['-0', '-0'],
  ['negative', '-1'],
  ['fractional', '1.5'],
  ['huge', '123456789012345678901234567890'],
  ['non-numeric', 'abc'],
  ['empty', ''],
  ['missing', undefined],
];

const WRONG: Record<KeyType, (redis: Redis | Cluster, key: string) => Promise<unknown>> = {
  hash: (redis, key) => redis.set(key, 'not a hash'),
  string: (redis, key) => redis.hset(key, 'not', 'a string'),
  stream: (redis, key) => redis.set(key, 'not a stream'),
  set: (redis, key) => redis.set(key, 'not a set'),
};

interface Tally {
  shapes: number;
  errors: number;
  refusals: number;
  accepted: string[];
}

describeWithRedis(
  'every money script, hostile arguments: nothing written on a refusal',
  (target) => {
    let redis: Redis | Cluster;
    const tallies = new Map<string, Tally>();
    beforeAll(() => {
      redis = target.connect();
    });
    afterAll(() => {
      const file = process.env['HOSTILE_ARGS_REPORT'];
      if (file !== undefined && file !== '')
        writeFileSync(
          `${file}.${target.mode}.json`,
          JSON.stringify(Object.fromEntries(tallies), null, 1),
        );
    });

    /**
     * The keys a call names, and the ledger, stream and transit set of their shard: type, content
     * and PEXPIRETIME. A script touches only the keys it is given (a cluster refuses any other slot,
     * and none of these scripts builds a key name of its own).
     */
    async function state(keys: readonly string[]): Promise<Map<string, string>> {
      const found = new Map<string, string>();
      const tag = /^\{[^}]*\}/.exec(keys[0]!)![0];
      const all = new Set([...keys, `${tag}:ledger`, `${tag}:audit`, `${tag}:transit`]);
      for (const key of [...all].flatMap((k) => [k, `${k}:saved-by-test`])) {
        const type = await redis.type(key);
        // A hash table's DUMP follows its buckets, which a mere lookup can move (incremental
        // rehashing): hashes and sets are compared by their sorted content, the rest by DUMP.
        let content: string;
        if (type === 'hash')
          content = JSON.stringify(Object.entries(await redis.hgetall(key)).sort());
        else if (type === 'set') content = JSON.stringify((await redis.smembers(key)).sort());
        else content = (await redis.dumpBuffer(key))?.toString('hex') ?? 'none';
        found.set(key, `${type} ${content} ${String(await redis.call('PEXPIRETIME', key))}`);
      }
      return found;
    }

    async function setUp() {
      const { ledger, clock, calendar } = await ledgerAt(redis, '2026-02-10T12:30:00+08:00');
      const { campaign } = calendar;
      const now = clock.now();
      const day = calendar.dayAt(now)!.day;
      const keys = (shard: number) => shardKeys(campaign.id, shard);
      const gen = async (shard: number) => (await redis.hget(keys(shard).ledger, 'gen')) ?? '';
      const guard = {
        trustCallerTime: true,
        callerNowMs: now,
        fingerprint: ledger.fingerprint,
        ...NO_MARK,
      };
      const keepUntilMs = campaign.couponExpiresAt + 1;
      let n = 0;
      const fresh = (what: string) => `${what}-${(n += 1)}`;
      /** The guard's and a new transfer's arguments: one coupon moved between shards. */
      const transferOfOne = () => ({ ...guard, transferId: fresh('transfer'), coupons: 1 });
      /** A call on a shard: its ledger and audit stream, then its transit set when `transit`. */
      const onShard = (tag: string, argv: string[], transit = false): Call => ({
        keys: [`${tag}:ledger`, `${tag}:audit`, ...(transit ? [`${tag}:transit`] : [])],
        types: ['hash', 'stream', ...(transit ? (['set'] as const) : [])],
        argv,
      });
      /** A call on one row of a shard (a coupon's or an order's hash), its ledger and audit stream. */
      const onRow = (row: string, k: ShardKeys, argv: string[]): Call => ({
        keys: [row, k.ledger, k.audit],
        types: ['hash', 'hash', 'stream'],
        argv,
      });
      const issued = async () => {
        const userId = fresh('user');
        const result = await ledger.issue(claim(userId));
        if (result.kind !== 'issued') throw new Error(`setup: ${result.kind}`);
        return { userId, code: result.coupon.code, shard: ledger.shardOf(userId) };
      };
      /** A call on a coupon just issued: its hash, then its shard's ledger and audit stream. */
      const onCoupon = async (
        argv: (coupon: Awaited<ReturnType<typeof issued>>) => Promise<string[]> | string[],
      ): Promise<Call> => {
        const coupon = await issued();
        const k = keys(coupon.shard);
        return onRow(k.coupon(coupon.code), k, await argv(coupon));
      };
      const scripts = registerLedgerScripts(redis);
      const extraTags: string[] = [];
      const freshTag = () => {
        const tag = shardTag(`${campaign.id}-x${(n += 1)}`, 0);
        extraTags.push(tag);
        return tag;
      };
      /** A fresh shard whose rebuild has begun, and the rebuild's token. */
      const rebuildBegun = async () => {
        const tag = freshTag();
        const token = fresh('token');
        await scripts.rebuildBegin(
          [`${tag}:ledger`, `${tag}:audit`],
          [ledger.fingerprint, '', token, 't'],
        );
        return { tag, token };
      };
      await redis.xgroup('CREATE', keys(0).audit, 'recorder', '0', 'MKSTREAM');

      const cases: ScriptCase[] = [
        {
          name: 'issueCoupon-5.lua',
          run: (k, a) => scripts.issueCoupon(k as never, a),
          async prepare() {
            const userId = fresh('user');
            const shard = ledger.shardOf(userId);
            const k = keys(shard);
            return {
              keys: [
                k.ledger,
                k.user(userId),
                k.idempotency(fresh('scope')),
                k.coupon(generateCouponCode(shard)),
                k.audit,
              ],
              types: ['hash', 'hash', 'string', 'hash', 'stream'],
              argv: toArgv(ISSUE_ARGV, {
                ...guard,
                windowFromMs: now - 1000,
                windowUntilMs: now + 1000,
                capCoupons: 1000,
                capScope: 'campaign',
                day,
                dailyLimit: 5,
                totalLimit: 10,
                valueFen: campaign.couponValueFen,
                expiresAtMs: campaign.couponExpiresAt,
                bodyHash: 'body',
                keepUntilMs,
              }),
            };
          },
        },
        {
          name: 'redeemCoupon-3.lua',
          run: (k, a) => scripts.redeemCoupon(k as never, a),
          prepare: () =>
            onCoupon(({ userId }) =>
              toArgv(REDEEM_ARGV, {
                ...guard,
                userId,
                orderId: fresh('order'),
                orderAmountFen: 10_000,
                minOrderFen: 0,
                valueFen: campaign.couponValueFen,
                expiresAtMs: campaign.couponExpiresAt,
              }),
            ),
        },
        {
          name: 'reverseRedemption-3.lua',
          run: (k, a) => scripts.reverseRedemption(k as never, a),
          prepare: () =>
            onCoupon(async ({ userId, code, shard }) => {
              const orderId = fresh('order');
              // A discount of 0 (an order of 0 fen): its reversal once failed half way.
              await ledger.redeem({ code, shard, userId, orderId, orderAmountFen: 0 });
              return toArgv(REVERSE_ARGV, { ...guard, userId, orderId });
            }),
        },
        {
          name: 'readCoupon-3.lua',
          run: (k, a) => scripts.readCoupon(k as never, a),
          prepare: () => onCoupon(({ userId }) => toArgv(READ_ARGV, { ...guard, userId })),
        },
        {
          name: 'reserveOrder-3.lua',
          run: (k, a) => scripts.reserveOrder(k as never, a),
          async prepare() {
            const orderId = fresh('order');
            const k = keys(ledger.orderShardOf(orderId));
            return onRow(
              k.order(orderId),
              k,
              toArgv(RESERVE_ORDER_ARGV, {
                ...guard,
                code: generateCouponCode(0),
                couponsPerOrder: 1,
                keepUntilMs,
              }),
            );
          },
        },
        {
          name: 'releaseOrder-3.lua',
          run: (k, a) => scripts.releaseOrder(k as never, a),
          async prepare() {
            const orderId = fresh('order');
            const code = generateCouponCode(0);
            const k = keys(ledger.orderShardOf(orderId));
            await scripts.reserveOrder(
              [k.order(orderId), k.ledger, k.audit],
              toArgv(RESERVE_ORDER_ARGV, { ...guard, code, couponsPerOrder: 1, keepUntilMs }),
            );
            return onRow(
              k.order(orderId),
              k,
              toArgv(RELEASE_ORDER_ARGV, { ...guard, code, why: 'refused' }),
            );
          },
        },
        {
          name: 'takeRelease-3.lua',
          run: (k, a) => scripts.takeRelease(k as never, a),
          async prepare() {
            const k = keys(0);
            return onShard(
              k.tag,
              toArgv(TAKE_ARGV, {
                ...transferOfOne(),
                capCoupons: 1000,
                scope: 'campaign',
                day,
                windowFromMs: now - 1000,
                windowUntilMs: now + 1000,
                target: 1,
                targetGen: await gen(1),
              }),
              true,
            );
          },
        },
        {
          name: 'giveRelease-2.lua',
          run: (k, a) => scripts.giveRelease(k as never, a),
          async prepare() {
            const k = keys(1);
            return onShard(
              k.tag,
              toArgv(GIVE_ARGV, {
                ...transferOfOne(),
                field: 'adj',
                source: 0,
                sourceGen: await gen(0),
                targetGen: await gen(1),
              }),
            );
          },
        },
        {
          name: 'settleTransfer-3.lua',
          run: (k, a) => scripts.settleTransfer(k as never, a),
          async prepare() {
            const transferId = fresh('transfer');
            await takeOnly(redis, ledger, {
              transferId,
              coupons: 1,
              capCoupons: 1000,
              source: 2,
              target: 3,
              atMs: now,
            });
            const k = keys(2);
            return onShard(k.tag, toArgv(SETTLE_ARGV, { transferId, outcome: 'void' }), true);
          },
        },
        {
          name: 'writeOffShard-2.lua',
          run: (k, a) => scripts.writeOffShard(k as never, a),
          async prepare() {
            const k = keys(3);
            await redis.hset(k.ledger, 'rolledBack', 'marked by the test');
            return onShard(
              k.tag,
              toArgv(WRITE_OFF_ARGV, {
                capCoupons: 100,
                scope: 'campaign',
                day,
                windowFromMs: 0,
                windowUntilMs: 8_000_000_000_000,
              }),
            );
          },
        },
        {
          name: 'trimRecorded-2.lua',
          run: (k, a) => scripts.trimRecorded(k as never, a),
          async prepare() {
            const k = keys(0);
            return onShard(k.tag, toArgv(TRIM_RECORDED_ARGV, { group: 'recorder', upTo: '0-1' }));
          },
        },
        {
          name: 'checkRecorded-2.lua',
          run: (k, a) => scripts.checkRecorded(k as never, a),
          async prepare() {
            const k = keys(1);
            const last = (await redis.hget(k.ledger, 'lastEventId')) ?? '0-1';
            return onShard(
              k.tag,
              toArgv(CHECK_RECORDED_ARGV, {
                knownRunId: '',
                recordedGen: await gen(1),
                recordedId: last,
                recordedEvents: Number((await redis.hget(k.ledger, 'events')) ?? '1'),
              }),
            );
          },
        },
        {
          name: 'initLedger-2.lua',
          run: (k, a) => scripts.init(k as never, a),
          async prepare() {
            const tag = freshTag();
            return onShard(
              tag,
              toArgv(INIT_ARGV, {
                fingerprint: ledger.fingerprint,
                shardPoolCoupons: 100,
                writtenOff: 0,
                campaignId: campaign.id,
                shard: 0,
                day,
                dayWrittenOff: 0,
                fenced: false,
                money: JSON.stringify({ id: campaign.id }),
              }),
            );
          },
        },
        {
          name: 'rebuildBegin-2.lua',
          run: (k, a) => scripts.rebuildBegin(k as never, a),
          async prepare() {
            const tag = freshTag();
            return onShard(tag, [ledger.fingerprint, '', fresh('token'), 'test']);
          },
        },
        {
          name: 'rebuildRecords.lua',
          run: (k, a) => scripts.rebuildRecords(k, a),
          async prepare() {
            const { tag, token } = await rebuildBegun();
            return {
              keys: [`${tag}:ledger`, `${tag}:c:ABC`, `${tag}:i:scope`, `${tag}:audit`],
              types: ['hash', 'hash', 'string', 'stream'],
              argv: [
                token,
                String(now),
                'hash',
                '2',
                String(keepUntilMs),
                '2',
                'u',
                'someone',
                't',
                String(now),
                'string',
                '3',
                String(keepUntilMs),
                'ABC\nbody',
                'event',
                '4',
                '1-1',
                '1',
                'type',
                'issued',
              ],
            };
          },
        },
        {
          name: 'rebuildFinish-3.lua',
          run: (k, a) => scripts.rebuildFinish(k as never, a),
          async prepare() {
            const { tag, token } = await rebuildBegun();
            return onShard(
              tag,
              [token, '0', '1-1', day, '', '2', 'fingerprint', ledger.fingerprint, 'issued', '0'],
              true,
            );
          },
        },
      ];
      return cases;
    }

    /** Runs one call; when it errs or refuses, the campaign's keys must be as they were. */
    async function attempt(
      c: ScriptCase,
      tally: Tally,
      label: string,
      call: Call,
      arrange?: () => Promise<void>,
    ): Promise<void> {
      await arrange?.();
      const before = await state(call.keys);
      let outcome: 'error' | 'refusal' | 'accepted';
      let detail: string;
      try {
        const reply = await c.run(call.keys, call.argv);
        outcome = Number(reply[0]) < 0 ? 'refusal' : 'accepted';
        detail = String(reply[0]);
      } catch (err) {
        outcome = 'error';
        detail = (err as Error).message;
      }
      tally.shapes += 1;
      if (outcome === 'accepted') {
        tally.accepted.push(`${label} -> ${detail}`);
        return;
      }
      if (outcome === 'error') tally.errors += 1;
      else tally.refusals += 1;
      const after = await state(call.keys);
      const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
        (key) => before.get(key) !== after.get(key),
      );
      if (changed.length > 0)
        partialWrites.push(
          `${c.name} ${label}: ${outcome} ${detail}, changed ${changed.join(' ')}`,
        );
    }

    const partialWrites: string[] = [];

    it('writes nothing whenever a script answers an error or a refusal', async () => {
      const cases = await setUp();
      for (const c of cases) {
        const tally: Tally = { shapes: 0, errors: 0, refusals: 0, accepted: [] };
        tallies.set(c.name, tally);
        const { argv: sample, keys: sampleKeys } = await c.prepare();
        for (let i = 0; i < sample.length; i += 1) {
          for (const [shape, value] of SHAPES) {
            const call = await c.prepare();
            const argv = value === undefined ? call.argv.slice(0, i) : [...call.argv];
            if (value !== undefined) argv[i] = value;
            await attempt(c, tally, `ARGV[${i + 1}] ${shape}`, { ...call, argv });
          }
        }
        for (let k = 0; k < sampleKeys.length; k += 1) {
          const call = await c.prepare();
          const key = call.keys[k]!;
          const saved = `${key}:saved-by-test`;
          const existed = (await redis.exists(key)) === 1;
          await attempt(c, tally, `KEYS[${k + 1}] not a ${call.types[k]}`, call, async () => {
            if (existed) await redis.rename(key, saved);
            await WRONG[call.types[k]!](redis, key);
          });
          await redis.del(key);
          if (existed) await redis.rename(saved, key);
        }
        // At least 8 shapes for every script (the ARGV shapes alone are 8 per argument).
        expect(tally.shapes).toBeGreaterThanOrEqual(8);
      }
      expect(partialWrites).toEqual([]);
    }, 120_000);
  },
);
