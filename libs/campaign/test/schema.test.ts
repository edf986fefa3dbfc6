import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CampaignConfigError, loadCampaignsFile, parseCampaigns } from '../src';
import { campaignFrom, issuesOf, issuesOfCampaign, ms, rawCampaign } from './fixtures';

const startingWith = (text: string) =>
  expect.stringMatching(new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

describe('parseCampaigns: a valid file', () => {
  it('parses the historic campaign into numbers', () => {
    expect(parseCampaigns({ campaigns: [rawCampaign()] })).toEqual([
      {
        id: 'spring-festival-2026',
        name: 'Spring Festival free-order coupons',
        currency: 'CNY',
        poolFen: 300_000_000_000,
        couponValueFen: 2500,
        minOrderFen: 0,
        couponsPerOrder: 1,
        timeZone: 'Asia/Shanghai',
        startsAt: Date.UTC(2026, 1, 5, 16),
        endsAt: Date.UTC(2026, 1, 28, 15, 59, 59, 999),
        couponExpiresAt: Date.UTC(2026, 1, 28, 15, 59, 59, 999),
        perUser: { daily: 3, total: 21 },
        release: { slicesPerDay: 24, rollover: true, dayWeights: {} },
        shards: 16,
      },
    ]);
  });

  it('applies the defaults (couponExpiresAt, minOrderFen, couponsPerOrder, rollover, dayWeights)', () => {
    const raw = rawCampaign({ release: { slicesPerDay: 24 } });
    delete raw['couponExpiresAt'];
    delete raw['minOrderFen'];
    const [campaign] = parseCampaigns({ campaigns: [raw] });
    expect(campaign?.couponExpiresAt).toBe(ms('2026-02-28T23:59:59.999+08:00'));
    expect(campaign?.minOrderFen).toBe(0);
    expect(campaign?.couponsPerOrder).toBe(1);
    expect(campaign?.release).toEqual({ slicesPerDay: 24, rollover: true, dayWeights: {} });
  });

  it('defaults couponExpiresAt to Feb 28 23:59:59.999 in the zone, of the year endsAt is in there', () => {
    const newYork = rawCampaign({
      timeZone: 'America/New_York',
      startsAt: '2026-12-20T00:00:00-05:00',
      // 2027-02-10 in New York, but already 2027-02-10 in UTC too: the year is the zone's
      endsAt: '2027-02-10T23:59:59.999-05:00',
    });
    delete newYork['couponExpiresAt'];
    expect(parseCampaigns({ campaigns: [newYork] })[0]?.couponExpiresAt).toBe(
      ms('2027-02-28T23:59:59.999-05:00'),
    );
    // 2026-12-31T20:00-05:00 is already 2027 in UTC; the default still follows the zone (2026)
    // and is then before the last day, so it must be set
    const yearEnd = rawCampaign({
      timeZone: 'America/New_York',
      startsAt: '2026-12-20T00:00:00-05:00',
      endsAt: '2026-12-31T20:00:00-05:00',
    });
    delete yearEnd['couponExpiresAt'];
    expect(issuesOf({ campaigns: [yearEnd] })).toEqual([
      expect.stringMatching(
        /^campaigns\[0\]\.couponExpiresAt: the default \(.*2026-02-28T23:59:59\.999-05:00\) is before .*; set couponExpiresAt$/,
      ),
    ]);
  });

  it('keeps weights and an explicit expiry', () => {
    const campaign = campaignFrom({
      minOrderFen: 5_000,
      couponExpiresAt: '2026-03-31T23:59:59.999+08:00',
      release: {
        slicesPerDay: 1,
        rollover: false,
        dayWeights: { '2026-02-06': 3, '2026-02-28': 0.5 },
      },
    });
    expect(campaign.minOrderFen).toBe(5_000);
    expect(campaign.couponExpiresAt).toBe(ms('2026-03-31T23:59:59.999+08:00'));
    expect(campaign.release).toEqual({
      slicesPerDay: 1,
      rollover: false,
      dayWeights: { '2026-02-06': 3, '2026-02-28': 0.5 },
    });
  });

  it('returns deeply frozen campaigns', () => {
    const campaigns = parseCampaigns({
      campaigns: [rawCampaign({ release: { slicesPerDay: 24, dayWeights: { '2026-02-06': 2 } } })],
    });
    const [campaign] = campaigns;
    if (campaign === undefined) throw new Error('no campaign');
    for (const part of [
      campaigns,
      campaign,
      campaign.perUser,
      campaign.release,
      campaign.release.dayWeights,
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(() => {
      (campaign as { poolFen: number }).poolFen = 1;
    }).toThrow(TypeError);
    expect(() => {
      (campaign.release.dayWeights as Record<string, number>)['2026-02-07'] = 5;
    }).toThrow(TypeError);
  });

  it('accepts several campaigns with distinct ids', () => {
    const campaigns = parseCampaigns({
      campaigns: [rawCampaign(), rawCampaign({ id: 'another-one', name: 'Another' })],
    });
    expect(campaigns.map((c) => c.id)).toEqual(['spring-festival-2026', 'another-one']);
  });
});

describe('parseCampaigns: each violation is reported with its path', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['negative fen', { minOrderFen: -1 }, 'campaigns[0].minOrderFen: must not be negative'],
    ['no coupon per order', { couponsPerOrder: 0 }, 'campaigns[0].couponsPerOrder: must be'],
    [
      'fractional fen',
      { minOrderFen: 0.5 },
      'campaigns[0].minOrderFen: must be a whole number of fen',
    ],
    [
      'fen above MAX_SAFE_INTEGER',
      { poolFen: 2 ** 53 },
      'campaigns[0].poolFen: must not exceed Number.MAX_SAFE_INTEGER (9007199254740991) fen',
    ],
    [
      'a pool that is not a multiple of the coupon value',
      { poolFen: 300_000_001_000 },
      'campaigns[0].poolFen: must be a multiple of couponValueFen (2500)',
    ],
    [
      'a coupon value above the pool',
      { poolFen: 2_500, couponValueFen: 5_000 },
      'campaigns[0].couponValueFen: must not exceed poolFen (2500)',
    ],
    [
      'a coupon value of 0',
      { couponValueFen: 0 },
      'campaigns[0].couponValueFen: must be at least 1 fen',
    ],
    [
      'an end before the start',
      { endsAt: '2026-02-05T00:00:00+08:00' },
      'campaigns[0].endsAt: must be after startsAt',
    ],
    [
      'an end equal to the start',
      { endsAt: '2026-02-05T16:00:00Z' },
      'campaigns[0].endsAt: must be after startsAt',
    ],
    [
      'an unknown time zone',
      { timeZone: 'Asia/Beijing' },
      'campaigns[0].timeZone: must be an IANA time zone such as "Asia/Shanghai", got the string "Asia/Beijing"',
    ],
    ['shards < 1', { shards: 0 }, 'campaigns[0].shards: must be at least 1'],
    ['shards > 1024', { shards: 1025 }, 'campaigns[0].shards: must not exceed 1024'],
    ['fractional shards', { shards: 1.5 }, 'campaigns[0].shards: must be a whole number'],
    ['an unknown campaign field', { poolCNY: 3e9 }, 'campaigns[0].poolCNY: unknown field'],
    [
      'an unknown perUser field',
      { perUser: { daily: 3, total: 21, weekly: 5 } },
      'campaigns[0].perUser.weekly: unknown field',
    ],
    [
      'an unknown release field',
      { release: { slicesPerDay: 24, slice: 'hourly' } },
      'campaigns[0].release.slice: unknown field',
    ],
    [
      'a date without an offset',
      { startsAt: '2026-02-06T00:00:00' },
      'campaigns[0].startsAt: must be an ISO-8601 date-time with an explicit offset',
    ],
    [
      'a date that does not exist',
      { endsAt: '2026-02-30T00:00:00+08:00' },
      'campaigns[0].endsAt: must be an ISO-8601',
    ],
    [
      'a date that is not a string',
      { startsAt: 1770307200000 },
      'campaigns[0].startsAt: must be a string, got number',
    ],
    [
      'a bad couponExpiresAt',
      { couponExpiresAt: 'end of February' },
      'campaigns[0].couponExpiresAt: must be an ISO-8601',
    ],
    [
      'a weight for a day outside the campaign',
      { release: { slicesPerDay: 24, dayWeights: { '2026-03-01': 2 } } },
      'campaigns[0].release.dayWeights["2026-03-01"]: is not a day of the campaign (2026-02-06 to 2026-02-28 in Asia/Shanghai)',
    ],
    [
      'a weight keyed by something else than a day',
      { release: { slicesPerDay: 24, dayWeights: { 'Feb 6': 2 } } },
      'campaigns[0].release.dayWeights["Feb 6"]: must be keyed by a calendar day "YYYY-MM-DD"',
    ],
    [
      'a weight of 0',
      { release: { slicesPerDay: 24, dayWeights: { '2026-02-06': 0 } } },
      'campaigns[0].release.dayWeights["2026-02-06"]: must be a positive finite number',
    ],
    [
      'a weight that is not a number',
      { release: { slicesPerDay: 24, dayWeights: { '2026-02-06': '2' } } },
      'campaigns[0].release.dayWeights["2026-02-06"]: must be a positive finite number',
    ],
    [
      'an infinite weight',
      { release: { slicesPerDay: 24, dayWeights: { '2026-02-06': Infinity } } },
      'campaigns[0].release.dayWeights["2026-02-06"]: must be a positive finite number',
    ],
    [
      'an id with capitals',
      { id: 'Spring' },
      'campaigns[0].id: must be 1-64 characters of a-z, 0-9 and "-"',
    ],
    ['an id with "_"', { id: 'spring_2026' }, 'campaigns[0].id: must be 1-64 characters'],
    ['an empty id', { id: '' }, 'campaigns[0].id: must be 1-64 characters'],
    ['a 65-character id', { id: 'a'.repeat(65) }, 'campaigns[0].id: must be 1-64 characters'],
    ['an empty name', { name: '' }, 'campaigns[0].name: must not be empty'],
    ['a blank name', { name: '   ' }, 'campaigns[0].name: must not be empty'],
    ['another currency', { currency: 'USD' }, 'campaigns[0].currency: must be "CNY"'],
    ['a missing field', { poolFen: undefined }, 'campaigns[0].poolFen: is required'],
    [
      'a missing nested field',
      { perUser: { daily: 3 } },
      'campaigns[0].perUser.total: is required',
    ],
    [
      'daily above total',
      { perUser: { daily: 22, total: 21 } },
      'campaigns[0].perUser.daily: must not exceed perUser.total (21)',
    ],
    [
      'a daily limit of 0',
      { perUser: { daily: 0, total: 21 } },
      'campaigns[0].perUser.daily: must be at least 1',
    ],
    [
      'a fractional total',
      { perUser: { daily: 3, total: 2.5 } },
      'campaigns[0].perUser.total: must be a whole number',
    ],
    [
      '0 slices a day',
      { release: { slicesPerDay: 0 } },
      'campaigns[0].release.slicesPerDay: must be at least 1',
    ],
    [
      '1441 slices a day',
      { release: { slicesPerDay: 1441 } },
      'campaigns[0].release.slicesPerDay: must not exceed 1440',
    ],
    [
      'a rollover that is not a boolean',
      { release: { slicesPerDay: 24, rollover: 'yes' } },
      'campaigns[0].release.rollover: must be true or false',
    ],
    [
      'an expiry before the last day starts',
      { couponExpiresAt: '2026-02-27T23:59:59.999+08:00' },
      "campaigns[0].couponExpiresAt: must not be before the campaign's last day (2026-02-28 in Asia/Shanghai) starts",
    ],
    [
      'an expiry more than 31 days after endsAt',
      { couponExpiresAt: '2026-03-31T23:59:59.999+08:00', endsAt: '2026-02-28T23:59:59.998+08:00' },
      'campaigns[0].couponExpiresAt: must not be more than 31 days after endsAt (2026-03-31T23:59:59.998+08:00 at the latest)',
    ],
    [
      'a default expiry before the last day (a campaign ending in March)',
      { couponExpiresAt: undefined, endsAt: '2026-03-03T23:59:59.999+08:00' },
      'campaigns[0].couponExpiresAt: the default (Feb 28 23:59:59.999 of the year endsAt falls in: 2026-02-28T23:59:59.999+08:00) is before',
    ],
    [
      'a default expiry more than 31 days after the end (a campaign ending in January)',
      {
        couponExpiresAt: undefined,
        startsAt: '2026-01-01T00:00:00+08:00',
        endsAt: '2026-01-20T23:59:59.999+08:00',
      },
      'campaigns[0].couponExpiresAt: the default (Feb 28 23:59:59.999 of the year endsAt falls in: 2026-02-28T23:59:59.999+08:00) is more than 31 days after endsAt',
    ],
    [
      'a campaign longer than 400 days',
      { endsAt: '2027-03-13T00:00:00+08:00', couponExpiresAt: '2027-03-13T00:00:00+08:00' },
      'campaigns[0].endsAt: the campaign may span at most 400 calendar days in Asia/Shanghai, this one spans 401',
    ],
    [
      'a campaign centuries long',
      { endsAt: '2999-02-28T00:00:00+08:00', couponExpiresAt: '2999-02-28T00:00:00+08:00' },
      'campaigns[0].endsAt: the campaign may span at most 400 calendar days in Asia/Shanghai',
    ],
  ])('%s', (_, overrides, expected) => {
    expect(issuesOfCampaign(overrides)).toContainEqual(startingWith(expected));
  });

  it.each<[string, unknown, string]>([
    ['null', null, '(root): must be an object, got null'],
    ['an array', [rawCampaign()], '(root): must be an object, got an array'],
    ['a file without campaigns', {}, 'campaigns: is required'],
    ['an empty list', { campaigns: [] }, 'campaigns: must list at least one campaign'],
    [
      'campaigns not a list',
      { campaigns: rawCampaign() },
      'campaigns: must be an array, got an object',
    ],
    [
      'a campaign that is not an object',
      { campaigns: ['spring'] },
      'campaigns[0]: must be an object, got the string "spring"',
    ],
    [
      'an unknown top-level field',
      { campaigns: [rawCampaign()], version: 2 },
      'version: unknown field',
    ],
  ])('the file: %s', (_, input, expected) => {
    expect(issuesOf(input)).toContain(expected);
  });

  it('reports duplicate ids', () => {
    expect(
      issuesOf({ campaigns: [rawCampaign(), rawCampaign({ name: 'Again' }), rawCampaign()] }),
    ).toEqual([
      'campaigns[1].id: duplicate id "spring-festival-2026" (also campaigns[0])',
      'campaigns[2].id: duplicate id "spring-festival-2026" (also campaigns[0])',
    ]);
  });

  it('accepts the limits themselves', () => {
    expect(() =>
      campaignFrom({
        shards: 1024,
        release: { slicesPerDay: 1440 },
        perUser: { daily: 21, total: 21 },
        poolFen: 2_500,
        couponExpiresAt: '2026-02-28T00:00:00+08:00', // the start of the last day
      }),
    ).not.toThrow();
    expect(() =>
      campaignFrom({
        shards: 1,
        release: { slicesPerDay: 1 },
        couponExpiresAt: '2026-03-31T23:59:59.999+08:00',
      }),
    ).not.toThrow();
    expect(() =>
      campaignFrom({ poolFen: Number.MAX_SAFE_INTEGER, couponValueFen: 1 }),
    ).not.toThrow();
  });
});

