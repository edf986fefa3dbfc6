import fc from 'fast-check';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { deflateSync, gzipSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import type { ApiScope } from '../../src';
import { ERROR_STATUS } from '../../src/answers/errors';
import { RouteTable } from '../../src/frontDoor/routeTable';
import { redisState, stateChanges, type RedisState } from '../redisState';
import { KEYS } from '../support';

/**
 * A property-based fuzzer of the HTTP API: fast-check makes requests (methods, paths, query
 * strings, headers, framings, bodies), each is written byte for byte on its own socket to the
 * real service on a real Redis, and every answer must hold to the contract:
 *
 * - an answer comes: no request is left hanging, and none is dropped without one (node answers
 *   what it cannot parse itself, in the contract's JSON: server.ts's clientError);
 * - no 5xx but 503 with Retry-After in the error shape (a 500 is a failure);
 * - every non-2xx is the JSON error shape `{"error":{"code","message",...}}`, its code one of
 *   the contract's and its status the code's;
 * - no 2xx for a caller without a valid key holding the route's scope (the probes aside);
 * - a request answered 4xx changed nothing in Redis (every key of the service's database): when
 *   the front door refused it, not a single key; once admitted, only the rate-limit counters of
 *   its own key and user (the limits count requests, refused ones too).
 *
 * Pinned by their own tests as well (fuzz.int.test.ts), since the fuzzer found them: CONNECT, an
 * Expect other than 100-continue, an HTTP/1.1 request without Host, and a whole request followed
 * on its connection by bytes node cannot parse (not generated: one request per connection here).
 */

/** The API keys the test service knows (support.ts), with the ids its limiters use. */
const KEY_IDS: Record<string, string> = {
  [KEYS.all]: 'all',
  [KEYS.readOnly]: 'reader',
  [KEYS.issueOnly]: 'issuer',
  [KEYS.redeemOnly]: 'redeemer',
  [KEYS.budgetOnly]: 'budget',
};
const KEY_SCOPES: Record<string, readonly ApiScope[]> = {
  [KEYS.all]: ['coupons:issue', 'coupons:read', 'coupons:redeem', 'budget:read'],
  [KEYS.readOnly]: ['coupons:read'],
  [KEYS.issueOnly]: ['coupons:issue'],
  [KEYS.redeemOnly]: ['coupons:redeem'],
  [KEYS.budgetOnly]: ['budget:read'],
};

/** What the fuzzer aims at: ids that exist, so requests get past the cheap refusals too. */
export interface FuzzWorld {
  port: number;
  campaignId: string;
  /** Users with coupons, and their codes (as issued: XXXX-XXXX-XXXX-XXXX). */
  users: readonly string[];
  codes: readonly string[];
  orderIds: readonly string[];
}

export type Framing =
  | { kind: 'length' }
  | { kind: 'none' }
  /** Content-Length below the body: the rest is read as the next request. */
  | { kind: 'short' }
  /** Content-Length above the body: the server waits for bytes that never come. */
  | { kind: 'long' }
  | { kind: 'chunked'; terminated: boolean; pieces: number }
  | { kind: 'bad-length'; value: string }
  | { kind: 'two-lengths'; same: boolean }
  | { kind: 'length-and-chunked' };

export interface FuzzRequest {
  method: string;
  target: string;
  version: string;
  headers: (readonly [string, string])[];
  body: string;
  /** gzip/deflate: the body is compressed and labelled; `gzip-label`: labelled, not compressed. */
  encoding: 'identity' | 'gzip' | 'deflate' | 'gzip-label' | 'br-label';
  framing: Framing;
}

function chunks(body: Buffer, pieces: number, terminated: boolean): Buffer {
  const parts: Buffer[] = [];
  const size = Math.max(1, Math.ceil(body.length / Math.max(1, pieces)));
  for (let at = 0; at < body.length; at += size) {
    const piece = body.subarray(at, at + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  if (terminated) parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** The request's bytes, exactly as they go on the wire. */
export function serialize(request: FuzzRequest): Buffer {
  let body = Buffer.from(request.body, 'utf8');
  const headers = [...request.headers];
  if (request.encoding === 'gzip') body = gzipSync(body);
  if (request.encoding === 'deflate') body = deflateSync(body);
  if (request.encoding !== 'identity')
    headers.push(['Content-Encoding', request.encoding.replace('-label', '')]);
  let payload: Buffer = body;
  const framing = request.framing;
  switch (framing.kind) {
    case 'length':
      headers.push(['Content-Length', String(body.length)]);
      break;
    case 'none':
      payload = Buffer.alloc(0);
      break;
    case 'short':
      headers.push(['Content-Length', String(Math.floor(body.length / 2))]);
      break;
    case 'long':
      headers.push(['Content-Length', String(body.length + 1 + (body.length >> 1))]);
      break;
    case 'chunked':
      headers.push(['Transfer-Encoding', 'chunked']);
      payload = chunks(body, framing.pieces, framing.terminated);
      break;
    case 'bad-length':
      headers.push(['Content-Length', framing.value]);
      break;
    case 'two-lengths':
      headers.push(['Content-Length', String(body.length)]);
      headers.push(['Content-Length', String(body.length + (framing.same ? 0 : 1))]);
      break;
    case 'length-and-chunked':
      headers.push(['Content-Length', String(body.length)], ['Transfer-Encoding', 'chunked']);
      payload = chunks(body, 1, true);
      break;
  }
  const head =
    `${request.method} ${request.target} ${request.version}\r\n` +
    headers.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
    '\r\n';
  return Buffer.concat([Buffer.from(head, 'utf8'), payload]);
}

// ---------------------------------------------------------------------------------------------
// Generators
//
// Two kinds of request, mixed 3:1. A "clean" one is valid HTTP that node hands to the service
// (any method token, any routing trick, any header or body content that HTTP allows), so it
// gets past the parser into the front door, the gate and express. A "dirty" one may also break
// HTTP itself: control characters, bad header names, lower-case or malformed methods, versions,
// broken framings, heads past 16 KiB. A request mixing many corruptions would only ever test the
// parser's first refusal.

const EDGE_NUMBERS = [
  '0',
  '-0',
  '0.0',
  '1',
  '-1',
  '0.5',
  '1999.99',
  '1e308',
  '-1e308',
  '1e309',
  '1e-320',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '-9007199254740993',
  '123456789012345678901234567890',
  '1E3',
  '5000',
  '999',
];

/** `text` without C0 controls and DEL (or, `lineBreaks`, without CR and LF only). */
function withoutControls(text: string, lineBreaks = false): string {
  return [...text]
    .filter((c) => {
      const code = c.charCodeAt(0);
      return lineBreaks ? code !== 13 && code !== 10 : code > 31 && code !== 127;
    })
    .join('');
}
const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
/** Any code point: unicode, lone surrogates, control characters. */
const anyText = fc.string({ unit: 'binary', maxLength: 40 });
/** Control characters node may or may not accept in a header value (never CR or LF). */
const controlChar = fc.constantFrom(
  '\x00',
  '\x01',
  '\x07',
  '\x08',
  '\t',
  '\x0b',
  '\x0c',
  '\x1b',
  '\x1f',
  '\x7f',
);

function headerValue(dirty: boolean): fc.Arbitrary<string> {
  const clean = fc.oneof(
    { weight: 6, arbitrary: printable },
    // Non-ASCII: on the wire as UTF-8 bytes, obs-text to HTTP.
    { weight: 2, arbitrary: anyText.map((s) => withoutControls(s)) },
  );
  if (!dirty) return clean;
  return fc.oneof(
    { weight: 3, arbitrary: clean },
    {
      weight: 2,
      arbitrary: fc
        .tuple(printable, controlChar, printable)
        .map(([a, c, b]) => `${a}${c}${b}`.trimStart()),
    },
    // Around node's 16 KiB limit on the whole head: under it, at it, past it.
    { weight: 1, arbitrary: fc.integer({ min: 8_000, max: 20_000 }).map((n) => 'h'.repeat(n)) },
  );
}

const percentEncode = (text: string) =>
  [...Buffer.from(text, 'utf8')]
    .map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)
    .join('');

const BAD_ESCAPES = ['%', '%z', '%zz', '%0', '%00', '%E0%A4', '%C0%AF', '%FF', '%%', '%u00e9'];

/** A path segment of any kind: noise, encodings valid and not, dot segments, long ones. */
function noiseSegment(dirty: boolean): fc.Arbitrary<string> {
  const clean = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{1,20}$/),
    anyText.map((s) => encodeURIComponent(s)),
    anyText.map(percentEncode),
    fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9]{0,6}$/), fc.constantFrom(...BAD_ESCAPES))
      .map(([a, b]) => a + b),
    fc.constantFrom('.', '..', '', '%2e', '%2E%2E', '%2F', '%5C', '%20', '+'),
    fc.integer({ min: 1_000, max: 8_000 }).map((n) => 'S'.repeat(n)),
  );
  if (!dirty) return clean;
  return fc.oneof(
    clean,
    // Raw: unicode as UTF-8 bytes, control characters, backslashes, as some clients send them.
    anyText.filter((s) => !/[\r\n ?#/]/.test(s)),
    fc.integer({ min: 8_000, max: 17_000 }).map((n) => 'S'.repeat(n)),
  );
}

function flipCase(text: string, seed: number): string {
  const chars = [...text];
  const at = seed % Math.max(1, chars.length);
  const c = chars[at] ?? '';
  chars[at] = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
  return chars.join('');
}

/** Changes to a path as a whole: what routers and proxies disagree about. */
type PathChange =
  | { kind: 'case'; at: number; seed: number }
  | { kind: 'double-slash'; at: number }
  | { kind: 'trailing-slash' }
  | { kind: 'dot'; at: number; dot: string }
  | { kind: 'escape'; at: number; escape: string }
  | { kind: 'encode-char'; at: number; seed: number };

const pathChange: fc.Arbitrary<PathChange> = fc.oneof(
  fc.record({ kind: fc.constant('case' as const), at: fc.nat(8), seed: fc.nat(1000) }),
  fc.record({ kind: fc.constant('double-slash' as const), at: fc.nat(8) }),
  fc.record({ kind: fc.constant('trailing-slash' as const) }),
  fc.record({
    kind: fc.constant('dot' as const),
    at: fc.nat(8),
    dot: fc.constantFrom('.', '..', '%2e', '%2e%2e'),
  }),
  fc.record({
    kind: fc.constant('escape' as const),
    at: fc.nat(8),
    escape: fc.constantFrom(...BAD_ESCAPES),
  }),
  fc.record({ kind: fc.constant('encode-char' as const), at: fc.nat(8), seed: fc.nat(1000) }),
);

function applyChanges(segments: string[], changes: readonly PathChange[]): string {
  const parts = [...segments];
  let trailing = false;
  for (const change of changes) {
    const at = 'at' in change ? change.at % Math.max(1, parts.length) : 0;
    switch (change.kind) {
      case 'case':
        parts[at] = flipCase(parts[at] ?? '', change.seed);
        break;
      case 'double-slash':
        parts.splice(at, 0, '');
        break;
      case 'trailing-slash':
        trailing = true;
        break;
      case 'dot':
        parts.splice(at, 0, change.dot);
        break;
      case 'escape':
        parts[at] = `${parts[at] ?? ''}${change.escape}`;
        break;
      case 'encode-char': {
        const chars = [...(parts[at] ?? '')];
        const i = change.seed % Math.max(1, chars.length);
        if (chars[i] !== undefined) chars[i] = percentEncode(chars[i]!);
        parts[at] = chars.join('');
        break;
      }
    }
  }
  return `/${parts.join('/')}${trailing ? '/' : ''}`;
}

/** Users: the world's (holding coupons), other valid ids, and ids that are not ids. */
function userArbitrary(world: FuzzWorld): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...world.users) },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/) },
    { weight: 1, arbitrary: anyText },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a'.repeat(65), 'ünïcode', 'a b') },
  );
}

