import {
  mapUsersToShards,
  simulateStranding,
  type ArrivalProfile,
  type Popularity,
  type RebalanceRule,
  type StrandingReport,
} from './stranding';

/**
 * Measures stranded budget (docs/stranding.md) and prints markdown tables.
 * Usage: node libs/budget-ledger/dist/src/simulation/run-stranding.js [--users=1000000]
 *   [--shards=16] [--tranche=1000000] [--slices=24] [--demands=0.8,1,1.2,3,15] [--seeds=3]
 *   [--sweep=0.97:1.12:0.01] (--sweep=none skips the sweep and the rule comparison)
 */

const flags = new Map(
  process.argv.slice(2).map((arg) => {
    const match = /^--([a-z]+)=(.*)$/.exec(arg);
    if (!match) throw new Error(`unknown argument ${arg}; see the usage in run-stranding.ts`);
    return [match[1]!, match[2]!] as const;
  }),
);
const numberFlag = (name: string, fallback: number): number => {
  const value = Number(flags.get(name) ?? fallback);
  if (!Number.isFinite(value)) throw new Error(`--${name} must be a number`);
  return value;
};

const users = numberFlag('users', 1_000_000);
const shards = numberFlag('shards', 16);
const trancheCoupons = numberFlag('tranche', 1_000_000);
const slicesPerDay = numberFlag('slices', 24);
const seeds = numberFlag('seeds', 3);
const demands = (flags.get('demands') ?? '0.8,1,1.2,3,15').split(',').map(Number);
const sweep = flags.get('sweep') ?? '0.97:1.12:0.01';

const ARRIVALS: readonly { name: string; profile: ArrivalProfile; popularity?: Popularity }[] = [
  { name: 'uniform', profile: { kind: 'uniform' } },
  { name: 'flash-slice', profile: { kind: 'flash-slice', share: 0.8, withinMs: 5 * 60_000 } },
  { name: 'flash-day', profile: { kind: 'flash-day', share: 0.8, withinMs: 3 * 3_600_000 } },
  {
    name: 'uniform, zipf(0.8) users',
    profile: { kind: 'uniform' },
    popularity: { kind: 'zipf', exponent: 0.8 },
  },
];

/** One slice's share of one shard: the most one transfer may move. */
const sliceShare = Math.ceil(trancheCoupons / slicesPerDay / shards);
const RECOMMENDED: RebalanceRule = {
  kind: 'on-sold-out',
  maxCoupons: sliceShare,
  // 2% of a slice's share: at 15x demand with 80% in a slice's first 5 min a shard issues 4% of
  // its share per second, so this covers a 100 ms transfer five times over.
  lowWaterCoupons: Math.max(10, Math.ceil(sliceShare / 50)),
  cooldownMs: 1_000,
  latencyMs: 100,
};

const userShards = mapUsersToShards(users, shards);
const usersPerShard = new Array<number>(shards).fill(0);
for (const shard of userShards) usersPerShard[shard]! += 1;

const print = (line = '') => process.stdout.write(`${line}\n`);
const count = (n: number) => n.toLocaleString('en-US');
const pct = (fraction: number) => `${(fraction * 100).toFixed(3)}%`;
const seconds = (ms: number) =>
  ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
const ruleName = (rule: RebalanceRule | undefined): string => {
  if (!rule) return 'none';
  if (rule.kind === 'periodic') return `periodic equalise every ${seconds(rule.everyMs)}`;
  const lowWater =
    rule.lowWaterCoupons === undefined ? 'on refusal only' : `low water ${rule.lowWaterCoupons}`;
  return `on-sold-out K=${rule.maxCoupons}, ${lowWater}, cooldown ${seconds(rule.cooldownMs)}`;
};

function table(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
  print(line(headers));
  print(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const row of rows) print(line(row));
  print();
}

function run(
  demandFactor: number,
  arrival: ArrivalProfile,
  seed: number,
  rebalance?: RebalanceRule,
  popularity: Popularity = { kind: 'uniform' },
): StrandingReport {
  const base = { users, shards, trancheCoupons, slicesPerDay, demandFactor, seed, arrival };
  const rule = rebalance ? { rebalance } : {};
  return simulateStranding({ ...base, popularity, userShards, ...rule });
}

const lastSliceRefusals = (r: StrandingReport) =>
  r.shards.reduce((sum, shard) => sum + shard.soldOutInLastSlice, 0);

function casesTable(rebalance: RebalanceRule | undefined): void {
  const rows: string[][] = [];
  for (const { name, profile, popularity } of ARRIVALS) {
    for (const demand of demands) {
      const r = run(demand, profile, 1, rebalance, popularity);
      rows.push([
        name,
        String(demand),
        count(r.attempts),
        pct(r.issuedCoupons / trancheCoupons),
        count(r.refusedSoldOut),
        count(r.refusedWhileBudgetElsewhere),
        `${pct(r.maxStrandedWhileRefusing)} (${count(r.maxStrandedWhileRefusingCoupons)})`,
        seconds(r.maxRefusingWhileBudgetElsewhereMs),
        count(lastSliceRefusals(r)),
        `${pct(r.strandedAtEnd)} (${count(r.strandedAtEndCoupons)})`,
        count(r.rebalance.transfers),
      ]);
    }
  }
  table(
    [
      'arrival',
      'demand',
      'attempts',
      'issued',
      'sold-out refusals',
      'refusedWhileBudgetElsewhere',
      'maxStrandedWhileRefusing',
      'longest refusing',
      'last-slice refusals',
      'strandedAtEnd',
      'transfers',
    ],
    rows,
  );
}

