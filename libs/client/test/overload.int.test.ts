import type { ClaimOutcome } from '../src/outcomes';
import { clientOf, describeIfRedis, liveCampaign, stackFor, uniqueId } from './serviceHarness';
import { ManualClock, seeded } from './support';

/** What became of a claim: the service's coupon, its shed answer, or the throttle's refusal. */
function fate(outcome: ClaimOutcome): string {
  if (outcome.kind === 'overloaded') return outcome.source;
  return outcome.kind;
}

/**
 * The service sheds (a pod whose token bucket lets 2 claims a second through), then recovers
 * (the load balancer sends the client to a pod with room). The client's throttle stops sending
 * what would be shed, then lets traffic back.
 */
describeIfRedis('client-side throttling against a shedding service', () => {
  // The whole day's budget from the start (liveCampaign's default): the 380 claims below never
  // meet a sold-out shard, whatever the hour.
  const campaign = liveCampaign(uniqueId('client-overload'), { slicesPerDay: 1 });
  // A pod that sheds (behind the proxy at first), a healthy one.
  const stack = stackFor([campaign], {
    pods: [{ env: { ADMISSION_RATE: '2', ADMISSION_BURST: '2' } }, {}],
    proxied: [0],
  });

  it('engages when the service sheds and lets traffic back when it recovers', async () => {
    const [healthy, proxy] = [stack.pod(1), stack.proxy()];
    // The client's time moves only by the test, whatever real time does. A short window keeps
    // the test short: traffic comes back over a few windows after a spell of refusals.
    const clock = new ManualClock(Date.now());
    const client = clientOf(proxy.url, {
      clock,
      random: seeded(11),
      maxAttempts: 1,
      throttle: { k: 2, windowMs: 2_000, minRequests: 10 },
    });
    const claimAt = async (i: number, stepMs: number): Promise<string> => {
      const outcome = await client.claim({ campaignId: campaign.id, userId: `o${i}` });
      clock.advance(stepMs);
      return fate(outcome);
    };
    try {
      // Shedding: 80 claims over 2 s of the client's time.
      const shed: string[] = [];
      for (let i = 0; i < 80; i++) shed.push(await claimAt(i, 25));
      const sentWhileShedding = proxy.seen.length;
      expect(shed.filter((f) => f === 'service').length).toBeGreaterThanOrEqual(8);
      expect(shed.filter((f) => f === 'throttle').length).toBeGreaterThanOrEqual(40);
      // Past the first answers, far fewer than the 80 claims reached the service.
      expect(sentWhileShedding).toBeLessThan(40);
      expect(client.state().throttle.claim).toBeGreaterThan(0.5);

      // Recovered: the load balancer now sends new connections to a pod with room.
      proxy.backends = [healthy.port];
      proxy.dropConnections();
      // 10 claims a second for 30 s.
      const recovered: string[] = [];
      for (let i = 0; i < 300; i++) recovered.push(await claimAt(1000 + i, 100));
      // At first the throttle still holds most back; by the end, every claim gets a coupon.
      expect(recovered.slice(0, 20).filter((f) => f === 'throttle').length).toBeGreaterThan(10);
      expect(recovered.slice(-100)).toEqual(Array(100).fill('issued'));
      expect(recovered).not.toContain('service');
      expect(client.state().throttle.claim).toBe(0);
    } finally {
      await client.close();
    }
  });
});
