import { CONTRACT_ROUTES } from '@coupons/contract';
import { LOGGED_QUERY_PARAMETERS, redactUrl } from '@coupons/telemetry';

describe('the request log’s query allow-list', () => {
  it('is exactly the query parameters the contract’s routes read', () => {
    const read = new Set(CONTRACT_ROUTES.flatMap((route) => Object.keys(route.query?.shape ?? {})));
    expect([...LOGGED_QUERY_PARAMETERS].sort()).toEqual([...read].sort());
    for (const name of read)
      expect(redactUrl(`/v1/campaigns/c1?${name}=v&other=s3cret`)).toBe(
        `/v1/campaigns/c1?${name}=v&other=[redacted]`,
      );
  });
});
