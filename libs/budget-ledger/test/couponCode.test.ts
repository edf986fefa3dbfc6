import fc from 'fast-check';
import {
  CODE_LENGTH,
  CROCKFORD_ALPHABET,
  formatCouponCode,
  generateCouponCode,
  parseCouponCode,
} from '../src';

const shardArb = fc.integer({ min: 0, max: 1023 });

function parsed(input: string): { code: string; shard: number } {
  const result = parseCouponCode(input);
  if (!result.ok) throw new Error(`expected ${input} to parse: ${result.problem}`);
  return result;
}

describe('coupon codes', () => {
  it('carry their shard and parse back, in any case, with hyphens, O as 0 and I/L as 1', () => {
    fc.assert(
      fc.property(shardArb, (shard) => {
        const code = generateCouponCode(shard);
        expect(code).toHaveLength(CODE_LENGTH);
        expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]+$/);
        expect(parsed(code)).toEqual({ ok: true, code, shard });
        expect(parsed(formatCouponCode(code).toLowerCase()).code).toBe(code);
        const typed = code
          .replace(/0/g, 'o')
          .replace(/1/g, () => (Math.random() < 0.5 ? 'I' : 'l'));
        expect(parsed(typed).code).toBe(code);
      }),
    );
  });

  it('refuses every single-character typo by its check character', () => {
    fc.assert(
      fc.property(shardArb, fc.nat(CODE_LENGTH - 1), fc.nat(30), (shard, position, delta) => {
        const code = generateCouponCode(shard);
        const original = CROCKFORD_ALPHABET.indexOf(code[position]!);
        const replacement = CROCKFORD_ALPHABET[(original + delta + 1) % 32]!;
        const typo = code.slice(0, position) + replacement + code.slice(position + 1);
        expect(parseCouponCode(typo)).toEqual({
          ok: false,
          problem: 'check character does not match',
        });
      }),
    );
  });

  it('refuses swapped neighbours (but for the one pair Luhn mod 32 cannot see)', () => {
    fc.assert(
      fc.property(shardArb, fc.nat(CODE_LENGTH - 2), (shard, position) => {
        const code = generateCouponCode(shard);
        const [a, b] = [code[position]!, code[position + 1]!];
        const pair = [a, b].sort().join('');
        fc.pre(a !== b && pair !== '0Z');
        const swapped = code.slice(0, position) + b + a + code.slice(position + 2);
        expect(parseCouponCode(swapped).ok).toBe(false);
      }),
    );
  });

  it('has at least 60 random bits: 13 of 16 symbols, no repeats in 100,000 codes', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i += 1) seen.add(generateCouponCode(7).slice(2, 15));
    expect(seen.size).toBe(100_000);
    expect(13 * 5).toBeGreaterThanOrEqual(60);
  });

  it('refuses what is not a code', () => {
    for (const input of [
      '',
      'ABC',
      'U'.repeat(CODE_LENGTH),
      '!'.repeat(CODE_LENGTH),
      'A'.repeat(65),
      '💥'.repeat(8),
    ]) {
      expect(parseCouponCode(input).ok).toBe(false);
    }
    expect(() => generateCouponCode(1024)).toThrow(RangeError);
    expect(() => generateCouponCode(-1)).toThrow(RangeError);
  });
});
