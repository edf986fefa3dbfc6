import { createHash, randomBytes } from 'node:crypto';
import { describeIfRedis } from '@coupons/testing';
import { claimRequests, runClosedLoop, runOpenModel, type LoadReport } from '@coupons/runner';
import { campaignsFile, MAIN, runBuilt, type Started } from './cli';
import { liveCampaign, standaloneRedisUrl, uniqueId, until } from './support';

const DAY_MS = 86_400_000;

/** The built service as its own process (the load generator must not share its event loop). */
function startPod(campaignId: string, apiKey: string): Started {
  // Far more budget than a run can spend, today's whole tranche out since yesterday.
  const campaign = liveCampaign(campaignId, {
    startsInMs: -DAY_MS,
    endsInMs: 7 * DAY_MS,
    coupons: 10_000_000_000,
    perUser: { daily: 5, total: 5 },
    slicesPerDay: 1,
    shards: 16,
  });
  const sha256 = createHash('sha256').update(apiKey).digest('hex');
  return runBuilt(MAIN, {
    LEDGER_AUTO_INIT: 'true',
    PORT: '0',
    METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    REDIS_URL: standaloneRedisUrl(),
    CAMPAIGNS_FILE: campaignsFile([campaign]),
    COUPON_API_KEYS: JSON.stringify([{ id: 'open', sha256, scopes: ['coupons:issue'] }]),
    USER_RATE_LIMIT: 'off',
    SHUTDOWN_GRACE_MS: '1000',
  });
}

const shedShare = (report: LoadReport) => report.shed / Math.max(1, report.sent);

/**
 * Open model (arrivals on a fixed timeline, a new user each) well below capacity: a pod with
 * headroom sheds nothing. The capacity is the same pod's closed-loop throughput, measured first
 * in the same run, so a busy machine lowers both alike.
 */
describeIfRedis('open model below capacity: nothing is shed', () => {
  const campaignId = uniqueId('open-model');
  const apiKey = `open_${randomBytes(18).toString('base64url')}`;
  let pod: ReturnType<typeof startPod>;
  let baseUrl: string;

  beforeAll(async () => {
    pod = startPod(campaignId, apiKey);
    const port = await until(
      'the ready line',
      () => {
        const found = /coupon-service ready on http:\/\/127\.0\.0\.1:(\d+)/.exec(pod.stderr());
        return found?.[1];
      },
      20_000,
    );
    baseUrl = `http://127.0.0.1:${port}`;
  }, 30_000);
  afterAll(async () => {
    const exited = new Promise((done) => pod?.child.once('exit', done));
    pod?.child.kill('SIGTERM');
    await exited;
  });

  it('at 0.5x and 0.7x of the closed-loop capacity: at most 0.1% shed', async () => {
    const requests = (runId: string) => claimRequests({ campaign: campaignId, apiKey, runId });
    const closed = await runClosedLoop({
      baseUrl,
      concurrency: 32,
      warmupMs: 1000,
      durationMs: 3000,
      makeRequest: requests('closed'),
    });
    const capacity = closed.goodputPerSecond;
    expect(capacity).toBeGreaterThan(50);
    for (const multiple of [0.5, 0.7]) {
      const rate = Math.round(multiple * capacity);
      const report = await runOpenModel({
        baseUrl,
        startRate: 0,
        stages: [
          { durationMs: 1000, targetRate: rate },
          { durationMs: 4000, targetRate: rate },
        ],
        makeRequest: requests(`open-${multiple}`),
      });
      const seen = {
        multiple,
        rate,
        capacity: Math.round(capacity),
        sent: report.sent,
        shedShare: shedShare(report),
        servedP99Ms: report.servedLatencyMs.p99,
      };
      expect(seen).toEqual({ ...seen, shedShare: expect.any(Number) });
      expect(report.timeouts + report.errors).toBe(0);
      expect({ multiple, shedShare: seen.shedShare <= 0.001 }).toEqual({
        multiple,
        shedShare: true,
      });
    }
  }, 60_000);
});
