import { boundedSeconds, isFen, isTimeZone, momentMs, secondsUntil } from '../src/trust';

const NOW = Date.parse('2026-02-10T12:30:00+08:00');
const DAY = 86_400_000;

describe('what the client believes', () => {
  it('takes a moment only as ISO-8601 with an offset, within ten years of now', () => {
    expect(momentMs('2026-02-10T13:00:00+08:00', NOW)).toBe(NOW + 1_800_000);
    expect(momentMs('2026-02-10T05:00:00.000Z', NOW)).toBe(NOW + 1_800_000);
    for (const bad of [
      'soon',
      'tomorrow',
      '',
      '2026-02-10 13:00',
      '2026-02-10T13:00:00',
      '2026-02-30T25:61:00+08:00',
      '9999-12-31T23:59:59+08:00',
      '1970-01-01T00:00:00Z',
      42,
      null,
    ])
      expect(momentMs(bad, NOW)).toBeUndefined();
  });

  it('cuts every wait to whole seconds from 1 to the horizon', () => {
    expect(boundedSeconds(undefined, DAY)).toBeUndefined();
    expect(boundedSeconds(Number.NaN, DAY)).toBeUndefined();
    expect(
      [0, -5, 0.2, 30, 30.5, 86_400, 999_999_999, Infinity].map((s) => boundedSeconds(s, DAY)),
    ).toEqual([1, 1, 1, 30, 31, 86_400, 86_400, 86_400]);
    expect(secondsUntil(NOW + 90_000, NOW, DAY)).toBe(90);
    expect(secondsUntil(NOW - 90_000, NOW, DAY)).toBe(1);
    expect(secondsUntil(NOW + 3 * DAY, NOW, DAY)).toBe(86_400);
  });

  it('takes amounts as whole non-negative safe fen, zones as Intl knows them', () => {
    expect([0, 2500, Number.MAX_SAFE_INTEGER].every(isFen)).toBe(true);
    expect([-1, 0.5, 2 ** 53, Number.NaN, '2500'].some(isFen)).toBe(false);
    expect(isTimeZone('Asia/Shanghai')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });
});
