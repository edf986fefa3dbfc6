import fc from 'fast-check';
import { DateTime } from 'luxon';
import { dayKey, parseIsoInstant, startOfDayMs, toZonedIso, zonedDays } from '../src';
import { HOUR, ms } from './fixtures';

describe('toZonedIso and dayKey', () => {
  it('formats in the zone with its offset', () => {
    const start = Date.UTC(2026, 1, 5, 16, 0, 0, 0);
    expect(toZonedIso(start, 'Asia/Shanghai')).toBe('2026-02-06T00:00:00.000+08:00');
    expect(toZonedIso(start - 1, 'Asia/Shanghai')).toBe('2026-02-05T23:59:59.999+08:00');
    expect(toZonedIso(Date.UTC(2026, 6, 1, 12), 'America/New_York')).toBe(
      '2026-07-01T08:00:00.000-04:00',
    );
  });

  it('switches days exactly at local midnight', () => {
    expect(dayKey(ms('2026-02-06T23:59:59.999+08:00'), 'Asia/Shanghai')).toBe('2026-02-06');
    expect(dayKey(ms('2026-02-07T00:00:00.000+08:00'), 'Asia/Shanghai')).toBe('2026-02-07');
    expect(dayKey(ms('2026-02-06T23:59:59.999+08:00'), 'UTC')).toBe('2026-02-06');
    expect(dayKey(ms('2026-02-06T07:59:59.999+08:00'), 'UTC')).toBe('2026-02-05');
  });

  it('refuses unknown zones and non-finite times', () => {
    expect(() => dayKey(0, 'Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => toZonedIso(Number.NaN, 'UTC')).toThrow(RangeError);
  });
});

describe('parseIsoInstant', () => {
  it('reads instants with an explicit offset or Z', () => {
    expect(parseIsoInstant('2026-02-06T00:00:00+08:00')).toBe(Date.UTC(2026, 1, 5, 16));
    expect(parseIsoInstant('2026-02-28T23:59:59.999+08:00')).toBe(
      Date.UTC(2026, 1, 28, 15, 59, 59, 999),
    );
    expect(parseIsoInstant('2026-02-06T00:00Z')).toBe(Date.UTC(2026, 1, 6));
    expect(parseIsoInstant('2026-02-06T00:00:00.5-05:30')).toBe(
      Date.UTC(2026, 1, 6, 5, 30, 0, 500),
    );
  });

  it.each([
    '2026-02-06T00:00:00', // no offset: would depend on the host zone
    '2026-02-06',
    '2026-02-06 00:00:00+08:00',
    '2026-02-30T00:00:00+08:00',
    '2026-02-28T24:00:00+08:00',
    '2026-02-28T23:59:60+08:00',
    '2026-02-06T00:00:00+0800',
    '2026-W06-5T00:00:00Z',
    'tomorrow',
    '',
  ])('refuses %j', (text) => {
    expect(parseIsoInstant(text)).toBeUndefined();
  });
});

describe('calendar days in a zone', () => {
  it('starts a day at its first instant where midnight happens twice (Havana, fall back at 01:00)', () => {
    const start = startOfDayMs('2026-11-01', 'America/Havana');
    expect(start).toBe(ms('2026-11-01T00:00:00-04:00'));
    expect(dayKey(start - 1, 'America/Havana')).toBe('2026-10-31');
    expect(startOfDayMs('2026-11-02', 'America/Havana') - start).toBe(25 * HOUR);
  });

  it('starts a day at 01:00 where midnight does not exist (Santiago, spring forward at 00:00)', () => {
    expect(startOfDayMs('2026-09-06', 'America/Santiago')).toBe(ms('2026-09-06T01:00:00-03:00'));
  });

  it('gives DST days their real length', () => {
    const days = zonedDays(
      ms('2026-03-07T12:00:00-05:00'),
      ms('2026-11-01T12:00:00-05:00'),
      'America/New_York',
    );
    const length = (day: string) => {
      const found = days.find((d) => d.day === day);
      if (found === undefined) throw new Error(`missing ${day}`);
      return found.endMs - found.startMs;
    };
    expect(length('2026-03-07')).toBe(24 * HOUR);
    expect(length('2026-03-08')).toBe(23 * HOUR);
    expect(length('2026-11-01')).toBe(25 * HOUR);
    days.slice(1).forEach((day, i) => expect(day.startMs).toBe(days[i]!.endMs));
  });

  it('leaves out a date the zone skipped (Samoa, 2011-12-30)', () => {
    const days = zonedDays(
      ms('2011-12-29T12:00:00-10:00'),
      ms('2011-12-31T12:00:00+14:00'),
      'Pacific/Apia',
    );
    expect(days.map((d) => d.day)).toEqual(['2011-12-29', '2011-12-31']);
    expect(days[0]!.endMs).toBe(days[1]!.startMs);
  });
});

describe('toZonedIso and dayKey agree with luxon everywhere', () => {
  it('for any instant in real zones, including DST transitions and odd offsets', () => {
    const zones = [
      'Asia/Shanghai',
      'UTC',
      'Etc/UTC',
      'Europe/London',
      'America/New_York',
      'America/St_Johns',
      'Asia/Kathmandu',
      'Australia/Lord_Howe',
      'Pacific/Apia',
      'America/Havana',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) }),
        (zone, ms) => {
          const reference = DateTime.fromMillis(ms, { zone });
          expect(toZonedIso(ms, zone)).toBe(
            reference.toISO({ suppressMilliseconds: false, includeOffset: true }),
          );
          expect(dayKey(ms, zone)).toBe(reference.toISODate());
        },
      ),
      { numRuns: 3000 },
    );
    // Around the 2026 New York spring-forward, minute by minute.
    const jump = Date.UTC(2026, 2, 8, 7, 0);
    for (let ms = jump - 3_600_000; ms <= jump + 3_600_000; ms += 60_000 - 1) {
      const reference = DateTime.fromMillis(ms, { zone: 'America/New_York' });
      expect(toZonedIso(ms, 'America/New_York')).toBe(
        reference.toISO({ suppressMilliseconds: false, includeOffset: true }),
      );
    }
  });
});
