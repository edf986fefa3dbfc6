import { ApiKeyStore, createDevKey, sha256Hex } from '../src';

describe('ApiKeyStore', () => {
  const store = new ApiKeyStore([
    { id: 'chat', sha256: sha256Hex('chat-secret'), scopes: ['coupons:issue', 'coupons:read'] },
    { id: 'ops', sha256: sha256Hex('ops-secret'), scopes: ['budget:read'] },
  ]);

  it('finds the key whose hash matches, with its scopes', () => {
    const principal = store.authenticate('ops-secret');
    expect(principal?.keyId).toBe('ops');
    expect([...(principal?.scopes ?? [])]).toEqual(['budget:read']);
    expect(store.authenticate('chat-secret')?.keyId).toBe('chat');
  });

  it('refuses unknown keys, near misses and the stored hash itself', () => {
    expect(store.authenticate('ops-secreT')).toBeUndefined();
    expect(store.authenticate('')).toBeUndefined();
    expect(store.authenticate(sha256Hex('ops-secret'))).toBeUndefined();
  });

  it('makes a fresh development key with every scope', () => {
    const a = createDevKey();
    const b = createDevKey();
    expect(a.key).not.toBe(b.key);
    expect(a.key.length).toBeGreaterThan(30);
    const principal = new ApiKeyStore([a.record]).authenticate(a.key);
    expect([...(principal?.scopes ?? [])].sort()).toEqual([
      'budget:read',
      'coupons:issue',
      'coupons:read',
      'coupons:redeem',
    ]);
  });
});
