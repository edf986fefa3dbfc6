import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { reconcileWithRecord } from '@coupons/ledger-record';
import { until } from '@coupons/testing';
import { ledgerFields, takeInventory, type Inventory } from './inventory';
import { MAINS, runCli } from './pods';
import { RecordedStack } from './recordedStack';
import type { ClaimRecord, SteadyLoad } from './steadyLoad';

export type LossKind = 'empty' | 'older-snapshot';

export interface LossOptions {
  kind: LossKind;
  claimsPerSecond: number;
  /** load before the loss (the snapshot, for older-snapshot, is taken half way) */
  loadMs: number;
  pods?: number;
  shards?: number;
}

export interface LossResult {
  options: LossOptions;
  /** claims sent / 2xx before the loss */
  before: { sent: number; acknowledged: number };
  /** coupons the ledger counted as issued before the loss, and in PostgreSQL then */
  issuedBefore: number;
  recordedCoupons: number;
  /** claims right after the loss (every pod restarted): how many were refused */
  afterLoss: { sent: number; refused: number; refusedWith: string[] };
  /** ledger:init --from-record: exit code and the time it took */
  restore: { code: number; ms: number; output: string };
  /** coupons the ledger counts after the restore (must equal issuedBefore) */
  issuedAfterRestore: number | null;
  /** replays of acknowledged claims from before the loss: same coupon / asked */
  replays: { asked: number; sameCoupon: number };
  /** new claims after the restore that got 2xx */
  resumed: { sent: number; acknowledged: number };
  /**
   * From the loss to the first 2xx of a new claim after the restore: Redis and every pod back,
   * the refusals seen, the restore run (by this script at once; an operator takes longer).
   */
  recoveryMs: number;
  /** differences between Redis, its streams and PostgreSQL after the restore */
  recordProblems: string[];
  inventory: Inventory;
}

/**
 * Redis loses its data under a fleet of real service processes and a recorder: it restarts empty,
 * or from a snapshot taken half way through the load; then every pod restarts (none remembers
 * what it saw). Claims must refuse, `ledger:init --from-record` must restore the shards exactly,
 * the record and Redis must agree, replays of keys from before must return the same coupons, and
 * issuing must resume from the same totals.
 */
