import { ratio, spread } from '../src/stats';
import { cell, markdownTable, num } from '../src/format';

describe('spread', () => {
  it('is the median with min and max, odd and even counts', () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, n: 3 });
    expect(spread([4, 1, 3, 2])).toEqual({ median: 2.5, min: 1, max: 4, n: 4 });
  });

  it('skips figures that do not apply and is undefined when none do', () => {
    expect(spread([undefined, 5, Number.NaN])).toEqual({ median: 5, min: 5, max: 5, n: 1 });
    expect(spread([undefined])).toBeUndefined();
    expect(spread([])).toBeUndefined();
  });
});

describe('ratio', () => {
  it('divides, and refuses a missing side or a zero denominator', () => {
    expect(ratio(9, 10)).toBe(0.9);
    expect(ratio(undefined, 10)).toBeUndefined();
    expect(ratio(1, 0)).toBeUndefined();
  });
});

describe('cells', () => {
  it('prints median (min-max), a lone value, or n/a', () => {
    expect(cell({ median: 9512, min: 9401, max: 9630, n: 3 }, 0)).toBe('9,512 (9,401-9,630)');
    expect(cell({ median: 0.934, min: 0.934, max: 0.934, n: 1 })).toBe('0.93');
    expect(cell(undefined)).toBe('n/a');
    expect(num(12.345)).toBe('12.3');
  });

  it('builds a markdown table', () => {
    expect(markdownTable(['a', 'b'], [['1', '2']])).toBe('| a | b |\n| --- | --- |\n| 1 | 2 |');
  });
});
