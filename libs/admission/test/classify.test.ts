import { classify } from '../src';

const C = '/v1/campaigns/spring-festival-2027';

describe('classify', () => {
  it.each([
    ['POST', `${C}/coupons`, 'claim'],
    ['POST', `${C}/coupons/`, 'claim'],
    ['POST', `${C}/coupons?x=1`, 'claim'],
    ['POST', `${C}/coupons/ABCD-EFGH/redemptions`, 'redeem'],
    ['DELETE', `${C}/coupons/ABCD-EFGH/redemptions/order-1?userId=u1`, 'redeem'],
    ['GET', `${C}/coupons/ABCD-EFGH?userId=u1`, 'read'],
    ['GET', `${C}/budget`, 'read'],
    ['GET', C, 'read'],
  ] as const)('%s %s is %s', (method, url, priority) => {
    expect(classify(method, url)).toMatchObject({ priority, campaignId: 'spring-festival-2027' });
  });

  it.each([
    ['GET', '/healthz'],
    ['GET', '/readyz'],
    ['GET', '/v1/campaigns/'],
    ['GET', '/v1/other'],
    ['PUT', `${C}/coupons`],
    ['GET', `${C}/coupons`],
    ['POST', `${C}/budget`],
    ['DELETE', `${C}/coupons/ABCD/redemptions`],
    ['POST', `${C}/coupons/ABCD/redemptions/order-1`],
    ['POST', `${C}/coupons//redemptions`],
    ['GET', `${C}/coupons/ABCD/redemptions/o/extra`],
    ['POST', '/V1/CAMPAIGNS/x/coupons'],
    [undefined, undefined],
  ])('%s %s is other (never more than a claim)', (method, url) => {
    expect(classify(method, url).priority).toBe('other');
  });

  it('takes the userId of reads and reversals from the query, percent-decoded', () => {
    expect(classify('GET', `${C}/coupons/ABCD?userId=user-42`).userId).toBe('user-42');
    expect(classify('GET', `${C}/coupons/ABCD?a=1&userId=u%2042&b=2`).userId).toBe('u 42');
    expect(classify('DELETE', `${C}/coupons/ABCD/redemptions/o1?userId=u7`).userId).toBe('u7');
    expect(classify('GET', `${C}/coupons/ABCD?xuserId=u1`).userId).toBeUndefined();
    expect(classify('GET', `${C}/coupons/ABCD?userId=%E0%A4%A`).userId).toBeUndefined();
    expect(classify('GET', `${C}/coupons/ABCD?userId=`).userId).toBeUndefined();
    // A claim's userId is in its body, which the gate does not read.
    expect(classify('POST', `${C}/coupons?userId=u1`).userId).toBeUndefined();
  });
});