describe('parseCampaigns: several problems at once', () => {
  it('reports structural and cross-field problems of one campaign together', () => {
    // an unknown field and a broken type make the object fail as a whole; the cross-field
    // checks (pool multiple, daily <= total, expiry, weights in the campaign) still run
    const issues = issuesOfCampaign({
      colour: 'red',
      shards: 'many',
      poolFen: 300_000_001_000,
      couponExpiresAt: '2026-02-27T23:59:59.999+08:00',
      perUser: { daily: 30, total: 21, extra: true },
      release: { slicesPerDay: 0, dayWeights: { '2027-01-01': 1, '2026-02-06': -1 } },
    });
    expect(issues.sort()).toEqual(
      [
        'campaigns[0].colour: unknown field',
        'campaigns[0].shards: must be a number, got the string "many"',
        'campaigns[0].poolFen: must be a multiple of couponValueFen (2500)',
        'campaigns[0].perUser.extra: unknown field',
        'campaigns[0].perUser.daily: must not exceed perUser.total (21)',
        'campaigns[0].release.slicesPerDay: must be at least 1, got 0',
        'campaigns[0].release.dayWeights["2026-02-06"]: must be a positive finite number, got number -1',
        'campaigns[0].release.dayWeights["2027-01-01"]: is not a day of the campaign (2026-02-06 to 2026-02-28 in Asia/Shanghai)',
        "campaigns[0].couponExpiresAt: must not be before the campaign's last day (2026-02-28 in Asia/Shanghai) starts",
      ].sort(),
    );
  });

  it('reports every problem of every campaign, one per line of the message', () => {
    let error: unknown;
    try {
      parseCampaigns({
        campaigns: [
          rawCampaign({
            poolFen: -2_500,
            timeZone: 'Mars/Olympus_Mons',
            endsAt: '2026-02-01T00:00:00+08:00',
          }),
          rawCampaign({ id: 'second', couponValueFen: 0.5, startsAt: 'yesterday' }),
          rawCampaign({ release: { slicesPerDay: 24, dayWeights: { '2026-01-01': 2 } } }),
        ],
        extra: true,
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CampaignConfigError);
    const { issues, message } = error as CampaignConfigError;
    expect(issues).toEqual(
      expect.arrayContaining([
        'extra: unknown field',
        'campaigns[0].poolFen: must not be negative, got -2500',
        'campaigns[0].endsAt: must be after startsAt',
        'campaigns[0].timeZone: must be an IANA time zone such as "Asia/Shanghai", got the string "Mars/Olympus_Mons"',
        'campaigns[1].couponValueFen: must be a whole number of fen, got 0.5',
        'campaigns[1].couponValueFen: must be at least 1 fen, got 0.5',
        expect.stringMatching(/^campaigns\[1\]\.startsAt: must be an ISO-8601/),
        'campaigns[2].id: duplicate id "spring-festival-2026" (also campaigns[0])',
        'campaigns[2].release.dayWeights["2026-01-01"]: is not a day of the campaign (2026-02-06 to 2026-02-28 in Asia/Shanghai)',
      ]),
    );
    expect(issues).toHaveLength(9);
    expect(message.split('\n')).toEqual(issues);
  });
});

describe('loadCampaignsFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'campaigns-'));

  it('reads and validates a file', () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, JSON.stringify({ campaigns: [rawCampaign()] }));
    expect(loadCampaignsFile(path).map((c) => c.id)).toEqual(['spring-festival-2026']);
  });

  it('turns a JSON syntax error into a CampaignConfigError naming the file', () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ "campaigns": [ { "id": "x", } ] }');
    expect(() => loadCampaignsFile(path)).toThrow(CampaignConfigError);
    expect(() => loadCampaignsFile(path)).toThrow(
      new RegExp(`^${path.replace(/[.\\]/g, '\\$&')}: not valid JSON`),
    );
  });

  it('turns a missing file into a CampaignConfigError naming the file', () => {
    const path = join(dir, 'missing.json');
    expect(() => loadCampaignsFile(path)).toThrow(CampaignConfigError);
    expect(() => loadCampaignsFile(path)).toThrow(`${path}: cannot read the file`);
  });

  it('reports the violations of a file', () => {
    const path = join(dir, 'invalid.json');
    writeFileSync(path, JSON.stringify({ campaigns: [rawCampaign({ shards: 0 })] }));
    expect(() => loadCampaignsFile(path)).toThrow('campaigns[0].shards: must be at least 1');
  });
});
