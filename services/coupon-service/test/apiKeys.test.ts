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

  it('remembers only keys that matched: a caller sending wrong keys grows nothing', () => {
    const fresh = new ApiKeyStore([
      { id: 'chat', sha256: sha256Hex('chat-secret'), scopes: ['coupons:issue'] },
    ]);
    for (let i = 0; i < 1000; i++) expect(fresh.authenticate(`guess-${i}`)).toBeUndefined();
    expect(fresh.matchedKeys).toBe(0);
    const first = fresh.authenticate('chat-secret');
    const again = fresh.authenticate('chat-secret');
    expect(again).toBe(first);
    expect(again?.keyId).toBe('chat');
    expect(fresh.authenticate('chat-secret ')).toBeUndefined();
    expect(fresh.matchedKeys).toBe(1);
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
