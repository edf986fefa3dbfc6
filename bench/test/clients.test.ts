import { claimIds, claimRequests } from '../src/catalog';
import {
  ClientsBook,
  clientsOrder,
  fateOfAnswer,
  fateOfOutcome,
  FATES,
  parsePodCounters,
  percentile,
  podShed,
  weightedShedCpuSeconds,
  type ClientsMode,
  type Fate,
} from '../src/clientsBook';
import {
  clientsFigures,
  clientsTable,
  clientsTargetsTable,
  pairedModeRatio,
  type ClientsSection,
} from '../src/clientsReport';
import { renderMarkdown } from '../src/report';
import type { BenchResults, ClientsPoint } from '../src/results';
import { TEST_MACHINE } from './machine';
import { parseSettings, UsageError } from '../src/settings';

const DEADLINE = 2000;

describe('clients section: what became of an arrival', () => {
  it('raw: a 2xx in time is served, 429/503 with Retry-After shed, a late answer too late', () => {
    expect(fateOfAnswer(201, false, 30, DEADLINE)).toBe('served');
    expect(fateOfAnswer(503, true, 5, DEADLINE)).toBe('shed');
    expect(fateOfAnswer(429, true, 5, DEADLINE)).toBe('shed');
    expect(fateOfAnswer(503, false, 5, DEADLINE)).toBe('other');
    expect(fateOfAnswer(401, false, 5, DEADLINE)).toBe('other');
    expect(fateOfAnswer(201, false, 2001, DEADLINE)).toBe('served_late');
    expect(fateOfAnswer(503, true, 2001, DEADLINE)).toBe('lost');
  });

  it('client: issued or replayed is served, the service shedding is shed, the throttle local', () => {
    expect(fateOfOutcome({ kind: 'issued' }, 10, DEADLINE)).toBe('served');
    expect(fateOfOutcome({ kind: 'replayed' }, 10, DEADLINE)).toBe('served');
    expect(fateOfOutcome({ kind: 'issued' }, 2500, DEADLINE)).toBe('served_late');
    expect(fateOfOutcome({ kind: 'overloaded', source: 'service' }, 10, DEADLINE)).toBe('shed');
    expect(fateOfOutcome({ kind: 'overloaded', source: 'throttle' }, 0, DEADLINE)).toBe(
      'refused_locally',
    );
    expect(fateOfOutcome({ kind: 'overloaded', source: 'bulkhead' }, 0, DEADLINE)).toBe(
      'refused_locally',
    );
    expect(fateOfOutcome({ kind: 'unavailable', cause: 'no_answer' }, 2000, DEADLINE)).toBe('lost');
    expect(fateOfOutcome({ kind: 'unavailable', cause: 'connection' }, 3, DEADLINE)).toBe('lost');
    expect(fateOfOutcome({ kind: 'unavailable', cause: 'service' }, 3, DEADLINE)).toBe('other');
    expect(fateOfOutcome({ kind: 'rate_limited' }, 3, DEADLINE)).toBe('other');
  });
});

describe('clients section: the same claims in both modes', () => {
  it("raw's request i carries the user and Idempotency-Key the client's claim i is given", () => {
    const spec = claimRequests({
      apiKey: 'k',
      campaignId: 'bench',
      soldOutCampaignsFile: '',
      env: {},
    })('t1')(42);
    const ids = claimIds('t1', 42);
    expect(spec.headers).toMatchObject({
      'x-user-id': ids.userId,
      'idempotency-key': ids.idempotencyKey,
    });
    expect(spec.body).toBe(`{"userId":"${ids.userId}"}`);
  });
});

