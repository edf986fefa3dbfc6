import type { IncomingMessage } from 'node:http';
import express from 'express';
import { AdmissionGate } from '@coupons/admission';
import { BudgetLedger } from '@coupons/budget-ledger';
import { describeIfRedis } from '@coupons/testing';
import { AdmissionControl } from '../src/frontDoor/admissionControl';
import { BodyReader } from '../src/frontDoor/bodyReader';
import { LedgerGateway } from '../src/ledger/ledgerGateway';
import { couponApi, liveCampaign, uniqueId, type TestService, startReadyService } from './support';

/**
 * One claim walked through the layers (docs/architecture.md, "One claim"): each layer is entered
 * once, in the order of the diagram, and none is entered again on the way back but the front
 * door's own close handler handing the answer to admission. The real service, real Redis: the
 * layers' methods are watched (and called through), never replaced.
 */
describeIfRedis('a claim walks the layers in order', () => {
  const campaign = liveCampaign(uniqueId('walk'));
  let service: TestService;
  /** Requests express handled: express copies `handle` into each app it makes, so watched first. */
  const expressHandled: string[] = [];

  beforeAll(async () => {
    const proto = express.application as unknown as {
      handle(req: IncomingMessage, ...rest: unknown[]): unknown;
    };
    const handle = proto.handle;
    jest.spyOn(proto, 'handle').mockImplementation(function (this: unknown, req, ...rest) {
      expressHandled.push(`${req.method} ${req.url}`);
      return handle.call(this, req, ...rest);
    });
    service = await startReadyService({ clock: 'redis', campaigns: [campaign] });
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await service?.stop();
  });

  it('server -> front door (body, admission) -> HTTP layers, not express -> ledger gateway -> ledger -> back, then admission learns', async () => {
    const walk: string[] = [];
    const watch = <T extends object>(proto: T, method: keyof T & string, name: string) => {
      const original = proto[method] as unknown as (...args: unknown[]) => unknown;
      jest.spyOn(proto, method as never).mockImplementation(function (
        this: unknown,
        ...args: unknown[]
      ) {
        walk.push(name);
        return original.apply(this, args);
      } as never);
    };
    service.server.api.prependListener('request', () => walk.push('server'));
    watch(BodyReader.prototype, 'read', 'frontDoor/bodyReader');
    watch(AdmissionGate.prototype, 'admit', 'admission gate');
    watch(LedgerGateway.prototype, 'issue', 'ledger/ledgerGateway');
    watch(BudgetLedger.prototype, 'issue', 'budget-ledger');
    watch(AdmissionControl.prototype, 'learn', 'frontDoor/admissionControl.learn');
    expressHandled.length = 0; // the readiness polls of the start
    const answer = await couponApi(service, campaign.id).call('POST', '/coupons', {
      body: { userId: 'walker' },
      headers: { 'Idempotency-Key': 'walk-1', 'X-User-Id': 'walker' },
    });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-request-id')).toEqual(expect.any(String));
    await new Promise((resolve) => setImmediate(resolve));
    expect(walk).toEqual([
      'server',
      'frontDoor/bodyReader',
      'admission gate',
      'ledger/ledgerGateway',
      'budget-ledger',
      'frontDoor/admissionControl.learn',
    ]);
    // The front door routed the claim already: express's router never sees it.
    expect(expressHandled).toEqual([]);
  });

  it('every other route goes through express (the watch above sees it)', async () => {
    expressHandled.length = 0;
    const answer = await couponApi(service, campaign.id).call('GET', '/budget');
    expect(answer.status).toBe(200);
    expect(expressHandled).toEqual([`GET /v1/campaigns/${campaign.id}/budget`]);
  });
});