/**
 * Requests aimed at `world`: 5 valid HTTP for 1 that may break HTTP itself. Each is about one
 * user, mostly named the same in the path's query, X-User-Id and the body, as a real caller does.
 */
function requestArbitrary(world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const user = userArbitrary(world);
  const about = (kind: Kind) =>
    fc
      .tuple(user, requests(world, kind))
      .map(([who, request]) => naming(request, who, kind === 'dirty'));
  return fc.oneof(
    { weight: 2, arbitrary: about('canonical') },
    { weight: 4, arbitrary: about('clean') },
    { weight: 1, arbitrary: about('dirty') },
  );
}

/**
 * Stands for the request's user until the request is whole (the generators are built once, not
 * per user): raw in headers, URI-encoded in a query, a JSON string in a body.
 */
const WHO = '\u{F0000}who\u{F0000}';
const WHO_IN_URI = encodeURIComponent(WHO);
const WHO_IN_JSON = JSON.stringify(WHO);

function naming(request: FuzzRequest, who: string, dirty: boolean): FuzzRequest {
  // A header value never holds CR or LF (that would be other headers), nor, when clean, a CTL.
  const inHeader = withoutControls(who, dirty);
  const name = (text: string, raw: string) =>
    text
      .split(WHO_IN_JSON)
      .join(JSON.stringify(who))
      .split(WHO_IN_URI)
      .join(encodeURIComponent(who))
      .split(WHO)
      .join(raw);
  return {
    ...request,
    target: name(request.target, who.replace(/[\r\n #?]/g, '')),
    headers: request.headers.map(([header, value]) => [header, name(value, inHeader)] as const),
    body: name(request.body, who),
  };
}

/**
 * `canonical`: what a caller means to send (the right method, key, headers and body shape),
 * varying what the ledger decides on: users, codes, orders, amounts, idempotency keys.
 * `clean`: valid HTTP, anything in it. `dirty`: may break HTTP too.
 */
type Kind = 'canonical' | 'clean' | 'dirty';

function requests(world: FuzzWorld, kind: Kind): fc.Arbitrary<FuzzRequest> {
  const dirty = kind === 'dirty';
  const noise = noiseSegment(dirty);
  const anyHeaderValue = headerValue(dirty);
  const someUser = userArbitrary(world);
  const user = fc.oneof(
    { weight: 6, arbitrary: fc.constant(WHO) },
    { weight: 1, arbitrary: someUser },
  );
  /** A user in a header value: never CR or LF, no CTL when clean. */
  const headerUser = user.map((u) => withoutControls(u, dirty));
  const code = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...world.codes) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...world.codes).map((c) => c.replace(/-/g, '').toLowerCase()),
    },
    // A well-formed code with a wrong check character, and codes of the right alphabet.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...world.codes)
        .map((c) => `${c.slice(0, -1)}${c.endsWith('0') ? '1' : '0'}`),
    },
    { weight: 1, arbitrary: fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{16}$/) },
    { weight: 2, arbitrary: noise },
  );
  const orderId = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...world.orderIds) },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,128}$/) },
    { weight: 2, arbitrary: noise },
  );
  const campaign = fc.oneof(
    { weight: 12, arbitrary: fc.constant(world.campaignId) },
    { weight: 1, arbitrary: fc.constant(world.campaignId.toUpperCase()) },
    { weight: 1, arbitrary: fc.constant('no-such-campaign') },
    { weight: 1, arbitrary: noise },
  );
  /** A route's path segments, with the method the route takes and the body it reads. */
  type Reads = 'claim' | 'redemption' | 'nothing';
  const route = (method: string, parts: fc.Arbitrary<string[]>, reads: Reads = 'nothing') =>
    parts.map((segments) => ({ method, segments, reads }));
  const routes = fc.oneof(
    {
      weight: 2,
      arbitrary: route(
        'GET',
        campaign.map((c) => ['v1', 'campaigns', c]),
      ),
    },
    {
      weight: 3,
      arbitrary: route(
        'GET',
        campaign.map((c) => ['v1', 'campaigns', c, 'budget']),
      ),
    },
    {
      weight: 6,
      arbitrary: route(
        'POST',
        campaign.map((c) => ['v1', 'campaigns', c, 'coupons']),
        'claim',
      ),
    },
    {
      weight: 4,
      arbitrary: route(
        'GET',
        fc.tuple(campaign, code).map(([c, k]) => ['v1', 'campaigns', c, 'coupons', k]),
      ),
    },
    {
      weight: 5,
      arbitrary: route(
        'POST',
        fc
          .tuple(campaign, code)
          .map(([c, k]) => ['v1', 'campaigns', c, 'coupons', k, 'redemptions']),
        'redemption',
      ),
    },
    {
      weight: 4,
      arbitrary: route(
        'DELETE',
        fc
          .tuple(campaign, code, orderId)
          .map(([c, k, o]) => ['v1', 'campaigns', c, 'coupons', k, 'redemptions', o]),
      ),
    },
    {
      weight: 1,
      arbitrary: route('GET', fc.constantFrom(['healthz'], ['readyz'], ['metrics'], [''])),
    },
    { weight: 1, arbitrary: route('GET', fc.array(noise, { minLength: 1, maxLength: 4 })) },
  );
  const queryValue = fc.oneof(
    { weight: 4, arbitrary: user.map((u) => encodeURIComponent(u)) },
    { weight: 1, arbitrary: fc.constantFrom('%zz', '%', '%00', '', '%E0%A4', '+', '%2B') },
    {
      weight: dirty ? 1 : 0,
      arbitrary: user.filter((u) => !/[\r\n #]/.test(u)),
    },
  );
  const query = fc.oneof(
    { weight: 3, arbitrary: fc.constant('') },
    { weight: 6, arbitrary: queryValue.map((v) => `?userId=${v}`) },
    {
      weight: 2,
      arbitrary: fc
        .array(
          fc.tuple(
            fc.oneof(fc.constant('userId'), fc.constant('userId[]'), fc.string({ maxLength: 8 })),
            queryValue,
          ),
          { maxLength: 4 },
        )
        .map((pairs) => `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${v}`).join('&')}`),
    },
    { weight: 1, arbitrary: fc.constantFrom('?', '??', '?&&', '#fragment', '?userId=a#b') },
  );
  const otherMethod = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('GET', 'POST', 'DELETE') },
    { weight: 3, arbitrary: fc.constantFrom('HEAD', 'PUT', 'PATCH', 'OPTIONS', 'TRACE') },
    {
      weight: 1,
      arbitrary: fc.constantFrom('PROPFIND', 'QUERY', 'M-SEARCH', 'PURGE', 'LINK', 'CONNECT'),
    },
    {
      weight: dirty ? 3 : 0,
      arbitrary: fc.constantFrom('get', 'post', 'Delete', 'FOO', 'BREW', 'G ET', 'GET\x00', ''),
    },
  );
  const target = fc
    .tuple(
      routes,
      fc.oneof(
        { weight: 5, arbitrary: fc.constant(undefined) },
        { weight: 2, arbitrary: otherMethod },
      ),
      fc.oneof(
        { weight: 4, arbitrary: fc.constant([]) },
        { weight: 1, arbitrary: fc.array(pathChange, { minLength: 1, maxLength: 3 }) },
      ),
      query,
    )
    .map(([{ method, segments, reads }, other, changes, q]) => ({
      method: other ?? method,
      target: applyChanges(segments, changes) + q,
      reads,
    }));

  const validKey = fc.oneof(
    { weight: 4, arbitrary: fc.constant(KEYS.all) },
    { weight: 1, arbitrary: fc.constantFrom(...Object.values(KEYS)) },
  );
  const authValue = fc.oneof(
    { weight: 14, arbitrary: validKey.map((k) => `Bearer ${k}`) },
    { weight: 1, arbitrary: validKey.map((k) => `bearer    ${k}`) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom('Bearer', 'Bearer ', 'Token x', 'Basic YTpi', 'Bearer not-a-key'),
        validKey.map((k) => `Bearer ${k}x`),
        validKey.map((k) => `Bearer\t${k}`),
        validKey.map((k) => `Bearer ${k} ${k}`),
        anyHeaderValue.map((v) => `Bearer ${v}`),
      ),
    },
  );
  const idempotencyKey = fc.oneof(
    { weight: 12, arbitrary: fc.stringMatching(/^[!-~][ -~]{0,30}[!-~]$/) },
    { weight: 1, arbitrary: fc.constantFrom('', 'k'.repeat(256), 'k'.repeat(255), 'ключ') },
    { weight: 2, arbitrary: anyHeaderValue },
  );
  const timeoutValue = fc.oneof(
    fc.nat(20_000).map(String),
    fc.constantFrom('', '0', '-1', '1e3', 'abc', '99999999999', '2000 ', '00005', '1.5'),
  );
  const contentType = fc.oneof(
    { weight: 24, arbitrary: fc.constant('application/json') },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'application/json; charset=utf-8',
        'Application/JSON; Charset="UTF-8"',
        'application/json; charset=latin1',
        'application/json; charset=utf-16',
        'application/json;charset',
        'application/vnd.api+json',
        'application/json, text/plain',
        'text/plain',
        'application/x-www-form-urlencoded',
        '*/*',
        '',
      ),
    },
    { weight: 1, arbitrary: anyHeaderValue },
  );
  /** A header of a name: none, once, or twice. */
  const times = <T>(value: fc.Arbitrary<T>, weights: [number, number, number]) =>
    fc.oneof(
      { weight: weights[0], arbitrary: fc.constant<T[]>([]) },
      { weight: weights[1], arbitrary: value.map((v) => [v]) },
      { weight: weights[2], arbitrary: fc.tuple(value, value).map(([a, b]) => [a, b]) },
    );
  const tokenName = fc
    .stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,24}$/)
    .filter((name) => name.toLowerCase() !== 'expect');
  const extraHeaders = fc.array(
    fc.tuple(
      fc.oneof(
        { weight: 6, arbitrary: tokenName },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            'X-Request-Id',
            'Accept',
            'Accept-Encoding',
            'Cookie',
            'Forwarded',
            'X-Forwarded-For',
            'Connection',
            'Upgrade',
            'Range',
          ),
        },
        {
          weight: dirty ? 1 : 0,
          arbitrary: fc.constantFrom('Content-Length', 'Transfer-Encoding'),
        },
        // Not a token: node refuses the request.
        {
          weight: dirty ? 2 : 0,
          arbitrary: fc.constantFrom('Bad Name', 'Bad:Name', 'Bäd', '(x)', ''),
        },
      ),
      anyHeaderValue,
    ),
    { maxLength: 3 },
  );
  const headers = fc
    .record({
      auth: times(authValue, [1, 20, 1]),
      contentType: times(contentType, [1, 16, 1]),
      idempotencyKey: times(idempotencyKey, [1, 12, 1]),
      userIdHeader: times(headerUser, [3, 8, 1]),
      timeout: times(timeoutValue, [12, 3, 1]),
      expect: fc.oneof(
        { weight: 6, arbitrary: fc.constant(undefined) },
        { weight: 2, arbitrary: fc.constant('100-continue') },
        { weight: 1, arbitrary: fc.constantFrom('100-Continue', 'something-else', '') },
      ),
      extra: extraHeaders,
    })
    .map((h) => [
      ...h.auth.map((v) => ['Authorization', v] as const),
      ...h.contentType.map((v) => ['Content-Type', v] as const),
      ...h.idempotencyKey.map((v) => ['Idempotency-Key', v] as const),
      ...h.userIdHeader.map((v) => ['X-User-Id', v] as const),
      ...h.timeout.map((v) => ['X-Request-Timeout-Ms', v] as const),
      ...(h.expect === undefined ? [] : [['Expect', h.expect] as const]),
      ...h.extra,
    ]);

  const number = fc.oneof(
    fc.constantFrom(...EDGE_NUMBERS),
    fc.double().map((d) => (Number.isFinite(d) ? JSON.stringify(d) : '0')),
    fc.integer().map(String),
  );
  const jsonString = (value: fc.Arbitrary<string>) => value.map((s) => JSON.stringify(s));
  const field = fc.oneof(
    { weight: 4, arbitrary: jsonString(user) },
    { weight: 2, arbitrary: number },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 10_000, max: 20_000 }).map((n) => `"${'u'.repeat(n)}"`),
    },
    // A string holding raw control characters is not JSON; escaped, it is.
    { weight: 1, arbitrary: controlChar.map((c) => `"a${c}b"`) },
    { weight: 1, arbitrary: controlChar.map((c) => JSON.stringify(`a${c}b`)) },
  );
  const claimBody = fc
    .record({
      userId: fc.oneof({ weight: 4, arbitrary: jsonString(user) }, { weight: 1, arbitrary: field }),
      extra: fc.option(fc.tuple(fc.string({ maxLength: 8 }), field), { freq: 4 }),
    })
    .map(
      ({ userId, extra }) =>
        `{"userId":${userId}${extra === null ? '' : `,${JSON.stringify(extra[0])}:${extra[1]}`}}`,
    );
  const redemptionBody = fc
    .record({
      userId: fc.oneof({ weight: 4, arbitrary: jsonString(user) }, { weight: 1, arbitrary: field }),
      orderId: fc.oneof(
        { weight: 4, arbitrary: jsonString(orderId) },
        { weight: 1, arbitrary: field },
      ),
      orderAmountFen: fc.oneof({ weight: 3, arbitrary: number }, { weight: 1, arbitrary: field }),
      drop: fc.option(fc.constantFrom('userId', 'orderId', 'orderAmountFen'), { freq: 4 }),
    })
    .map(
      ({ drop, ...fields }) =>
        `{${Object.entries(fields)
          .filter(([name]) => name !== drop)
          .map(([name, raw]) => `"${name}":${raw}`)
          .join(',')}}`,
    );
  const nested = fc
    .tuple(fc.integer({ min: 1, max: 12_000 }), fc.boolean())
    .map(([depth, arrays]) =>
      arrays
        ? `${'['.repeat(depth)}${']'.repeat(depth)}`
        : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
    );
  const invalidJson = fc.oneof(
    fc.constantFrom(
      '{',
      '{"userId":',
      "{'userId':'a'}",
      'NaN',
      'undefined',
      '{"userId":"a",}',
      '\uFEFF{"userId":"a"}',
      '{"userId":"a"}{"userId":"b"}',
      '{"__proto__":{"userId":"a"}}',
      '{"constructor":{"prototype":{"userId":"a"}}}',
      '{"userId":"a","userId":"b"}',
      '[]',
      '{}',
      'null',
      'true',
      '1',
      '"text"',
    ),
    anyText,
  );
  const anyBody = fc.oneof(
    { weight: 3, arbitrary: fc.constant('') },
    { weight: 2, arbitrary: claimBody },
    { weight: 2, arbitrary: redemptionBody },
    { weight: 2, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 1, arbitrary: nested },
    { weight: 2, arbitrary: invalidJson },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 16_000, max: 40_000 })
        .map((n) => `{"userId":"${'x'.repeat(n)}"}`),
    },
  );
  const framing: fc.Arbitrary<Framing> = fc.oneof(
    { weight: 24, arbitrary: fc.constant({ kind: 'length' as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'short' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'long' as const }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('chunked' as const),
        terminated: fc.boolean(),
        pieces: fc.integer({ min: 1, max: 5 }),
      }),
    },
    {
      weight: dirty ? 3 : 0,
      arbitrary: fc.oneof(
        fc.record({
          kind: fc.constant('bad-length' as const),
          value: fc.constantFrom('abc', '-1', '1, 1', '0x10', '+5', '99999999999999999999', ''),
        }),
        fc.record({ kind: fc.constant('two-lengths' as const), same: fc.boolean() }),
        fc.constant({ kind: 'length-and-chunked' as const }),
      ),
    },
  );
  const version = fc.oneof(
    { weight: 9, arbitrary: fc.constant('HTTP/1.1') },
    { weight: 1, arbitrary: fc.constant('HTTP/1.0') },
    {
      weight: dirty ? 1 : 0,
      arbitrary: fc.constantFrom('HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'HTTPS/1.1', 'http/1.1'),
    },
  );
  if (kind === 'canonical') {
    const ofWorld = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...world.codes) },
      { weight: 1, arbitrary: fc.stringMatching(/^[0-9A-HJKMNP-TV-Z]{16}$/) },
    );
    const order = fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...world.orderIds) },
      { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._-]{1,16}$/) },
    );
    const base = `/v1/campaigns/${world.campaignId}`;
    const forUser = `?userId=${WHO_IN_URI}`;
    const call = fc.oneof(
      fc.constant({ method: 'GET', target: base, body: '' }),
      fc.constant({ method: 'GET', target: `${base}/budget`, body: '' }),
      fc.constant({ method: 'POST', target: `${base}/coupons`, body: `{"userId":${WHO_IN_JSON}}` }),
      ofWorld.map((c) => ({ method: 'GET', target: `${base}/coupons/${c}${forUser}`, body: '' })),
      fc.tuple(ofWorld, order, number).map(([c, o, amount]) => ({
        method: 'POST',
        target: `${base}/coupons/${c}/redemptions`,
        body: `{"userId":${WHO_IN_JSON},"orderId":${JSON.stringify(o)},"orderAmountFen":${amount}}`,
      })),
      fc.tuple(ofWorld, order).map(([c, o]) => ({
        method: 'DELETE',
        target: `${base}/coupons/${c}/redemptions/${o}${forUser}`,
        body: '',
      })),
    );
    return fc
      .record({
        call,
        key: fc.constantFrom(KEYS.all, KEYS.all, KEYS.issueOnly, KEYS.redeemOnly),
        idempotencyKey: fc.stringMatching(/^[!-~]{1,12}$/),
        userIdHeader: fc.boolean(),
        timeout: fc.option(fc.integer({ min: 1, max: 3_000 }), { freq: 6 }),
      })
      .map(({ call, key, idempotencyKey, userIdHeader, timeout }) => ({
        method: call.method,
        target: call.target,
        version: 'HTTP/1.1',
        headers: [
          ['Host', '127.0.0.1'] as const,
          ['Authorization', `Bearer ${key}`] as const,
          ...(call.body === '' ? [] : [['Content-Type', 'application/json'] as const]),
          ['Idempotency-Key', idempotencyKey] as const,
          ...(userIdHeader ? [['X-User-Id', WHO] as const] : []),
          ...(timeout === null ? [] : [['X-Request-Timeout-Ms', String(timeout)] as const]),
        ],
        body: call.body,
        encoding: 'identity' as const,
        framing: { kind: call.body === '' ? ('none' as const) : ('length' as const) },
      }));
  }
  /** Mostly the body the route reads, as a caller sends it; else anything. */
  const bodyFor = (reads: Reads) =>
    reads === 'nothing'
      ? fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 1, arbitrary: anyBody })
      : fc.oneof(
          { weight: 3, arbitrary: reads === 'claim' ? claimBody : redemptionBody },
          { weight: 1, arbitrary: anyBody },
        );
  return target.chain(({ reads, ...line }) =>
    fc
      .record({
        line: fc.constant(line),
        version,
        headers,
        host: fc.oneof(
          { weight: 8, arbitrary: fc.constant<string[]>(['127.0.0.1']) },
          { weight: 1, arbitrary: fc.constant<string[]>(['127.0.0.1', 'evil.example']) },
          { weight: 1, arbitrary: anyHeaderValue.map((v): string[] => [v]) },
          { weight: 1, arbitrary: fc.constant<string[]>([]) },
        ),
        body: bodyFor(reads),
        encoding: fc.oneof(
          { weight: 12, arbitrary: fc.constant('identity' as const) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              'gzip' as const,
              'deflate' as const,
              'gzip-label' as const,
              'br-label' as const,
            ),
          },
        ),
        framing,
      })
      .map(({ line, host, headers: rest, ...request }) => ({
        ...request,
        ...line,
        headers: [...host.map((h) => ['Host', h] as const), ...rest],
      })),
  );
}

// ---------------------------------------------------------------------------------------------
// The exchange

export interface Answer {
  kind: 'answer';
  status: number;
  /** Header names in lower case; a header sent twice keeps both values, joined by ", ". */
  headers: Record<string, string>;
  body: Buffer;
}
export type Outcome = Answer | { kind: 'closed' } | { kind: 'timeout' };

/** Parses the first final response in `data` (1xx skipped); undefined while incomplete. */
function parseResponse(data: Buffer, head: boolean, ended: boolean): Answer | undefined {
  let offset = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', offset);
    if (end < 0) return undefined;
    const [statusLine = '', ...lines] = data.subarray(offset, end).toString('latin1').split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const start = end + 4;
    if (status >= 100 && status < 200) {
      offset = start;
      continue;
    }
    if (head || status === 204 || status === 304)
      return { kind: 'answer', status, headers, body: Buffer.alloc(0) };
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = [];
      let at = start;
      for (;;) {
        const line = data.indexOf('\r\n', at);
        if (line < 0) return undefined;
        const size = parseInt(data.subarray(at, line).toString('latin1'), 16);
        if (!Number.isFinite(size))
          return { kind: 'answer', status, headers, body: Buffer.alloc(0) };
        if (size === 0) return { kind: 'answer', status, headers, body: Buffer.concat(parts) };
        if (data.length < line + 2 + size + 2) return undefined;
        parts.push(data.subarray(line + 2, line + 2 + size));
        at = line + 2 + size + 2;
      }
    }
    if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (data.length < start + length) return undefined;
      return { kind: 'answer', status, headers, body: data.subarray(start, start + length) };
    }
    return ended ? { kind: 'answer', status, headers, body: data.subarray(start) } : undefined;
  }
}

/** Writes `bytes` on a new connection and waits for the first final response. */
export function exchange(
  port: number,
  bytes: Buffer,
  options: { head: boolean; timeoutMs: number },
): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), options.timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const answer = parseResponse(data, options.head, false);
      if (answer !== undefined) finish(answer);
    });
    socket.on('close', () => finish(parseResponse(data, options.head, true) ?? { kind: 'closed' }));
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

// ---------------------------------------------------------------------------------------------
// The property

const ROUTES = new RouteTable();
const PUBLIC_PATHS = new Set(['/healthz', '/readyz']);
const ERROR_CODES = ERROR_STATUS as Record<string, number>;
/** The message of node's own 400 (server.ts answers clientError with it). */
const NODE_PARSE_ERROR = 'the request is not valid HTTP';
/** Answers of the admission gate: they come after the limiters counted the request. */
const GATE_CODES = new Set(['RATE_LIMITED', 'TRANCHE_EXHAUSTED', 'OVERLOADED', 'UNAVAILABLE']);

function valuesOf(request: FuzzRequest, name: string): string[] {
  return request.headers
    .filter(([n]) => n.toLowerCase() === name.toLowerCase())
    .map(([, v]) => v.trim());
}

/** The keys named by the request's Authorization headers (whatever their form). */
function keysNamed(request: FuzzRequest): string[] {
  return valuesOf(request, 'authorization').flatMap((value) =>
    Object.keys(KEY_IDS).filter((key) => value.includes(key)),
  );
}

/** Whether the request, as node parses it, carries one valid `Bearer <key>` with `scope`. */
function authorisedFor(request: FuzzRequest, scope: string | undefined): boolean {
  const values = valuesOf(request, 'authorization');
  if (values.length !== 1) return false;
  const key = /^bearer +([\x21-\x7e]{1,512})$/i.exec(values[0]!)?.[1];
  if (key === undefined || KEY_SCOPES[key] === undefined) return false;
  return scope === undefined || KEY_SCOPES[key].includes(scope as ApiScope);
}

/** Rate-limit keys an admitted request may move: its own key's, its own user's (the platform's). */
function ownCounters(request: FuzzRequest): (redisKey: string) => boolean {
  const keyIds = keysNamed(request).map((key) => KEY_IDS[key]!);
  const users = valuesOf(request, 'x-user-id');
  try {
    const parsed = JSON.parse(request.body) as { userId?: unknown };
    if (typeof parsed?.userId === 'string') users.push(parsed.userId);
  } catch {
    // not JSON: no user in it
  }
  const allowed = new Set([
    ...keyIds.map((id) => `coupons:rl:key:${id}`),
    ...users.map((user) => `coupons:rl:user:${user}`),
  ]);
  return (redisKey) => allowed.has(redisKey);
}

function pathOf(target: string): string {
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}

/** The contract, for one request and its answer; throws what is wrong. */
export function checkAnswer(request: FuzzRequest, outcome: Outcome): void {
  if (outcome.kind === 'timeout') throw new Error('no answer in time (the request hangs)');
  if (outcome.kind === 'closed') throw new Error('the connection closed without an answer');
  const { status, headers, body } = outcome;
  if (!(status >= 200 && status <= 599)) throw new Error(`status ${status}`);
  if (status >= 500 && status !== 503) throw new Error(`status ${status}: ${body.toString()}`);
  if (status === 503 && !/^[1-9]\d*$/.test(headers['retry-after'] ?? ''))
    throw new Error(`503 without a valid Retry-After (${headers['retry-after']})`);
  if (status >= 200 && status < 300) {
    const path = pathOf(request.target);
    if (PUBLIC_PATHS.has(path)) return;
    const found = ROUTES.match(request.method, path);
    const scope = found.kind === 'route' ? found.route.access : undefined;
    if (!authorisedFor(request, scope))
      throw new Error(`${status} for a caller without a valid key with scope ${scope}`);
    return;
  }
  const type = headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type))
    throw new Error(`${status} with Content-Type ${JSON.stringify(type)}: ${body.toString()}`);
  if (request.method === 'HEAD') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Error(`${status} with a body that is not JSON: ${body.toString().slice(0, 200)}`);
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    Object.keys(parsed).join() !== 'error' ||
    typeof error?.code !== 'string' ||
    typeof error.message !== 'string'
  )
    throw new Error(`${status} not in the error shape: ${body.toString().slice(0, 300)}`);
  if (ERROR_CODES[error.code] !== status)
    throw new Error(
      `${status} with code ${error.code} (the contract says ${ERROR_CODES[error.code]})`,
    );
  if (status === 503 && !GATE_CODES.has(error.code))
    throw new Error(`503 ${error.code} is neither shed nor unavailable`);
}

/** The answer's error code and message; empty when its body is not the error shape. */
function errorOf(answer: Answer): { code: string; message: string } {
  try {
    const { error } = JSON.parse(answer.body.toString()) as {
      error?: { code?: unknown; message?: unknown };
    };
    return { code: String(error?.code ?? ''), message: String(error?.message ?? '') };
  } catch {
    return { code: '', message: '' };
  }
}

/** Which changes of Redis a refusal may make (4xx only; see the file's comment). */
function allowedChanges(request: FuzzRequest, answer: Answer): (key: string) => boolean {
  // A HEAD's answer has no body: decided by the headers alone.
  const error = errorOf(answer);
  const admitted =
    answer.headers['x-request-id'] !== undefined ||
    GATE_CODES.has(error.code) ||
    // Node's parser may refuse bytes after handing a request over (an unknown Transfer-Encoding,
    // what follows a Content-Length short of the body): the request was admitted and counted,
    // whatever answer the caller saw. What it did beyond its counters is still a failure.
    error.message === NODE_PARSE_ERROR ||
    request.framing.kind === 'short';
  return admitted ? ownCounters(request) : () => false;
}

// ---------------------------------------------------------------------------------------------
// The run

export interface FuzzOptions {
  numRuns: number;
  seed?: number;
  /** Per request; longer than the service's request and body timeouts. */
  timeoutMs?: number;
  /** After express's 503 or a dropped connection: how long work cut short may still write. */
  settleMs?: number;
  /**
   * Whether the service has nothing in progress (no admitted request, no limit check waiting
   * on Redis). An answer may come before the work behind it is done (node refuses the bytes
   * after a request it already handed over): Redis is compared once the service is idle, so
   * what a request did is never put down to the next one.
   */
  idle: () => boolean;
}

export interface FuzzReport {
  seed: number;
  runs: number;
  requests: number;
  statuses: Record<string, number>;
  /** `status code (route)`: how deep the requests went (the route as the table matches it). */
  outcomes: Record<string, number>;
  durationMs: number;
  failure?: { counterexample: string; error: string; shrinks: number; path: string };
}

async function untilIdle(idle: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!idle()) {
    if (performance.now() > deadline)
      throw new Error(`the service still busy after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Runs the property `numRuns` times (and while shrinking a failure), counting everything sent. */
export async function runHttpFuzz(
  world: FuzzWorld,
  redis: Redis,
  options: FuzzOptions,
): Promise<FuzzReport> {
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const settleMs = options.settleMs ?? 50;
  const statuses: Record<string, number> = {};
  const outcomes: Record<string, number> = {};
  let requests = 0;
  let state: RedisState = await redisState(redis);
  const started = performance.now();

  const property = fc.asyncProperty(requestArbitrary(world), async (request) => {
    const before = state;
    const outcome = await exchange(world.port, serialize(request), {
      head: request.method === 'HEAD',
      timeoutMs,
    });
    requests += 1;
    const label = outcome.kind === 'answer' ? String(outcome.status) : outcome.kind;
    statuses[label] = (statuses[label] ?? 0) + 1;
    if (outcome.kind === 'answer') {
      const found = ROUTES.match(request.method, pathOf(request.target));
      const where = found.kind === 'route' ? found.route.name : found.kind;
      const key = `${outcome.status} ${errorOf(outcome).code || '-'} (${where})`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    await untilIdle(options.idle);
    // A ledger call cut short by a deadline may still complete in Redis after express answered.
    if (
      outcome.kind !== 'answer' ||
      (outcome.status >= 500 && outcome.headers['x-request-id'] !== undefined)
    )
      await new Promise((resolve) => setTimeout(resolve, settleMs));
    state = await redisState(redis);
    checkAnswer(request, outcome);
    if (outcome.kind === 'answer' && outcome.status >= 400 && outcome.status < 500) {
      const changes = stateChanges(before, state, allowedChanges(request, outcome));
      if (changes.length > 0)
        throw new Error(
          `${outcome.status} ${outcome.body.toString().slice(0, 200)}, yet Redis changed:\n  ${changes.join('\n  ')}`,
        );
    }
  });
  const details = await fc.check(property, { numRuns: options.numRuns, seed });
  const report: FuzzReport = {
    seed,
    runs: details.numRuns,
    requests,
    statuses,
    outcomes,
    durationMs: Math.round(performance.now() - started),
  };
  if (details.failed && details.counterexample !== null) {
    const [request] = details.counterexample;
    report.failure = {
      counterexample: describeRequest(request),
      error:
        details.errorInstance instanceof Error
          ? details.errorInstance.message
          : String(details.errorInstance),
      shrinks: details.numShrinks,
      path: details.counterexamplePath ?? '',
    };
  }
  return report;
}

/** A request as readable text: its bytes, escaped, long runs abbreviated. */
function describeRequest(request: FuzzRequest): string {
  const text = JSON.stringify(serialize(request).toString('latin1'));
  return text.replace(/(.)\1{49,}/g, (run, c: string) => `${c}…(${run.length} times)`);
}

export function formatReport(report: FuzzReport, options: { outcomes?: number } = {}): string {
  const statuses = Object.entries(report.statuses)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ');
  const lines = [
    `http fuzz: ${report.runs} runs, ${report.requests} requests in ${(report.durationMs / 1000).toFixed(1)} s (seed ${report.seed})`,
    `answers by status: ${statuses}`,
  ];
  const shown = options.outcomes ?? 0;
  if (shown > 0) {
    const top = Object.entries(report.outcomes).sort(([, a], [, b]) => b - a);
    lines.push(
      `answers by status, code and route (${Math.min(shown, top.length)} of ${top.length}):`,
      ...top.slice(0, shown).map(([outcome, n]) => `  ${String(n).padStart(6)}  ${outcome}`),
    );
  }
  if (report.failure === undefined) lines.push('counterexamples: none');
  else
    lines.push(
      `counterexample (after ${report.failure.shrinks} shrinks; the same seed replays it, fast-check path ${report.failure.path}):`,
      `  request: ${report.failure.counterexample}`,
      `  failure: ${report.failure.error.split('\n').join('\n  ')}`,
    );
  return lines.join('\n');
}
