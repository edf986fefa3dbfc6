import {
  CampaignCalendar,
  parseCampaigns,
  parseIsoInstant,
  type CampaignConfig,
} from '@coupons/campaign';
import { campaignInput } from '@coupons/testing';
import { parse } from 'yaml';
import {
  crowdWindows,
  cronTriggers,
  prescale,
  readGeneratedWith,
  renderPrescalePatch,
  wallTime,
  type CrowdWindow,
  type PrescaleSettings,
} from '../src';
import { parseArgs, UsageError } from '../src/cli/prescale';
import { anyActive, cronScaler } from './kedaCron';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function ms(iso: string): number {
  const value = parseIsoInstant(iso);
  if (value === undefined) throw new Error(`bad instant in test: ${iso}`);
  return value;
}

function campaign(overrides: Record<string, unknown>): CampaignConfig {
  const [parsed] = parseCampaigns({
    campaigns: [
      campaignInput({
        id: 'test-campaign',
        name: 'Test campaign',
        poolFen: 2500 * 1000,
        startsAt: '2026-11-29T00:00:00+08:00',
        endsAt: '2026-12-02T23:59:59.999+08:00',
        couponExpiresAt: '2026-12-31T23:59:59.999+08:00',
        shards: 4,
        ...overrides,
      }),
    ],
  });
  if (parsed === undefined) throw new Error('no campaign parsed');
  return parsed;
}

function settings(overrides: Partial<PrescaleSettings> = {}): PrescaleSettings {
  return {
    now: ms('2026-11-01T00:00:00Z'),
    leadMinutes: 10,
    holdMinutes: 30,
    replicas: 20,
    all: false,
    ...overrides,
  };
}

/** The calendar's own release instants: each day's first slice. */
function releases(c: CampaignConfig): number[] {
  return new CampaignCalendar(c).days.map((day) => day.slices[0]!.atMs);
}

/** KEDA's view of the generated triggers, sampled every 5 minutes (+17 s) around the windows. */
function expectTriggersToCoverExactly(
  c: CampaignConfig,
  windows: readonly CrowdWindow[],
  s = settings(),
) {
  const triggers = cronTriggers(c, windows, s.replicas);
  const first = windows[0]!.startMs;
  const last = windows[windows.length - 1]!.endMs;
  const years = [new Date(first).getUTCFullYear(), new Date(last).getUTCFullYear()];
  const scalers = triggers.map((trigger) => cronScaler(trigger, years));
  const inside = (t: number) => windows.some((w) => t >= w.startMs && t <= w.endMs);
  const wrong: string[] = [];
  for (let t = first - 24 * HOUR + 17_000; t < last + 24 * HOUR; t += 5 * MINUTE) {
    if (anyActive(scalers, t) !== inside(t)) wrong.push(new Date(t).toISOString());
  }
  expect(wrong).toEqual([]);
  // At the edges, to the minute.
  for (const w of windows) {
    expect(anyActive(scalers, w.startMs - 30_000)).toBe(false);
    expect(anyActive(scalers, w.startMs + 30_000)).toBe(true);
    expect(anyActive(scalers, w.endMs - 30_000)).toBe(true);
    expect(anyActive(scalers, w.endMs + 30_000)).toBe(false);
  }
  return triggers;
}