// Long: a linear experiment script (load, record, loss, refusals, restore, replays, resume), read best whole.
export async function runLoss(options: LossOptions): Promise<LossResult> {
  const shards = options.shards ?? 4;
  const backupDir = mkdtempSync(join(tmpdir(), 'coupons-chaos-rdb-'));
  let stack: RecordedStack | undefined;
  try {
    stack = await RecordedStack.start({
      name: `chaos-${options.kind}`,
      shards,
      pods: options.pods ?? 2,
    });
    const { campaign, calendar, record } = stack;
    const load = stack.load(options.claimsPerSecond, 'before', 0.3);
    load.start();
    await delay(options.loadMs / 2);
    if (options.kind === 'older-snapshot') {
      await stack.redis!.save();
      copyFileSync(join(stack.server!.dir, 'dump.rdb'), join(backupDir, 'dump.rdb'));
    }
    await delay(options.loadMs / 2);
    await load.stop();
    const beforeClaims = [...load.claims];
    const issuedBefore = (await (await stack.ledger()).snapshot()).issuedCoupons ?? -1;

    // Everything Redis holds is recorded before the loss: the record is complete through now.
    await stack.recorderCaughtUp(30_000);
    const completeThrough = String((await stack.redisClock()).now());
    const recordedCoupons = Number(
      (
        await record!.query<{ n: string }>(
          'SELECT count(*) AS n FROM coupons WHERE campaign_id = $1',
          [campaign.id],
        )
      ).rows[0]!.n,
    );

    // The loss: Redis killed, back empty or from the older snapshot; every pod restarted.
    const port = stack.server!.port;
    stack.redis!.disconnect();
    process.kill(stack.server!.pid, 'SIGKILL');
    await stack.server!.stop().catch(() => undefined);
    const dir = mkdtempSync(join(tmpdir(), 'coupons-chaos-redis-'));
    if (options.kind === 'older-snapshot')
      copyFileSync(join(backupDir, 'dump.rdb'), join(dir, 'dump.rdb'));
    const lostAt = performance.now();
    await stack.startRedis({ port, dir });
    const redis = stack.redis!;
    await stack.fleet!.restartAll();
    await stack.restartRecorder();

    // Claims refuse: a missing ledger, or one the recorder marks rolled back.
    const afterLoss = await refusalsAfterLoss(stack, shards, options.kind === 'older-snapshot');

    // The restore, as an operator runs it.
    const started = performance.now();
    const restored = await runCli(
      MAINS.ledgerInit,
      // As the stack was initialised: unfenced (the fenced restore race is restoreRace.ts).
      [
        '--campaign',
        campaign.id,
        '--from-record',
        '--record-complete-through',
        completeThrough,
        '--unfenced',
      ],
      { ...stack.fleet!.env },
    );
    const restoreMs = performance.now() - started;
    const ledgerAfter = await stack.ledger();
    const issuedAfterRestore = (await ledgerAfter.snapshot()).issuedCoupons;

    // Replays of claims acknowledged before the loss: the same coupon.
    const replays = await replaysOf(load, beforeClaims);
    // Issuing resumes.
    const resumedLoad = stack.load(options.claimsPerSecond, 'resumed');
    const resumedAt = performance.now();
    resumedLoad.start();
    await delay(2_000);
    await resumedLoad.stop();
    const firstResumed = resumedLoad.claims.find((c) => c.code !== undefined);
    const recoveryMs =
      firstResumed === undefined ? -1 : resumedAt + firstResumed.sentAt + firstResumed.ms - lostAt;

    await stack.recorderCaughtUp(30_000);
    const check = await reconcileWithRecord(redis, calendar, record!);
    return {
      options,
      before: {
        sent: beforeClaims.length,
        acknowledged: beforeClaims.filter((c) => c.code !== undefined).length,
      },
      issuedBefore,
      recordedCoupons,
      afterLoss,
      restore: { code: restored.code, ms: restoreMs, output: restored.output },
      issuedAfterRestore,
      replays,
      resumed: {
        sent: resumedLoad.claims.length,
        acknowledged: resumedLoad.claims.filter((c) => c.code !== undefined).length,
      },
      recoveryMs,
      recordProblems: check.problems,
      inventory: await takeInventory(redis, ledgerAfter, calendar, [
        ...beforeClaims,
        ...resumedLoad.claims,
      ]),
    };
  } finally {
    await stack?.close();
    rmSync(backupDir, { recursive: true, force: true });
  }
}

/**
 * A few claims after the loss (once the recorder marked a rolled-back shard, when `rolledBack`):
 * how many were refused and with what.
 */
async function refusalsAfterLoss(
  stack: RecordedStack,
  shards: number,
  rolledBack: boolean,
): Promise<LossResult['afterLoss']> {
  const { campaign } = stack;
  const redis = stack.redis!;
  if (rolledBack)
    await until(
      'the recorder marking the rolled-back shards',
      async () => {
        const marks = await ledgerFields(redis, campaign.id, shards, 'rolledBack');
        return marks.some((mark) => mark !== null) ? true : undefined;
      },
      30_000,
    );
  const probe = stack.load(1, 'after');
  const refusedWith = new Set<string>();
  let refused = 0;
  const probes = 8;
  for (let i = 0; i < probes; i += 1) {
    const answer = await probe.claimOnce(i);
    if (answer.code === undefined) {
      refused += 1;
      refusedWith.add(`${answer.status} ${answer.errorCode ?? ''}`);
    }
  }
  return { sent: probes, refused, refusedWith: [...refusedWith] };
}

/** Replays of (up to 40) claims acknowledged before the loss, and how many got the same coupon. */
async function replaysOf(
  load: SteadyLoad,
  beforeClaims: readonly ClaimRecord[],
): Promise<LossResult['replays']> {
  const sample = beforeClaims.filter((c) => c.code !== undefined).slice(0, 40);
  let sameCoupon = 0;
  for (const claim of sample) {
    const again = await load.replay(claim);
    if (again.code === claim.code) sameCoupon += 1;
  }
  return { asked: sample.length, sameCoupon };
}
