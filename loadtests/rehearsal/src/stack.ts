import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_SCOPES } from '@coupons/contract';
import { startLocalPrometheus, type LocalPrometheus } from '@coupons/monitoring';
import { startRedisServer } from '@coupons/redis-local';
import { liveCampaign } from '@coupons/testing';
import { FleetOfPods } from './fleet';
import { startHaproxy, type Haproxy } from './haproxy';
import { allocateSlots } from './pods';

/**
 * What every run stands on: a Redis as production wants it, a campaign initialised on it, an API
 * key, pod slots, the fleet, haproxy over the slots, and Prometheus scraping every slot with the
 * labels the cluster's ServiceMonitor gives (namespace `coupons`, the overlay's, which the
 * ScaledObject's queries select).
 */
export interface Stack {
  campaignId: string;
  apiKey: string;
  fleet: FleetOfPods;
  haproxy: Haproxy;
  /** the Prometheus running now, or undefined while it is stopped */
  prometheus: LocalPrometheus | undefined;
  stopPrometheus(): Promise<void>;
  startPrometheus(): Promise<void>;
  close(): Promise<void>;
}

export interface StackSettings {
  root: string;
  /** slots: the most processes that may run */
  slots: number;
  podsPerProcess: number;
  share: number;
  processPlan: number;
  scrapeSeconds: number;
}

// Long: a linear start-up script (cgroups, pods, haproxy, Prometheus), in the order it runs.
export async function startStack(settings: StackSettings): Promise<Stack> {
  const tag = randomBytes(3).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'rehearsal-'));
  const cleanups: (() => Promise<void> | void)[] = [
    () => rmSync(dir, { recursive: true, force: true }),
  ];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    // AOF fsynced every second and no eviction: the settings a production pod insists on.
    const redis = await startRedisServer({
      args: [
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--maxmemory-policy',
        'noeviction',
      ],
    });
    cleanups.push(() => redis.stop());
    const campaign = liveCampaign(`rehearsal-${tag}`, {
      coupons: 5_000_000,
      perUser: { daily: 5, total: 5 },
      shards: 4,
    });
    const apiKey = randomBytes(16).toString('hex');
    writeFileSync(join(dir, 'campaigns.json'), JSON.stringify({ campaigns: [campaign] }));
    writeFileSync(
      join(dir, 'keys.json'),
      JSON.stringify([
        {
          id: 'rehearsal',
          sha256: createHash('sha256').update(apiKey).digest('hex'),
          scopes: API_SCOPES,
        },
      ]),
    );
    const env = {
      NODE_ENV: 'production',
      REDIS_URL: redis.url,
      CAMPAIGNS_FILE: join(dir, 'campaigns.json'),
      COUPON_API_KEYS_FILE: join(dir, 'keys.json'),
      // The demand query divides by this: claims per second per pod of the manifest.
      CLAIM_CAPACITY_PER_POD: String(settings.processPlan / settings.podsPerProcess),
      LOG_LEVEL: 'warn',
    };
    const init = spawnSync(
      process.execPath,
      [
        join(settings.root, 'services/coupon-service/dist/src/cli/ledger-init.js'),
        '--campaign',
        campaign.id,
        '--never-issued',
        // No book of record runs in the rehearsal: a fenced ledger would wait for a recorder.
        '--unfenced',
      ],
      {
        cwd: settings.root,
        env: { PATH: process.env['PATH'] ?? '', ...env },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    if (init.status !== 0) throw new Error(`ledger-init: ${init.stdout}${init.stderr}`);
    const slots = await allocateSlots(settings.slots);
    const fleet = new FleetOfPods(
      settings.root,
      slots,
      settings.share,
      env,
      settings.podsPerProcess,
      tag,
    );
    cleanups.push(() => fleet.stop());
    const haproxy = await startHaproxy(slots);
    cleanups.push(() => haproxy.stop());
    const jobs = [
      {
        job: 'coupon-service',
        targets: slots.map((s) => ({
          address: `127.0.0.1:${s.metricsPort}`,
          labels: { namespace: 'coupons', pod: `coupon-service-${s.index}` },
        })),
      },
    ];
    const stack: Stack = {
      campaignId: campaign.id,
      apiKey,
      fleet,
      haproxy,
      prometheus: undefined,
      stopPrometheus: async () => {
        const running = stack.prometheus;
        stack.prometheus = undefined;
        await running?.stop();
      },
      // A new Prometheus (its own TSDB, as one that lost its disk): rate() needs new samples.
      startPrometheus: async () => {
        stack.prometheus = await startLocalPrometheus({
          jobs,
          intervalSeconds: settings.scrapeSeconds,
        });
      },
      close,
    };
    cleanups.push(() => stack.stopPrometheus());
    await stack.startPrometheus();
    return stack;
  } catch (err) {
    await close();
    throw err;
  }
}
