import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';

import { API_SCOPES, type ApiScope } from '@coupons/contract';

export { API_SCOPES, type ApiScope };

/** A key as configured: never the key itself, only its SHA-256. */
export interface ApiKeyRecord {
  id: string;
  sha256: string;
  scopes: readonly ApiScope[];
}

export interface ApiPrincipal {
  keyId: string;
  scopes: ReadonlySet<ApiScope>;
}

export function sha256Hex(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export class ApiKeyStore {
  private readonly entries: { digest: Buffer; principal: ApiPrincipal }[];
  /**
   * Keys already matched, by the exact string presented: a hit skips the hash and the compares.
   * Only a presented string equal to a configured key gets in (it must hash to its SHA-256), so
   * the map holds at most one entry per configured key, whatever a caller sends, and a hit tells
   * a caller nothing its 2xx would not.
   */
  private readonly matched = new Map<string, ApiPrincipal>();

  constructor(records: readonly ApiKeyRecord[]) {
    this.entries = records.map((record) => ({
      digest: Buffer.from(record.sha256, 'hex'),
      principal: { keyId: record.id, scopes: new Set(record.scopes) },
    }));
  }

  /**
   * The principal of a presented key, or undefined. A key not matched before is compared by its
   * SHA-256 with every configured key in constant time, not stopping at the first match, so
   * timing says nothing about which key (if any) was close.
   */
  authenticate(presentedKey: string): ApiPrincipal | undefined {
    const known = this.matched.get(presentedKey);
    if (known !== undefined) return known;
    const digest = hash('sha256', presentedKey, 'buffer');
    let found: ApiPrincipal | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest) && found === undefined) found = entry.principal;
    }
    if (found !== undefined) this.matched.set(presentedKey, found);
    return found;
  }

  /** How many presented keys are remembered as matched (at most the configured keys). */
  get matchedKeys(): number {
    return this.matched.size;
  }
}

/** `Bearer <key>`: the scheme in any case (RFC 7235), one or more spaces, a printable key. */
const BEARER = /^bearer +([\x21-\x7e]{1,512})$/i;

/**
 * Authorization header values to principals, with the valid ones remembered by their exact value
 * (bounded), so a pod answering thousands of claims a second hashes each caller's key once.
 * Unknown values are not remembered: nothing a caller without a valid key sends is kept.
 */
export class Authenticator {
  private readonly known = new LRUCache<string, ApiPrincipal>({ max: 1024 });

  constructor(private readonly store: ApiKeyStore) {}

  principalOf(authorization: string | undefined): ApiPrincipal | undefined {
    if (authorization === undefined) return undefined;
    const cached = this.known.get(authorization);
    if (cached !== undefined) return cached;
    const key = BEARER.exec(authorization)?.[1];
    const principal = key === undefined ? undefined : this.store.authenticate(key);
    if (principal !== undefined) this.known.set(authorization, principal);
    return principal;
  }
}

/** A throw-away key for development: all scopes, new at every start. */
export function createDevKey(): { key: string; record: ApiKeyRecord } {
  const key = `dev_${randomBytes(24).toString('base64url')}`;
  return { key, record: { id: 'dev', sha256: sha256Hex(key), scopes: [...API_SCOPES] } };
}