describe('clients section: the per-mode book', () => {
  it('counts the hold only, requests per served claim, and served latency from the schedule', () => {
    const book = new ClientsBook(10); // arrivals 0..9 were the ramp
    for (let i = 0; i < 10; i++) {
      book.arrived(0);
      book.settle(i, 'served', 1, 1);
    }
    // The hold: 100 arrivals; 40 served (3 requests each for 10 of them), 50 refused here, 10 shed.
    for (let i = 10; i < 110; i++) {
      book.arrived(1);
      const k = i - 10;
      if (k < 40) book.settle(i, 'served', k + 1, k < 10 ? 3 : 1);
      else if (k < 90) book.settle(i, 'refused_locally', 0, 0);
      else book.settle(i, 'shed', 5, 1);
    }
    const s = book.summary(4000);
    expect(book.settled).toBe(110);
    expect(s.arrivals).toBe(100);
    expect(s.fates).toEqual({ ...zeroFates(), served: 40, refused_locally: 50, shed: 10 });
    expect(s.requests).toBe(10 * 3 + 30 + 10);
    expect(s.requestsPerServed).toBeCloseTo(70 / 40, 10);
    expect(s.goodputPerSecond).toBe(10);
    expect(s.servedLatencyMs).toEqual({ p50: 20, p99: 40, max: 40 });
    expect(s.generatorBehind).toBe(false);
  });

  it('has no requests per served claim when nothing was served', () => {
    const book = new ClientsBook(0);
    book.arrived(0);
    book.settle(0, 'lost', 2000, 1);
    expect(book.summary(1000).requestsPerServed).toBeUndefined();
    expect(book.summary(1000).servedLatencyMs.p99).toBe(0);
  });

  it('says the generator fell behind when its lag p99 or its share of late arrivals is high', () => {
    const late = new ClientsBook(0);
    for (let i = 0; i < 100; i++) late.arrived(i < 94 ? 0 : 20); // 6% over 10 ms
    expect(late.summary(1000).generatorBehind).toBe(true);
    const slow = new ClientsBook(0);
    for (let i = 0; i < 1000; i++) slow.arrived(i < 980 ? 1 : 500); // p99 500 ms, 2% late
    expect(slow.summary(1000).lagMs.p99).toBe(500);
    expect(slow.summary(1000).generatorBehind).toBe(true);
    const fine = new ClientsBook(0);
    for (let i = 0; i < 1000; i++) fine.arrived(i < 995 ? 1 : 30);
    expect(fine.summary(1000).generatorBehind).toBe(false);
  });

  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 99)).toBe(0);
    expect(percentile([5, 1, 3], 50)).toBe(3);
    expect(percentile([5, 1, 3], 100)).toBe(5);
    expect(percentile([5, 1, 3], 1)).toBe(1);
  });
});

describe("clients section: the pod's shed answers and their CPU", () => {
  const exposition = (received: number, shedConcurrency: number, issued: number) =>
    [
      '# HELP coupon_requests_received_total Requests that reached the admission gate',
      '# TYPE coupon_requests_received_total counter',
      `coupon_requests_received_total{priority="claim"} ${received}`,
      'coupon_requests_received_total{priority="redeem"} 7',
      `coupon_admission_shed_total{reason="concurrency",priority="claim"} ${shedConcurrency}`,
      'coupon_admission_shed_total{reason="rate",priority="claim"} 5',
      'coupon_admission_shed_total{reason="rate",priority="read"} 100',
      `coupon_claims_total{campaign="bench",outcome="issued"} ${issued}`,
      'coupon_claims_total{campaign="bench",outcome="replayed"} 1',
      'coupon_claims_total{campaign="bench",outcome="deadline"} 3',
      'coupon_claim_duration_seconds_count{campaign="bench",outcome="issued"} 999',
    ].join('\n');

  it('reads claims received, shed (every reason) and issued out of the metrics', () => {
    expect(parsePodCounters(exposition(1000, 300, 600))).toEqual({
      received: 1000,
      shed: 305,
      issued: 601,
    });
  });

  it('attributes pod CPU to shed answers by their share of the claims received', () => {
    const before = parsePodCounters(exposition(100, 0, 90));
    const after = parsePodCounters(exposition(10_100, 8_000, 2_090));
    const shed = podShed(12, before, after);
    expect(shed).toMatchObject({ received: 10_000, shed: 8_000, issued: 2_000 });
    expect(shed.shedShare).toBeCloseTo(0.8, 10);
    expect(shed.shedCpuSeconds).toBeCloseTo(9.6, 10);
    expect(podShed(3, before, before)).toMatchObject({ shedShare: 0, shedCpuSeconds: 0 });
  });

  it('weighs shed answers by their measured cost when the run measured it', () => {
    // 8,000 shed at 0.1 of a claim = 800 claims' work against 2,000 admitted: 800/2,800 of 14 s
    expect(weightedShedCpuSeconds(14, { received: 10_000, shed: 8_000 }, 0.1)).toBeCloseTo(4, 10);
    // at a weight of 1 it is the share of the answers
    expect(weightedShedCpuSeconds(12, { received: 10_000, shed: 8_000 }, 1)).toBeCloseTo(9.6, 10);
    expect(weightedShedCpuSeconds(12, { received: 0, shed: 0 }, 0.1)).toBe(0);
  });
});

