import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock, parseCampaigns } from '@coupons/campaign';
import { Redis } from 'ioredis';
import { createServiceMetrics } from '@coupons/telemetry';
import { Registry } from 'prom-client';
import { AdmissionControl } from '../src/frontDoor/admissionControl';
import { ApiKeyStore, Authenticator, sha256Hex } from '../src/frontDoor/apiKeys';
import { CampaignCatalog } from '../src/campaignCatalog';
import { BodyReader } from '../src/frontDoor/bodyReader';
import { FrontDoor, contextOf } from '../src/frontDoor/frontDoor';
import { parseEnv } from '../src';
import { liveCampaign, standaloneRedisUrl, uniqueId, until } from './support';

const KEY = 'front-door-key';
const auth = { authorization: `Bearer ${KEY}` };

/**
 * The raw request handler in front of the app, with a stand-in app that records what reaches it:
 * what the front door decides is visible without express in the way.
 */
describe('the admission front door', () => {
  const campaign = liveCampaign(uniqueId('front-door'));
  let redis: Redis;
  let admission: AdmissionControl;
  let server: Server;
  let base: string;
  const reached: string[] = [];
  /** Requests the stand-in app holds open until the test answers them. */
  const held = new Map<string, () => void>();

  beforeAll(async () => {
    redis = new Redis(standaloneRedisUrl(), { maxRetriesPerRequest: 1 });
    const config = parseEnv({ NODE_ENV: 'test', USER_RATE_LIMIT: 'off' }, process.cwd(), {
      apiKeys: 'ignore',
    });
    const catalog = new CampaignCatalog(parseCampaigns({ campaigns: [campaign] }));
    admission = new AdmissionControl({
      config: config.admission,
      redis,
      clock: new ManualClock(Date.now()),
      catalog,
    });
    const authenticator = new Authenticator(
      new ApiKeyStore([{ id: 'k', sha256: sha256Hex(KEY), scopes: ['budget:read'] }]),
    );
    const metrics = createServiceMetrics(new Registry()).http;
    const frontDoor = new FrontDoor({
      authenticator,
      admission,
      bodies: new BodyReader(1000),
      metrics,
      catalog,
    });
    const app = (req: IncomingMessage, res: ServerResponse) => {
      reached.push(`${req.method} ${req.url}`);
      const admitted = contextOf(res as unknown as { locals: Record<string, unknown> }).admitted;
      const answer = () =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ priority: admitted?.priority ?? null }));
      const hold = req.headers['x-hold'];
      if (typeof hold === 'string') held.set(hold, answer);
      else answer();
    };
    server = createServer(frontDoor.listener({ app }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    admission.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await redis.quit();
  });

  const inflight = () =>
    Object.values(admission.reading().inflight).reduce((a: number, b) => a + (b ?? 0), 0);

  it('passes admitted work to the app with its decision, and frees the slot when answered', async () => {
    const answer = await fetch(`${base}/v1/campaigns/${campaign.id}/budget`, { headers: auth });
    expect(await answer.json()).toEqual({ priority: 'read' });
    expect(reached.at(-1)).toBe(`GET /v1/campaigns/${campaign.id}/budget`);
    expect(inflight()).toBe(0);
  });

  it('frees the slot of a request whose caller went away before the answer', async () => {
    const gone = request(`${base}/v1/campaigns/${campaign.id}/budget`, {
      headers: { 'x-hold': 'gone', ...auth },
    });
    gone.on('error', () => undefined);
    gone.end();
    await until('the held request', () => held.has('gone') || undefined);
    expect(inflight()).toBe(1);
    gone.destroy();
    await until('the slot freed', () => inflight() === 0 || undefined);
    held.get('gone')?.();
  });

  it('while draining answers 503 UNAVAILABLE with Connection: close, the app never reached; probes still pass', async () => {
    const before = reached.length;
    admission.startDraining();
    const answer = await fetch(`${base}/v1/campaigns/${campaign.id}/coupons`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"userId":"u1"}',
    });
    expect(answer.status).toBe(503);
    expect(answer.headers.get('connection')).toBe('close');
    const body = (await answer.json()) as { error: { code: string; retryAfterSeconds: number } };
    expect(body.error.code).toBe('UNAVAILABLE');
    expect(answer.headers.get('retry-after')).toBe(String(body.error.retryAfterSeconds));
    expect(reached.length).toBe(before);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect(reached.at(-1)).toBe('GET /readyz');
    expect(admission.reading().shed.draining?.claim).toBe(1);
  });
});
