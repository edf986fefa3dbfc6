import { Writable } from 'node:stream';
import { createLogger, redactUrl } from '../src';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('redacts authorization headers, api keys and coupon codes', () => {
    const out = capture();
    const log = createLogger({ level: 'info', destination: out.stream });
    log.info(
      {
        req: { headers: { authorization: 'Bearer s3cret', 'x-api-key': 'k3y', accept: '*/*' } },
        coupon: { code: 'ABCD-EFGH', valueFen: 2500 },
        apiKey: 'raw-key',
      },
      'hello',
    );
    const [line] = out.lines();
    const text = JSON.stringify(line);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('k3y');
    expect(text).not.toContain('ABCD-EFGH');
    expect(text).not.toContain('raw-key');
    expect(line).toMatchObject({
      level: 'info',
      msg: 'hello',
      req: { headers: { accept: '*/*' } },
      coupon: { valueFen: 2500 },
    });
  });

  it('honours the level', () => {
    const out = capture();
    const log = createLogger({ level: 'warn', destination: out.stream });
    log.info('quiet');
    log.warn('loud');
    expect(out.lines().map((l) => l.msg)).toEqual(['loud']);
  });
});

describe('redactUrl', () => {
  it('keeps the route shape and drops the coupon code', () => {
    expect(redactUrl('/v1/campaigns/c1/coupons/7XK2-M9QP?userId=u1')).toBe(
      '/v1/campaigns/c1/coupons/[redacted]?userId=u1',
    );
    expect(redactUrl('/v1/campaigns/c1/coupons/7XK2/redemptions/o1')).toBe(
      '/v1/campaigns/c1/coupons/[redacted]/redemptions/o1',
    );
    expect(redactUrl('/v1/campaigns/c1/coupons')).toBe('/v1/campaigns/c1/coupons');
  });

  it('whatever the letter case of the path', () => {
    expect(redactUrl('/V1/CAMPAIGNS/c1/COUPONS/7XK2-M9QP')).toBe(
      '/V1/CAMPAIGNS/c1/COUPONS/[redacted]',
    );
    expect(redactUrl('/v1/campaigns/c1/Coupons/7xk2')).toBe('/v1/campaigns/c1/Coupons/[redacted]');
  });

  it('drops a key a caller put in the query string, keeping the rest', () => {
    expect(redactUrl('/v1/campaigns/c1?api_key=s3cret&userId=u1')).toBe(
      '/v1/campaigns/c1?api_key=[redacted]&userId=u1',
    );
    expect(redactUrl('/x?userId=u1&API-KEY=s3cret')).toBe('/x?userId=u1&API-KEY=[redacted]');
    expect(redactUrl('/x?token=t&access_token=a')).toBe(
      '/x?token=[redacted]&access_token=[redacted]',
    );
  });
});
