import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { CampaignConfigError, parseIsoInstant } from '@coupons/campaign';
import { DEFAULT_PRESCALE, type GeneratedWith } from '../prescale';
import { checkPrescaleFile, generatePrescaleFile } from '../prescaleFile';

const USAGE = `usage: npm run k8s:prescale -- [options]

Writes KEDA cron triggers that scale the coupon service up before each crowd of the campaign
calendar (a campaign's start, each day's tranche release) as a kustomize patch of the ScaledObject.

  --campaigns PATH     campaigns file (default k8s/base/campaigns.json)
  --out PATH           the patch to write (default k8s/base/prescale-triggers.yaml)
  --lead-minutes N     scale up N minutes before each release (default ${DEFAULT_PRESCALE.leadMinutes})
  --hold-minutes N     hold the fleet N minutes after it (default ${DEFAULT_PRESCALE.holdMinutes})
  --replicas N         pods during a window (default ${DEFAULT_PRESCALE.replicas})
  --all                keep ended campaigns and past windows (they recur yearly: cron has no year)
  --now ISO            generate as of this instant instead of the clock's
  --check              write nothing; exit 1 when --out no longer matches the campaigns file it was
                       made from, or holds windows of a campaign that has ended since`;

const DEFAULT_CAMPAIGNS = 'k8s/base/campaigns.json';
const DEFAULT_OUT = 'k8s/base/prescale-triggers.yaml';

export interface CliOptions {
  campaigns: string;
  out: string;
  leadMinutes: number;
  holdMinutes: number;
  replicas: number;
  all: boolean;
  now: number | undefined;
  check: boolean;
}

export class UsageError extends Error {}

function wholeNumber(flag: string, value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value))
    throw new UsageError(`${flag} needs a whole number, got ${value ?? 'nothing'}`);
  return Number(value);
}

export function parseArgs(argv: readonly string[]): CliOptions | 'help' {
  const options: CliOptions = {
    campaigns: DEFAULT_CAMPAIGNS,
    out: DEFAULT_OUT,
    ...DEFAULT_PRESCALE,
    now: undefined,
    check: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i]!;
    const value = () => {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--'))
        throw new UsageError(`${flag} needs a value`);
      i += 1;
      return next;
    };
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--campaigns':
        options.campaigns = value();
        break;
      case '--out':
        options.out = value();
        break;
      case '--lead-minutes':
        options.leadMinutes = wholeNumber(flag, value());
        break;
      case '--hold-minutes':
        options.holdMinutes = wholeNumber(flag, value());
        break;
      case '--replicas':
        options.replicas = wholeNumber(flag, value());
        break;
      case '--all':
        options.all = true;
        break;
      case '--now': {
        const text = value();
        const now = parseIsoInstant(text);
        if (now === undefined)
          throw new UsageError(`--now needs an ISO instant with offset, got ${text}`);
        options.now = now;
        break;
      }
      case '--check':
        options.check = true;
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  return options;
}

/** The patch text for these options as of `now`, and a line per campaign for the operator. */
export function generate(
  options: CliOptions,
  now: number,
  cwd: string,
): { text: string; summary: string[] } {
  const campaignsPath = resolve(cwd, options.campaigns);
  const made: GeneratedWith = {
    now,
    campaigns: relative(cwd, campaignsPath).split('\\').join('/'),
    leadMinutes: options.leadMinutes,
    holdMinutes: options.holdMinutes,
    replicas: options.replicas,
    all: options.all,
  };
  const { text, results } = generatePrescaleFile(cwd, made);
  const summary = results.map(
    ({ campaign, windows, triggers }) =>
      `${campaign.id}: ${windows.length} window(s), ${triggers.length} cron trigger(s)`,
  );
  return { text, summary };
}

function main(argv: readonly string[]): number {
  const write = (line: string) => process.stdout.write(`${line}\n`);
  const fail = (line: string) => process.stderr.write(`${line}\n`);
  let options;
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      fail(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (options === 'help') {
    write(USAGE);
    return 0;
  }
  const cwd = process.cwd();
  // The one clock read: the generator itself takes `now` as an argument. Whole minutes keep the
  // recorded instant readable.
  const now = options.now ?? Math.floor(Date.now() / 60_000) * 60_000;
  let generated;
  try {
    generated = generate(options, now, cwd);
  } catch (err) {
    if (err instanceof CampaignConfigError || err instanceof RangeError) {
      fail(err.message);
      return 1;
    }
    throw err;
  }
  const outPath = resolve(cwd, options.out);
  if (options.check) {
    let current: string;
    try {
      current = readFileSync(outPath, 'utf8');
    } catch (err) {
      fail(`${options.out}: cannot read it (${(err as Error).message}): run npm run k8s:prescale`);
      return 1;
    }
    const problems = checkPrescaleFile(current, cwd, now);
    for (const problem of problems) fail(`${options.out}: ${problem}`);
    if (problems.length > 0) return 1;
    write(`${options.out} is up to date`);
    return 0;
  }
  writeFileSync(outPath, generated.text);
  for (const line of generated.summary) write(line);
  write(`wrote ${options.out}`);
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