describe('crowd windows', () => {
  it('scale up lead minutes before each release the calendar computes, across the day boundary', () => {
    const c = campaign({});
    const windows = crowdWindows(c, settings());
    expect(windows.map((w) => w.releaseAtMs)).toEqual(releases(c));
    expect(windows.map((w) => w.reason)).toEqual([
      'campaign start',
      'tranche release',
      'tranche release',
      'tranche release',
    ]);
    for (const w of windows) {
      expect(w.startMs).toBe(w.releaseAtMs - 10 * MINUTE);
      expect(w.endMs).toBe(w.releaseAtMs + 30 * MINUTE);
    }
    // Midnight releases: each window starts at 23:50 on the day before, in the campaign's zone.
    expect(windows.map((w) => wallTime(w.startMs, c.timeZone))).toEqual([
      { year: 2026, month: 11, day: 28, hour: 23, minute: 50 },
      { year: 2026, month: 11, day: 29, hour: 23, minute: 50 },
      { year: 2026, month: 11, day: 30, hour: 23, minute: 50 },
      { year: 2026, month: 12, day: 1, hour: 23, minute: 50 },
    ]);
  });

  it('start at the campaign start when it is not midnight, and at midnight the days after', () => {
    const c = campaign({ startsAt: '2026-11-29T20:00:00+08:00' });
    const windows = crowdWindows(c, settings());
    expect(windows[0]!.releaseAtMs).toBe(ms('2026-11-29T20:00:00+08:00'));
    expect(windows[0]!.startMs).toBe(ms('2026-11-29T19:50:00+08:00'));
    expect(windows[1]!.releaseAtMs).toBe(ms('2026-11-30T00:00:00+08:00'));
  });

  it('leave out a campaign that has ended, unless all', () => {
    const c = campaign({});
    const after = settings({ now: ms('2026-12-03T00:00:00+08:00') });
    expect(crowdWindows(c, after)).toEqual([]);
    expect(crowdWindows(c, { ...after, all: true })).toHaveLength(4);
  });

  it('leave out windows that are over, and keep the one in progress', () => {
    const c = campaign({});
    const during = settings({ now: ms('2026-12-01T00:05:00+08:00') });
    expect(crowdWindows(c, during).map((w) => w.day)).toEqual(['2026-12-01', '2026-12-02']);
  });

  it('merge windows that overlap into one held span', () => {
    const c = campaign({});
    const long = settings({ leadMinutes: 800, holdMinutes: 800 });
    const windows = crowdWindows(c, long);
    expect(windows).toHaveLength(1);
    expect(windows[0]!.startMs).toBe(releases(c)[0]! - 800 * MINUTE);
    expect(windows[0]!.endMs).toBe(releases(c)[3]! + 800 * MINUTE);
  });

  it('refuse settings that make no sense', () => {
    const c = campaign({});
    expect(() => crowdWindows(c, settings({ holdMinutes: 0 }))).toThrow(/holdMinutes/);
    expect(() => crowdWindows(c, settings({ leadMinutes: 1.5 }))).toThrow(/leadMinutes/);
    expect(() => crowdWindows(c, settings({ replicas: 0 }))).toThrow(/replicas/);
  });
});

describe('cron triggers, as KEDA runs them', () => {
  it('cover exactly the windows, one trigger per run of days within a month', () => {
    const c = campaign({});
    const windows = crowdWindows(c, settings());
    const triggers = expectTriggersToCoverExactly(c, windows);
    expect(triggers.map((t) => [t.metadata.start, t.metadata.end])).toEqual([
      ['50 23 28-29 11 *', '30 0 29-30 11 *'],
      ['50 23 30 11 *', '30 0 1 12 *'],
      ['50 23 1 12 *', '30 0 2 12 *'],
    ]);
    for (const t of triggers) {
      expect(t.metadata.timezone).toBe('Asia/Shanghai');
      expect(t.metadata.desiredReplicas).toBe('20');
    }
  });

  it('keep the hold in elapsed time when clocks spring forward inside a window (Europe/Berlin)', () => {
    const c = campaign({
      timeZone: 'Europe/Berlin',
      startsAt: '2027-03-26T00:00:00+01:00',
      endsAt: '2027-03-30T23:59:59.999+02:00',
      couponExpiresAt: '2027-04-30T23:59:59.999+02:00',
    });
    const s = settings({ now: ms('2027-03-01T00:00:00Z'), leadMinutes: 180, holdMinutes: 180 });
    const windows = crowdWindows(c, s);
    for (const w of windows) expect(w.endMs - w.startMs).toBe(360 * MINUTE);
    const dstNight = windows.find((w) => w.day === '2027-03-28')!;
    // 00:00 CET + 3 h is 04:00 CEST: the clock skipped 02:00-03:00.
    expect(wallTime(dstNight.endMs, c.timeZone)).toMatchObject({ day: 28, hour: 4, minute: 0 });
    const triggers = expectTriggersToCoverExactly(c, windows, s);
    expect(triggers.map((t) => t.metadata.end)).toContain('0 4 28 3 *');
  });

  it('keep the hold in elapsed time when clocks fall back inside a window (Europe/Berlin)', () => {
    const c = campaign({
      timeZone: 'Europe/Berlin',
      startsAt: '2027-10-29T00:00:00+02:00',
      endsAt: '2027-11-02T23:59:59.999+01:00',
      couponExpiresAt: '2027-11-30T23:59:59.999+01:00',
    });
    const s = settings({ now: ms('2027-10-01T00:00:00Z'), leadMinutes: 180, holdMinutes: 180 });
    const windows = crowdWindows(c, s);
    const dstNight = windows.find((w) => w.day === '2027-10-31')!;
    // 00:00 CEST + 3 h is 02:00 CET: the clock went through 02:00-03:00 twice.
    expect(wallTime(dstNight.endMs, c.timeZone)).toMatchObject({ day: 31, hour: 2, minute: 0 });
    expectTriggersToCoverExactly(c, windows, s);
  });

  it('follow a day that starts at 01:00 because midnight does not exist (America/Santiago)', () => {
    const c = campaign({
      timeZone: 'America/Santiago',
      startsAt: '2026-09-04T00:00:00-04:00',
      endsAt: '2026-09-08T23:59:59.999-03:00',
      couponExpiresAt: '2026-09-30T23:59:59.999-03:00',
    });
    const s = settings({ now: ms('2026-09-01T00:00:00Z') });
    const windows = crowdWindows(c, s);
    const transition = windows.find((w) => w.day === '2026-09-06')!;
    expect(transition.releaseAtMs).toBe(ms('2026-09-06T01:00:00-03:00'));
    expect(wallTime(transition.startMs, c.timeZone)).toMatchObject({
      day: 5,
      hour: 23,
      minute: 50,
    });
    expect(wallTime(transition.endMs, c.timeZone)).toMatchObject({ day: 6, hour: 1, minute: 30 });
    expectTriggersToCoverExactly(c, windows, s);
  });

  it('cover a whole season of daily releases in a handful of triggers (the committed campaign)', () => {
    const c = campaign({
      startsAt: '2026-11-01T00:00:00+08:00',
      endsAt: '2027-02-28T23:59:59.999+08:00',
      couponExpiresAt: '2027-02-28T23:59:59.999+08:00',
    });
    const windows = crowdWindows(c, settings({ now: ms('2026-10-01T00:00:00Z') }));
    expect(windows).toHaveLength(120);
    const triggers = expectTriggersToCoverExactly(c, windows);
    expect(triggers.length).toBeLessThanOrEqual(9);
  });
});

