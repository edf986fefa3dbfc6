import { claimKeyFor, newClaimKey } from '../src/idempotency';
import { UncertainClaims } from '../src/uncertainClaims';
import { isIdempotencyKey } from '../src/wire';

describe('claim keys', () => {
  it('derives the same key from the same intent, a different one otherwise', () => {
    const key = claimKeyFor('chat', 'msg-1');
    expect(claimKeyFor('chat', 'msg-1')).toBe(key);
    expect(claimKeyFor('chat', 'msg-2')).not.toBe(key);
    expect(claimKeyFor('web', 'msg-1')).not.toBe(key);
    // The separator keeps the namespace and the id apart.
    expect(claimKeyFor('a', 'b:c')).not.toBe(claimKeyFor('a:b', 'c'));
  });

  it('makes keys the service accepts, from any intent id', () => {
    for (const id of ['m', 'x'.repeat(10_000), '消息-42', ' spaced ', '\n'])
      expect(isIdempotencyKey(claimKeyFor('chat-backend', id))).toBe(true);
    expect(isIdempotencyKey(newClaimKey())).toBe(true);
    expect(newClaimKey()).not.toBe(newClaimKey());
  });

  it('refuses an empty namespace or intent id', () => {
    expect(() => claimKeyFor('', 'm')).toThrow(RangeError);
    expect(() => claimKeyFor('chat', '')).toThrow(RangeError);
  });
});

describe('UncertainClaims', () => {
  it('remembers claims until they settle', () => {
    const claims = new UncertainClaims();
    const key = UncertainClaims.keyOf('spring', 'alice', 'k1');
    claims.add(key);
    expect(claims.has(key)).toBe(true);
    expect(claims.has(UncertainClaims.keyOf('spring', 'bob', 'k1'))).toBe(false);
    claims.settle(key);
    expect(claims.has(key)).toBe(false);
  });

  it('is bounded: the least recently added goes first', () => {
    const claims = new UncertainClaims(2);
    claims.add('a');
    claims.add('b');
    claims.add('a'); // refreshed
    claims.add('c');
    expect([claims.has('a'), claims.has('b'), claims.has('c')]).toEqual([true, false, true]);
    expect(claims.size).toBe(2);
  });
});