/** Demand factors around the knife edge, every seed: the worst end-of-day stranding. */
function sweepTable(): number {
  const [from, to, step] = sweep.split(':').map(Number) as [number, number, number];
  const rows: string[][] = [];
  let worst = { demand: from, stranded: -1 };
  for (let k = 0; from + k * step <= to + 1e-9; k += 1) {
    const demand = Math.round((from + k * step) * 1e6) / 1e6;
    const plain: StrandingReport[] = [];
    const balanced: StrandingReport[] = [];
    for (let seed = 1; seed <= seeds; seed += 1) {
      plain.push(run(demand, { kind: 'uniform' }, seed));
      balanced.push(run(demand, { kind: 'uniform' }, seed, RECOMMENDED));
    }
    const max = (reports: StrandingReport[], pick: (r: StrandingReport) => number) =>
      Math.max(...reports.map(pick));
    const stranded = max(plain, (r) => r.strandedAtEnd);
    if (stranded > worst.stranded) worst = { demand, stranded };
    rows.push([
      String(demand),
      pct(max(plain, (r) => r.unissuedAtEnd / trancheCoupons)),
      pct(stranded),
      pct(max(plain, (r) => r.maxStrandedWhileRefusing)),
      pct(max(balanced, (r) => r.strandedAtEnd)),
      pct(max(balanced, (r) => r.maxStrandedWhileRefusing)),
      count(max(balanced, (r) => r.rebalance.transfers)),
    ]);
  }
  table(
    [
      'demand',
      'unissued at end',
      'strandedAtEnd',
      'maxStrandedWhileRefusing',
      'strandedAtEnd, rebalanced',
      'maxStrandedWhileRefusing, rebalanced',
      'transfers, rebalanced',
    ],
    rows,
  );
  return worst.demand;
}

function rulesTable(worstDemand: number): void {
  const rules: (RebalanceRule | undefined)[] = [
    undefined,
    { kind: 'on-sold-out', maxCoupons: sliceShare, cooldownMs: 1_000, latencyMs: 100 },
    { ...RECOMMENDED, lowWaterCoupons: 10 } as RebalanceRule,
    RECOMMENDED,
    { ...RECOMMENDED, cooldownMs: 10_000 } as RebalanceRule,
    { kind: 'periodic', everyMs: 10_000, latencyMs: 100 },
    { kind: 'periodic', everyMs: 60_000, latencyMs: 100 },
    { kind: 'periodic', everyMs: 300_000, latencyMs: 100 },
  ];
  const cases: { name: string; demand: number; profile: ArrivalProfile }[] = [
    { name: 'uniform', demand: worstDemand, profile: ARRIVALS[0]!.profile },
    { name: 'flash-slice', demand: 1.2, profile: ARRIVALS[1]!.profile },
    { name: 'flash-slice', demand: 15, profile: ARRIVALS[1]!.profile },
  ];
  const distinct = rules.filter(
    (rule, i) => rules.findIndex((other) => ruleName(other) === ruleName(rule)) === i,
  );
  const rows: string[][] = [];
  for (const { name, demand, profile } of cases) {
    for (const rule of distinct) {
      const r = run(demand, profile, 1, rule);
      rows.push([
        `${name} ${demand}`,
        ruleName(rule),
        pct(r.strandedAtEnd),
        pct(r.maxStrandedWhileRefusing),
        count(r.refusedWhileBudgetElsewhere),
        seconds(r.maxRefusingWhileBudgetElsewhereMs),
        count(r.rebalance.transfers),
        count(r.rebalance.couponsMoved),
      ]);
    }
  }
  table(
    [
      'case',
      'rebalance',
      'strandedAtEnd',
      'maxStrandedWhileRefusing',
      'refusedWhileBudgetElsewhere',
      'longest refusing',
      'transfers/day',
      'coupons moved',
    ],
    rows,
  );
}

const started = process.hrtime.bigint();
print(
  `${count(users)} users, ${shards} shards (users per shard ${count(Math.min(...usersPerShard))}` +
    `..${count(Math.max(...usersPerShard))}), tranche ${count(trancheCoupons)} coupons, ` +
    `${slicesPerDay} slices, daily limit 3; flash-slice: 80% of each slice's attempts in its ` +
    `first 5 min; flash-day: 80% of the day's in its first 3 h; zipf(0.8): user-<r> is picked ` +
    `with weight 1 / (r + 1) ** 0.8.`,
);
print();
print('Without rebalancing (seed 1):');
print();
casesTable(undefined);
print(`With rebalancing, ${ruleName(RECOMMENDED)}, transfer latency 100 ms (seed 1):`);
print();
casesTable(RECOMMENDED);
if (sweep !== 'none') {
  print(`Knife edge, uniform arrival, max over seeds 1..${seeds}:`);
  print();
  const worstDemand = sweepTable();
  print(`Rebalancing rules compared (seed 1; transfer latency 100 ms):`);
  print();
  rulesTable(worstDemand);
}
print(`(${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s)`);