describe('clients section: order of the rounds', () => {
  it('alternates raw and client throughout, never one mode twice in a row', () => {
    const order = clientsOrder(3, [3, 10, 30]);
    expect(order).toHaveLength(18);
    expect(order.slice(0, 4)).toEqual([
      { round: 0, multiple: 3, mode: 'raw' },
      { round: 0, multiple: 3, mode: 'client' },
      { round: 0, multiple: 10, mode: 'raw' },
      { round: 0, multiple: 10, mode: 'client' },
    ]);
    for (let k = 1; k < order.length; k++) expect(order[k]!.mode).not.toBe(order[k - 1]!.mode);
  });
});

function zeroFates(): Record<Fate, number> {
  return Object.fromEntries(FATES.map((f) => [f, 0])) as Record<Fate, number>;
}

function clientsPoint(
  mode: ClientsMode,
  round: number,
  multiple: number,
  served: number,
  extra: { requests?: number; shedCpuSeconds?: number; behind?: boolean } = {},
): ClientsPoint {
  const arrivals = 10_000;
  return {
    mode,
    round,
    multiple,
    targetRate: multiple * 1000,
    backends: 32,
    summary: {
      arrivals,
      fates: { ...zeroFates(), served, lost: arrivals - served },
      requests: extra.requests ?? arrivals,
      goodputPerSecond: served / 10,
      servedLatencyMs: { p50: 10, p99: 100, max: 200 },
      ...(served > 0 ? { requestsPerServed: (extra.requests ?? arrivals) / served } : {}),
      lagMs: { p50: 0, p99: extra.behind === true ? 80 : 2, max: 90 },
      lateShare: 0,
      generatorBehind: extra.behind === true,
    },
    wallMs: 10_000,
    settledMs: 10_000,
    cpuSeconds: 9,
    pod: {
      received: 1,
      shed: 0,
      issued: served,
      shedShare: 0,
      shedCpuSeconds: extra.shedCpuSeconds ?? 0,
    },
    generator: { utilization: 0.5, cpuSeconds: 5 },
    serverCoreOtherSeconds: 0,
    serverCoreStealSeconds: 0,
  };
}

