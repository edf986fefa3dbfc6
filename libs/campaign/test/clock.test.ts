import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock, systemClock } from '../src';

describe('ManualClock', () => {
  it('moves only when told to', () => {
    const clock = new ManualClock(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(500);
    expect(clock.now()).toBe(1_500);
    clock.advance(-200);
    expect(clock.now()).toBe(1_300);
    clock.set(42);
    expect(clock.now()).toBe(42);
  });

  it('refuses a time that is not a finite number', () => {
    expect(() => new ManualClock(Number.NaN)).toThrow(RangeError);
    const clock = new ManualClock(0);
    expect(() => clock.set(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(clock.now()).toBe(0);
  });
});

describe('systemClock', () => {
  it('reads the wall clock', () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it('is the only place in src that reads the wall clock', () => {
    const srcDir = join(__dirname, '..', 'src');
    const offenders = readdirSync(srcDir)
      .filter((file) => file.endsWith('.ts') && file !== 'clock.ts')
      .filter((file) =>
        /Date\.now\(|new Date\(\s*\)/.test(readFileSync(join(srcDir, file), 'utf8')),
      );
    expect(offenders).toEqual([]);
  });
});
