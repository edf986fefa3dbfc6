import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import {
  contractRoute,
  ERRORS,
  errorBodySchema,
  isErrorCode,
  type ContractRoute,
  type RouteName,
} from '@coupons/contract';
import { openApiJson } from '../src/cli/openapi';
import {
  couponApi,
  KEYS,
  uniqueId,
  type ApiAnswer,
  type TestService,
  useLiveCampaignService,
} from './support';

/**
 * The service answers what the contract package says: every success body parses with the route's
 * schema and nothing is left over (a field the contract does not name fails), every error is the
 * contract's shape with a code the route lists, and /openapi.json is the committed document.
 */
describe('the service against its contract', () => {
  let service: TestService;
  const campaign = useLiveCampaignService('contract', { minOrderFen: 100 }, (s) => (service = s));

  /** Parsing drops fields the schema does not name: equal means the body has none of those. */
  function conforms(name: RouteName, answer: ApiAnswer): void {
    const route: ContractRoute = contractRoute(name);
    if (answer.status === route.success.status) {
      const parsed = (route.success.schema as z.ZodType).parse(answer.body);
      expect(parsed).toEqual(answer.body);
      return;
    }
    const { error } = errorBodySchema.parse(answer.body);
    expect(isErrorCode(error.code) && ERRORS[error.code].status).toBe(answer.status);
    expect([name, error.code, route.errors.includes(error.code as never)]).toEqual([
      name,
      error.code,
      true,
    ]);
  }

  it('answers every route in the contract’s shape, successes and refusals', async () => {
    const api = couponApi(service, campaign.id);
    const user = uniqueId('u');
    const claimed = await api.claim(user, 'k-1');
    expect(claimed.status).toBe(201);
    conforms('claim', claimed);
    conforms('claim', await api.claim(user, 'k-1'));
    conforms('claim', await api.call('POST', '/coupons', { body: { userId: user } }));
    const code = (claimed.body as { coupon: { code: string } }).coupon.code;
    conforms('readCoupon', await api.read(code, user));
    conforms('readCoupon', await api.read(code, 'someone-else'));
    const order = { userId: user, orderId: 'o-1', orderAmountFen: 5_000 };
    const redeemed = await api.redeem(code, order);
    expect(redeemed.status).toBe(201);
    conforms('redeem', redeemed);
    conforms('redeem', await api.redeem(code, { ...order, orderId: 'o-2' }));
    conforms('redeem', await api.redeem(code, { ...order, orderAmountFen: 1 }));
    const reversed = await api.reverse(code, 'o-1', user);
    expect(reversed.status).toBe(200);
    conforms('reverse', reversed);
    conforms('reverse', await api.reverse(code, 'no-such-order', user));
    conforms('budget', await api.budget());
    conforms('campaign', await api.call('GET', ''));
    const forbidden = await couponApi(service, campaign.id, KEYS.readOnly).budget();
    expect(forbidden.status).toBe(403);
    conforms('budget', forbidden);
    const unknownCampaign = await couponApi(service, 'no-such-campaign').budget();
    conforms('budget', unknownCampaign);
    for (const [name, path] of [
      ['health', '/healthz'],
      ['ready', '/readyz'],
    ] as const) {
      const res = await fetch(`${service.base}${path}`);
      conforms(name, { status: res.status, headers: res.headers, body: await res.json(), ms: 0 });
    }
  });

  it('serves the committed OpenAPI document at /openapi.json, without a key (npm run openapi writes it)', async () => {
    const res = await fetch(`${service.base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const served: unknown = await res.json();
    const committed = readFileSync(join(__dirname, '../../../docs/openapi.json'), 'utf8');
    expect(committed).toBe(openApiJson());
    expect(served).toEqual(JSON.parse(committed));
  });
});