describe('clients section: aggregation and report', () => {
  // capacity 1000/s, 10 s hold: served 9000 is goodput 900/s = 0.9 of capacity
  const section: ClientsSection = {
    capacity: 1000,
    capacitySource: 'test',
    points: [
      clientsPoint('raw', 0, 10, 2000, { shedCpuSeconds: 6 }),
      clientsPoint('client', 0, 10, 9000, { requests: 9500, shedCpuSeconds: 1.5 }),
      clientsPoint('raw', 1, 10, 1000, { shedCpuSeconds: 8 }),
      clientsPoint('client', 1, 10, 8000, { requests: 8400, shedCpuSeconds: 2 }),
      clientsPoint('raw', 0, 30, 0, { behind: true }),
      clientsPoint('client', 0, 30, 7000),
    ],
  };

  it('pairs client with raw round by round', () => {
    const share = (p: ClientsPoint) => clientsFigures.goodputShare(p, section.capacity);
    // round 0: 0.9 / 0.2 = 4.5; round 1: 0.8 / 0.1 = 8
    const ratio = pairedModeRatio(section, 10, share);
    expect(ratio).toEqual({ median: 6.25, min: 4.5, max: 8, n: 2 });
    // raw served nothing at 30x: no ratio
    expect(pairedModeRatio(section, 30, share)).toBeUndefined();
  });

  it('tabulates each (load, mode) with medians and ranges, and flags a generator behind', () => {
    const table = clientsTable(section, 10_000);
    expect(table).toContain('| 10x | raw | 10,000 | 0.15 (0.10-0.20) | 100 |');
    expect(table).toContain(
      '| 10x | client | 10,000 | 0.85 (0.80-0.90) | 100 | 1.05 (1.05-1.06) |',
    );
    expect(table).toMatch(
      /\| 30x \| raw \| 30,000 \| 0\.00 \| n\/a \| n\/a \|.*\*\*generator behind\*\* \(1\/1\)/,
    );
  });

  it('adds a weighted shed CPU column when the shed cost was measured in the same run', () => {
    const table = clientsTable(section, 10_000, 0.1);
    expect(table).toContain('| the same, a shed answer weighing 0.10 of a claim |');
    expect(clientsTable(section, 10_000)).not.toContain('weighing');
  });

  it('reads the targets off the run without asserting them', () => {
    const table = clientsTargetsTable(section);
    expect(table).toContain(
      '| 10x | 0.15 (0.10-0.20) | 0.85 (0.80-0.90) | 6.25 (4.50-8.00) | 0.25 | client >= 0.85: met |',
    );
    expect(table).toMatch(
      /\| 30x \| 0\.00 \| 0\.70 \| n\/a \| n\/a \| client >= 0\.80: not met \| \*\*generator behind\*\*/,
    );
  });

  it('renders the clients section alone when it ran alone', () => {
    const settings = parseSettings(['--sections', 'clients', '--quick']);
    const results: BenchResults = {
      startedAt: '2026-12-02T00:00:00.000Z',
      finishedAt: '2026-12-02T00:01:00.000Z',
      settings,
      machine: TEST_MACHINE,
      capacity: 1000,
      rateLimitPerSecond: 0,
      points: [],
      clients: section,
    };
    const md = renderMarkdown(results, {});
    expect(md).toContain('## Many callers, raw and through @coupons/client');
    expect(md).not.toContain('## Closed loop');
    expect(md).not.toContain('## Open model');
  });
});

describe('clients section: settings', () => {
  it('runs every section by default, and --sections picks (shed and open bring closed)', () => {
    expect(parseSettings([]).sections).toEqual(['closed', 'shed', 'open', 'overload', 'clients']);
    expect(parseSettings(['--sections', 'clients']).sections).toEqual(['clients']);
    // the overload section measures its own (capped) capacity
    expect(parseSettings(['--sections', 'overload']).sections).toEqual(['overload']);
    expect(parseSettings(['--sections', 'open,clients']).sections).toEqual([
      'closed',
      'open',
      'clients',
    ]);
    expect(() => parseSettings(['--sections', 'clients,bogus'])).toThrow(UsageError);
  });

  it('offers 3x, 10x and 30x of CLAIM_CAPACITY_PER_POD when set, of the measured capacity when not', () => {
    expect(parseSettings([]).clients).toEqual({
      rampMs: 2000,
      holdMs: 8000,
      multiples: [3, 10, 30],
      backends: 32,
    });
    const given = parseSettings(['--client-multiples', '10', '--backends', '8'], {
      CLAIM_CAPACITY_PER_POD: '350',
    }).clients;
    expect(given).toMatchObject({ multiples: [10], backends: 8, capacityPerPod: 350 });
    expect(() => parseSettings([], { CLAIM_CAPACITY_PER_POD: 'lots' })).toThrow(UsageError);
  });
});
