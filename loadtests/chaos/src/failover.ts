import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { BudgetLedger, ReplicationWait, shardKeys } from '@coupons/budget-ledger';
import { CampaignCalendar, parseCampaigns, systemClock } from '@coupons/campaign';
import { startLocalCluster } from '@coupons/redis-local';
import { newLatencyHistogram, recordMs, summarize, type LatencySummary } from '@coupons/runner';
import { migrate } from '@coupons/ledger-record';
import {
  createPrivateDatabase,
  dropPrivateDatabase,
  liveCampaign,
  uniqueId,
  until,
  type PrivateDatabase,
} from '@coupons/testing';
import { Cluster } from 'ioredis';
import { ledgerFields, takeInventory, type Inventory } from './inventory';
import { Fleet, ServicePod } from './pods';
import { SteadyLoad, type ClaimRecord } from './steadyLoad';

export interface FailoverOptions {
  /** REDIS_WAIT_REPLICAS for the pods; 0 runs without WAIT */
  waitReplicas: number;
  claimsPerSecond: number;
  /** load before the kill, and after it */
  beforeMs: number;
  afterMs: number;
  pods?: number;
  shards?: number;
  /** receives each pod's recent log at the end (to see what the 503s were) */
  podLogs?: (log: string) => void;
  /**
   * The fence on: a private PostgreSQL database and a recorder process (its defaults), the ledger
   * initialised fenced; the promoted replica serves once the recorder verified it.
   */
  fenced?: boolean;
}

export interface FailoverResult {
  options: FailoverOptions;
  /** shards whose master was killed */
  failedShards: number[];
  /** claims on the other shards while the failed ones were down, and how many got 2xx */
  othersDuringOutage: { sent: number; acknowledged: number };
  /** what the other shards' refusals said during the outage */
  othersRefusedWith: Record<string, number>;
  /** from the kill to the first 2xx on a failed shard after it (ms), null if none came */
  recoveryMs: number | null;
  /** non-2xx answers on the failed shards after the kill */
  failedShardRefusals: number;
  /** of those, refused for want of the recorder's verification (the fence) */
  unverifiedRefusals: number;
  /**
   * Fenced: from the first claim on a failed shard refused for want of verification to the first
   * one served after it (ms): what the fence adds to the failover's outage; null when none was
   * refused so (the recorder verified the promoted replica before a pod reached it).
   */
  unverifiedWindowMs: number | null;
  /** 2xx claims before the kill, ms */
  latency: LatencySummary;
  inventory: Inventory;
  /** the load generator's worst lag behind its schedule, ms */
  maxSendLagMs: number;
}

/**
 * A Redis Cluster master SIGKILLed under steady claim and redemption load through real service
 * processes; its replica is promoted by the cluster itself (cluster-node-timeout 2 s). Two
 * replicas per master, so the promoted one still has a replica to acknowledge WAIT.
 */
// Long: a linear experiment script (cluster, sync, load, kill a master, promotion, checks), read best whole.
export async function runFailover(options: FailoverOptions): Promise<FailoverResult> {
  const shards = options.shards ?? 6;
  const campaign = liveCampaign(uniqueId('chaos-failover'), {
    coupons: 2_000_000,
    shards,
    perUser: { daily: 3, total: 21 },
  });
  const calendar = new CampaignCalendar(parseCampaigns({ campaigns: [campaign] })[0]!);
  // As in production (k8s/base/redis-cluster): a master down does not stop the others' slots.
  const cluster = await startLocalCluster({
    masters: 3,
    replicasPerMaster: 2,
    args: ['--cluster-require-full-coverage', 'no'],
  });
  const redis = new Cluster(cluster.startupNodes, { redisOptions: { maxRetriesPerRequest: 3 } });
  let fleet: Fleet | undefined;
  let database: PrivateDatabase | undefined;
  let recorder: ServicePod | undefined;
  try {
    const nodesEnv = cluster.startupNodes.map((n) => `${n.host}:${n.port}`).join(',');
    if (options.fenced === true) {
      database = await createPrivateDatabase();
      await migrate(database.url);
    }
    fleet = new Fleet({
      campaigns: [campaign],
      env: {
        REDIS_CLUSTER_NODES: nodesEnv,
        ...(options.waitReplicas > 0
          ? { REDIS_WAIT_REPLICAS: String(options.waitReplicas), REDIS_WAIT_TIMEOUT_MS: '200' }
          : {}),
      },
    });
    const ledger = new BudgetLedger(redis, calendar, systemClock);
    await ledger.init({ neverIssued: true, fenced: options.fenced === true });
    if (database !== undefined) {
      recorder = await ServicePod.startRecorder({ ...fleet.env, DATABASE_URL: database.url });
      await until(
        'every shard verified by the recorder',
        async () => {
          const fences = await ledgerFields(redis, campaign.id, shards, 'fence');
          return fences.every((f) => f !== null && f !== '-') ? true : undefined;
        },
        30_000,
      );
    }
    await untilReplicasInSync(redis);
    await fleet.start(options.pods ?? 2);
    const load = new SteadyLoad({
      campaignId: campaign.id,
      shards,
      apiKey: fleet.apiKey,
      pods: () => fleet!.running,
      claimsPerSecond: options.claimsPerSecond,
      redeemShare: 0.3,
      runId: randomBytes(4).toString('hex'),
    });
    load.start();
    await delay(options.beforeMs);

    // The master of shard 0's slot, and every shard it holds.
    const wait = new ReplicationWait(redis, { replicas: 1, timeoutMs: 1 });
    const victim = wait.nodeFor(shardKeys(campaign.id, 0).ledger);
    const victimPort = victim.options.port;
    const failedShards = Array.from({ length: shards }, (_, s) => s).filter(
      (s) => wait.nodeFor(shardKeys(campaign.id, s).ledger).options.port === victimPort,
    );
    const node = cluster.nodes.find((n) => n.port === victimPort);
    if (node === undefined) throw new Error(`no cluster node on port ${victimPort}`);
    const killedAt = load.now();
    process.kill(node.pid, 'SIGKILL');
    await delay(options.afterMs);
    await load.stop();

    const after = load.claims.filter((c) => c.sentAt >= killedAt);
    const onFailed = after.filter((c) => failedShards.includes(c.shard));
    const firstServed = onFailed.find((c) => c.code !== undefined);
    const lastRefused = onFailed.filter((c) => c.code === undefined).at(-1);
    const outageEnd = lastRefused?.sentAt ?? killedAt;
    const others = after.filter((c) => !failedShards.includes(c.shard) && c.sentAt <= outageEnd);
    const before = load.claims.filter((c) => c.sentAt < killedAt && c.code !== undefined);
    const unverified = onFailed.filter((c) => UNVERIFIED.test(c.errorMessage ?? ''));
    return {
      options,
      failedShards,
      othersDuringOutage: {
        sent: others.length,
        acknowledged: others.filter((c) => c.code !== undefined).length,
      },
      othersRefusedWith: countBy(
        others.filter((c) => c.code === undefined),
        (c) => `${c.status} ${c.errorMessage ?? ''}`,
      ),
      recoveryMs: firstServed === undefined ? null : firstServed.sentAt - killedAt,
      failedShardRefusals: onFailed.filter((c) => c.code === undefined).length,
      unverifiedRefusals: unverified.length,
      unverifiedWindowMs: unverifiedWindow(onFailed, unverified),
      latency: latencyOf(before),
      inventory: await countAfterFailover(cluster.startupNodes, victimPort, calendar, load.claims),
      maxSendLagMs: load.maxSendLagMs,
    };
  } finally {
    for (const pod of fleet?.running ?? []) options.podLogs?.(pod.log());
    if (recorder !== undefined) options.podLogs?.(recorder.log());
    await recorder?.kill('SIGTERM');
    await fleet?.stop();
    redis.disconnect();
    await cluster.stop();
    if (database !== undefined) await dropPrivateDatabase(database.name);
  }
}

