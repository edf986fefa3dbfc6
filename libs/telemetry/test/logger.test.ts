import { Writable } from 'node:stream';
import { createLogger, redactUrl, withoutUserinfo } from '../src';

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
  it.each([
    [
      '/v1/campaigns/c1/coupons/7XK2-M9QP?userId=u1',
      '/v1/campaigns/c1/coupons/[redacted]?userId=u1',
    ],
    [
      '/v1/campaigns/c1/coupons/7XK2/redemptions/o1',
      '/v1/campaigns/c1/coupons/[redacted]/redemptions/o1',
    ],
    ['/v1/campaigns/c1/coupons', '/v1/campaigns/c1/coupons'],
  ])('keeps the route shape and drops the coupon code: %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it.each([
    ['/V1/CAMPAIGNS/c1/COUPONS/7XK2-M9QP', '/V1/CAMPAIGNS/c1/COUPONS/[redacted]'],
    ['/v1/campaigns/c1/Coupons/7xk2', '/v1/campaigns/c1/Coupons/[redacted]'],
  ])('whatever the letter case of the path: %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it("shows the API's own query parameters, and any other by name only", () => {
    expect(redactUrl('/v1/campaigns/c1?api_key=s3cret&userId=u1')).toBe(
      '/v1/campaigns/c1?api_key=[redacted]&userId=u1',
    );
    expect(redactUrl('/x?userId=u1&API-KEY=s3cret')).toBe('/x?userId=u1&API-KEY=[redacted]');
    // No list of secret names: whatever a caller calls it, a value the API does not read is hidden.
    for (const name of ['auth', 'secret', 'password', 'x-api-key', 'sig', 'api%5Fkey', 'userid'])
      expect(redactUrl(`/healthz?${name}=hunter2&userId=u1`)).toBe(
        `/healthz?${name}=[redacted]&userId=u1`,
      );
    expect(redactUrl('/x?hunter2')).toBe('/x?hunter2=[redacted]');
    expect(redactUrl('/x?userId=u1#hunter2')).toBe('/x?userId=u1#[redacted]');
    expect(redactUrl(`/x?${'k'.repeat(500)}=v`)).toBe(`/x?${'k'.repeat(64)}=[redacted]`);
  });
});

describe('withoutUserinfo', () => {
  it.each([
    ['redis://default:hunter2@10.0.0.1:6379/0', 'redis://***@10.0.0.1:6379/0'],
    ['postgresql://rec:p%40ss@db:5432/coupons', 'postgresql://***@db:5432/coupons'],
    // Unescaped "@" or "/" in a password: still nothing of it shown.
    ['rediss://:a@b/c@host:6380', 'rediss://***@host:6380'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
  ])('hides the userinfo of a URL, where its password is: %s', (url, shown) => {
    expect(withoutUserinfo(url)).toBe(shown);
  });
});
