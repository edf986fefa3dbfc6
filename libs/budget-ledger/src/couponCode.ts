import { randomBytes } from 'node:crypto';

/** Crockford base32: no I, L, O, U, so a code read aloud or retyped is hard to get wrong. */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const BASE = 32;
const RANDOM_CHARS = 13; // 65 random bits
const SHARD_CHARS = 2; // shards < 1024
export const CODE_LENGTH = SHARD_CHARS + RANDOM_CHARS + 1;

const VALUE_OF = new Map<string, number>(
  [...CROCKFORD_ALPHABET].map((char, value) => [char, value]),
);
// Crockford decoding: O reads as 0, I and L as 1.
VALUE_OF.set('O', 0);
VALUE_OF.set('I', 1);
VALUE_OF.set('L', 1);

/**
 * Luhn mod 32 over the payload: catches every single-character error and every swap of two
 * neighbours but one, 0 and Z (values 0 and 31), which Luhn mod N cannot tell apart.
 */
function checkValue(values: readonly number[]): number {
  let sum = 0;
  let factor = 2;
  for (let i = values.length - 1; i >= 0; i -= 1) {
    const addend = factor * values[i]!;
    sum += Math.floor(addend / BASE) + (addend % BASE);
    factor = factor === 2 ? 1 : 2;
  }
  return (BASE - (sum % BASE)) % BASE;
}

/**
 * Random bytes from the CSPRNG, fetched a page at a time (as node's randomUUID does with its own
 * cache): one system call per 315 codes rather than one per code, which was 3% of a claim's CPU
 * in the bench's profile. Each byte is used once.
 */
const RANDOM_PAGE_BYTES = 4096;
let randomPage = Buffer.alloc(0);
let randomUsed = 0;

function nextRandomBytes(count: number): Buffer {
  if (randomUsed + count > randomPage.length) {
    randomPage = randomBytes(RANDOM_PAGE_BYTES);
    randomUsed = 0;
  }
  randomUsed += count;
  return randomPage.subarray(randomUsed - count, randomUsed);
}

/** A new code for `shard`: shard (2 chars), 65 random bits from crypto (13 chars), check char. */
export function generateCouponCode(shard: number): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= BASE ** SHARD_CHARS)
    throw new RangeError(`shard out of range: ${shard}`);
  const values = [Math.floor(shard / BASE), shard % BASE];
  // 256 is a multiple of 32, so masking a random byte keeps every symbol equally likely.
  for (const byte of nextRandomBytes(RANDOM_CHARS)) values.push(byte & (BASE - 1));
  values.push(checkValue(values));
  return values.map((value) => CROCKFORD_ALPHABET[value]).join('');
}

export type ParsedCode = { ok: true; code: string; shard: number } | { ok: false; problem: string };

/**
 * Reads a code as a person may type it: any case, hyphens or spaces anywhere, O for 0, I/L for 1.
 * A wrong check character is refused here, without a Redis call.
 */
export function parseCouponCode(input: string): ParsedCode {
  if (input.length > 64) return { ok: false, problem: 'too long' };
  const compact = input.toUpperCase().replace(/[-\s]/g, '');
  if (compact.length !== CODE_LENGTH)
    return { ok: false, problem: `must have ${CODE_LENGTH} characters` };
  const values: number[] = [];
  for (const char of compact) {
    const value = VALUE_OF.get(char);
    if (value === undefined) return { ok: false, problem: 'not a coupon code' };
    values.push(value);
  }
  const check = values.pop()!;
  if (checkValue(values) !== check) return { ok: false, problem: 'check character does not match' };
  values.push(check);
  return {
    ok: true,
    code: values.map((value) => CROCKFORD_ALPHABET[value]).join(''),
    shard: values[0]! * BASE + values[1]!,
  };
}

/** For people: groups of four. Both forms parse to the same code. */
export function formatCouponCode(code: string): string {
  return code.replace(/(.{4})(?=.)/g, '$1-');
}