describe('the generated patch', () => {
  const made = { ...settings(), campaigns: 'k8s/base/campaigns.json' };

  it('appends one cron trigger per run to the ScaledObject and records how it was made', () => {
    const results = prescale([campaign({})], made);
    const text = renderPrescalePatch(results, made);
    const ops = parse(text) as { op: string; path: string; value: Record<string, unknown> }[];
    expect(ops).toHaveLength(results[0]!.triggers.length);
    for (const [i, op] of ops.entries()) {
      expect(op).toEqual({
        op: 'add',
        path: '/spec/triggers/-',
        value: results[0]!.triggers[i],
      });
    }
    expect(readGeneratedWith(text)).toEqual(made);
  });

  it('stays a valid no-op patch when no window is ahead', () => {
    const ended = { ...made, now: ms('2030-01-01T00:00:00Z') };
    const text = renderPrescalePatch(prescale([campaign({})], ended), ended);
    expect(parse(text)).toEqual([{ op: 'test', path: '/kind', value: 'ScaledObject' }]);
  });
});

describe('npm run k8s:prescale arguments', () => {
  it('read every option', () => {
    expect(
      parseArgs([
        '--campaigns',
        'c.json',
        '--out',
        'o.yaml',
        '--lead-minutes',
        '15',
        '--hold-minutes',
        '45',
        '--replicas',
        '30',
        '--all',
        '--now',
        '2026-12-01T00:00:00Z',
        '--check',
      ]),
    ).toEqual({
      campaigns: 'c.json',
      out: 'o.yaml',
      leadMinutes: 15,
      holdMinutes: 45,
      replicas: 30,
      all: true,
      now: ms('2026-12-01T00:00:00Z'),
      check: true,
    });
  });

  it('refuse what they cannot read', () => {
    expect(() => parseArgs(['--lead-minutes', 'ten'])).toThrow(UsageError);
    expect(() => parseArgs(['--replicas'])).toThrow(UsageError);
    expect(() => parseArgs(['--now', 'yesterday'])).toThrow(UsageError);
    expect(() => parseArgs(['--bogus'])).toThrow(UsageError);
  });
});
