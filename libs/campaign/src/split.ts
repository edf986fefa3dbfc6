// Integer splits for money: every part is a whole number and the parts sum to the total exactly,
// so no coupon (and no fen) is ever created or stranded by rounding.

function assertTotal(total: number): void {
  if (!Number.isSafeInteger(total) || total < 0) {
    throw new RangeError(`total must be a non-negative safe integer, got ${total}`);
  }
}

/** `total` in `parts` integers that differ by at most 1; the remainder goes to the lowest indexes. */
export function splitEvenly(total: number, parts: number): number[] {
  assertTotal(total);
  if (!Number.isSafeInteger(parts) || parts < 1) {
    throw new RangeError(`parts must be a safe integer >= 1, got ${parts}`);
  }
  const base = Math.floor(total / parts);
  const remainder = total - base * parts;
  return Array.from({ length: parts }, (_, index) => (index < remainder ? base + 1 : base));
}

const FLOAT64 = new Float64Array(1);
const BITS = new BigUint64Array(FLOAT64.buffer);
const MANTISSA_MASK = (1n << 52n) - 1n;

/** A finite positive double as the exact integer pair `mantissa * 2 ** exponent`. */
function toDyadic(value: number): { mantissa: bigint; exponent: number } {
  FLOAT64[0] = value;
  const bits = BITS[0] as bigint;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & MANTISSA_MASK;
  return biased === 0
    ? { mantissa: fraction, exponent: -1074 }
    : { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

/**
 * `total` in proportion to `weights` (finite, > 0): part i is floor(total * w_i / sum(w)) computed
 * exactly (each double is a binary fraction, so the shares are taken in BigInt arithmetic, with no
 * float rounding), and the leftover (fewer than weights.length) goes one each to the earliest parts.
 */
export function splitByWeights(total: number, weights: readonly number[]): number[] {
  assertTotal(total);
  if (weights.length < 1) throw new RangeError('weights must not be empty');
  weights.forEach((weight, index) => {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw new RangeError(`weights[${index}] must be a finite number > 0, got ${String(weight)}`);
    }
  });
  const dyadic = weights.map(toDyadic);
  const minExponent = dyadic.reduce((min, d) => Math.min(min, d.exponent), Infinity);
  const scaled = dyadic.map((d) => d.mantissa << BigInt(d.exponent - minExponent));
  const weightSum = scaled.reduce((sum, weight) => sum + weight, 0n);
  const bigTotal = BigInt(total);
  const shares = scaled.map((weight) => Number((bigTotal * weight) / weightSum));
  const leftover = total - shares.reduce((sum, share) => sum + share, 0);
  return shares.map((share, index) => (index < leftover ? share + 1 : share));
}