/**
 * The inventory through a new cluster client over the nodes still alive: the one used during the
 * run may still hold the dead master's connection and answer "Too many Cluster redirections".
 */
async function countAfterFailover(
  nodes: readonly { host: string; port: number }[],
  deadPort: number | undefined,
  calendar: CampaignCalendar,
  claims: readonly ClaimRecord[],
): Promise<Inventory> {
  const fresh = new Cluster(
    nodes.filter((n) => n.port !== deadPort),
    { redisOptions: { maxRetriesPerRequest: 3 } },
  );
  try {
    await until(
      'a cluster client over the surviving nodes',
      async () =>
        (await fresh.cluster('INFO').then(
          (info) => /cluster_state:ok/.test(String(info)),
          () => false,
        ))
          ? true
          : undefined,
      20_000,
    );
    // The cluster may still be settling (a slot still mapped to the dead master for a moment
    // on a loaded machine): counted again until one count goes through.
    const ledger = new BudgetLedger(fresh, calendar, systemClock);
    let lastError: unknown;
    for (let attempt = 0; attempt < 20; attempt += 1) {
      try {
        return await takeInventory(fresh, ledger, calendar, claims);
      } catch (err) {
        lastError = err;
        await delay(1_000);
      }
    }
    throw lastError;
  } finally {
    fresh.disconnect();
  }
}

/** The service's message for a shard the recorder has not verified yet (a 503). */
const UNVERIFIED = /checked against the book of record/;

function unverifiedWindow(
  onFailed: readonly ClaimRecord[],
  unverified: readonly ClaimRecord[],
): number | null {
  const first = unverified[0];
  if (first === undefined) return null;
  const served = onFailed.find((c) => c.sentAt > first.sentAt && c.code !== undefined);
  return served === undefined ? null : served.sentAt - first.sentAt;
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

function latencyOf(claims: readonly ClaimRecord[]): LatencySummary {
  const histogram = newLatencyHistogram();
  for (const claim of claims) recordMs(histogram, claim.ms);
  return summarize(histogram);
}

/**
 * Every replica in sync before the load: otherwise the first seconds measure the replicas'
 * initial full sync (WAIT answering only at its timeout), not what WAIT costs.
 */
async function untilReplicasInSync(redis: Cluster): Promise<void> {
  await until(
    'every master with both replicas in sync',
    async () => {
      // One key per master (the one its slot maps to), written and confirmed on two replicas.
      const sync = new ReplicationWait(redis, { replicas: 2, timeoutMs: 1_000 });
      const keyOf = new Map<number | undefined, string>();
      for (let i = 0; i < 200 && keyOf.size < 3; i += 1)
        keyOf.set(sync.nodeFor(`chaos-sync-${i}`).options.port, `chaos-sync-${i}`);
      if (keyOf.size < 3) return undefined;
      const acks = await Promise.all(
        [...keyOf.values()].map(async (key) => {
          await redis.set(key, '1');
          return sync.confirm(key).then(
            () => 2,
            () => 0,
          );
        }),
      );
      return acks.every((n) => n >= 2) ? true : undefined;
    },
    30_000,
  );
}
