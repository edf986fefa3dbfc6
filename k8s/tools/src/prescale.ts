import { CampaignCalendar, toZonedIso, type CampaignConfig } from '@coupons/campaign';

/**
 * Pre-scaling from the campaign calendar: a crowd arrives at a campaign's start and at each day's
 * tranche release (the day's first slice), and the demand autoscaler only sees it once it has
 * arrived. These KEDA `cron` triggers hold the fleet at a planned size from `leadMinutes` before
 * each of those instants to `holdMinutes` after it, and the demand trigger takes over from there.
 *
 * Everything here is a pure function of the campaigns and the settings: the generation instant is
 * passed in (`now`), never read from a clock.
 */
export interface PrescaleSettings {
  /** The generation instant (epoch ms): what ended before it is left out unless `all`. */
  readonly now: number;
  /** Minutes before a release that the fleet is scaled up. */
  readonly leadMinutes: number;
  /** Minutes after a release that the fleet is held up. */
  readonly holdMinutes: number;
  /** Pods held during a window (KEDA's `desiredReplicas`). */
  readonly replicas: number;
  /** Keep ended campaigns and past windows too. */
  readonly all: boolean;
}

export const DEFAULT_PRESCALE = Object.freeze({
  leadMinutes: 10,
  holdMinutes: 30,
  replicas: 20,
  all: false,
});

export type WindowReason = 'campaign start' | 'tranche release';

/** One crowd: the instant it comes for, and the span the fleet is held up around it. */
export interface CrowdWindow {
  readonly campaignId: string;
  readonly timeZone: string;
  /** The campaign day (YYYY-MM-DD in the campaign's zone) whose release this is. */
  readonly day: string;
  readonly reason: WindowReason;
  /** Epoch ms of the release (the day's first slice). */
  readonly releaseAtMs: number;
  /** Epoch ms the fleet is scaled up: releaseAtMs - lead, down to the whole minute. */
  readonly startMs: number;
  /** Epoch ms the fleet may scale down again: releaseAtMs + hold, up to the whole minute. */
  readonly endMs: number;
}

/** A KEDA cron trigger, as it goes into the ScaledObject's `triggers`. */
export interface CronTrigger {
  readonly type: 'cron';
  readonly name: string;
  readonly metricType: 'AverageValue';
  readonly metadata: {
    readonly timezone: string;
    readonly start: string;
    readonly end: string;
    readonly desiredReplicas: string;
  };
}

/** The triggers of one campaign and the windows they cover. */
export interface CampaignPrescale {
  readonly campaign: CampaignConfig;
  readonly windows: readonly CrowdWindow[];
  readonly triggers: readonly CronTrigger[];
}

const MINUTE_MS = 60_000;
/** A day at most either side: a longer lead or hold would merge every window into one. */
const MAX_WINDOW_MINUTES = 24 * 60;

export function checkSettings(settings: PrescaleSettings): void {
  const problems: string[] = [];
  if (!Number.isFinite(settings.now)) problems.push(`now must be an epoch ms, got ${settings.now}`);
  const minutes = (name: string, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min || value > MAX_WINDOW_MINUTES)
      problems.push(
        `${name} must be a whole number from ${min} to ${MAX_WINDOW_MINUTES}, got ${value}`,
      );
  };
  minutes('leadMinutes', settings.leadMinutes, 0);
  minutes('holdMinutes', settings.holdMinutes, 1);
  if (!Number.isInteger(settings.replicas) || settings.replicas < 1 || settings.replicas > 10_000)
    problems.push(`replicas must be a whole number from 1 to 10000, got ${settings.replicas}`);
  if (problems.length > 0) throw new RangeError(problems.join('; '));
}

/**
 * The crowd windows of one campaign: its start and each day's first slice (the start is the first
 * day's first slice), each from `lead` before to `hold` after, overlapping windows merged. Unless
 * `all`, a campaign that ended before `now` has none, and windows that ended before `now` are
 * dropped: a cron expression has no year, so a window left in would come back a year later.
 */
export function crowdWindows(campaign: CampaignConfig, settings: PrescaleSettings): CrowdWindow[] {
  checkSettings(settings);
  if (!settings.all && campaign.endsAt < settings.now) return [];
  const calendar = new CampaignCalendar(campaign);
  const windows: CrowdWindow[] = [];
  for (const day of calendar.days) {
    const first = day.slices[0];
    if (first === undefined) continue;
    const releaseAtMs = first.atMs;
    const startMs = floorToMinute(releaseAtMs - settings.leadMinutes * MINUTE_MS);
    const endMs = ceilToMinute(releaseAtMs + settings.holdMinutes * MINUTE_MS);
    const reason: WindowReason =
      releaseAtMs === campaign.startsAt ? 'campaign start' : 'tranche release';
    const previous = windows[windows.length - 1];
    // Touching or overlapping windows become one: two cron windows sharing a minute would let
    // the scaler see the second start before the first end and lose the hold in between.
    if (previous !== undefined && startMs <= previous.endMs) {
      windows[windows.length - 1] = { ...previous, endMs: Math.max(previous.endMs, endMs) };
      continue;
    }
    windows.push({
      campaignId: campaign.id,
      timeZone: campaign.timeZone,
      day: day.day,
      reason,
      releaseAtMs,
      startMs,
      endMs,
    });
  }
  return settings.all ? windows : windows.filter((window) => window.endMs > settings.now);
}

/** Wall-clock fields of an instant in a zone, as a cron expression in that zone matches them. */
export interface WallTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

const ZONED_ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/;

export function wallTime(ms: number, timeZone: string): WallTime {
  const match = ZONED_ISO.exec(toZonedIso(ms, timeZone));
  if (match === null) throw new RangeError(`cannot read the wall time of ${ms} in ${timeZone}`);
  const [, year, month, day, hour, minute] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return { year, month, day, hour, minute };
}

interface Run {
  readonly first: CrowdWindow;
  readonly start: WallTime;
  readonly end: WallTime;
  /** Days of month of the starts (and of the ends): consecutive, one per window. */
  startDays: number[];
  endDays: number[];
}

function continues(run: Run, start: WallTime, end: WallTime): boolean {
  const sameClock = (a: WallTime, b: WallTime) =>
    a.year === b.year && a.month === b.month && a.hour === b.hour && a.minute === b.minute;
  return (
    sameClock(run.start, start) &&
    sameClock(run.end, end) &&
    start.day === run.startDays[run.startDays.length - 1]! + 1 &&
    end.day === run.endDays[run.endDays.length - 1]! + 1
  );
}

function dayField(days: readonly number[]): string {
  const first = days[0]!;
  const last = days[days.length - 1]!;
  return first === last ? String(first) : `${first}-${last}`;
}

/**
 * Cron triggers covering the windows of one campaign. A cron expression cannot name a date range,
 * so windows are grouped into runs of consecutive days whose start and end fall at the same wall
 * clock time in the same month (`50 23 2-30 12 *` to `30 0 3-31 12 *`); a day whose clock differs
 * (a DST change inside the window, a month boundary) starts a new run. Within a run each start is
 * followed by its end before the next start, which is what KEDA's cron scaler needs: it is active
 * while the next end comes before the next start.
 */
export function cronTriggers(
  campaign: CampaignConfig,
  windows: readonly CrowdWindow[],
  replicas: number,
): CronTrigger[] {
  const runs: Run[] = [];
  for (const window of windows) {
    const start = wallTime(window.startMs, campaign.timeZone);
    const end = wallTime(window.endMs, campaign.timeZone);
    const run = runs[runs.length - 1];
    if (run !== undefined && continues(run, start, end)) {
      run.startDays.push(start.day);
      run.endDays.push(end.day);
    } else {
      runs.push({ first: window, start, end, startDays: [start.day], endDays: [end.day] });
    }
  }
  return runs.map((run, index) => ({
    type: 'cron',
    name: `prescale-${campaign.id}-${index + 1}`,
    metricType: 'AverageValue',
    metadata: {
      timezone: campaign.timeZone,
      start: `${run.start.minute} ${run.start.hour} ${dayField(run.startDays)} ${run.start.month} *`,
      end: `${run.end.minute} ${run.end.hour} ${dayField(run.endDays)} ${run.end.month} *`,
      desiredReplicas: String(replicas),
    },
  }));
}

export function prescale(
  campaigns: readonly CampaignConfig[],
  settings: PrescaleSettings,
): CampaignPrescale[] {
  checkSettings(settings);
  return campaigns.map((campaign) => {
    const windows = crowdWindows(campaign, settings);
    return { campaign, windows, triggers: cronTriggers(campaign, windows, settings.replicas) };
  });
}

/** What the generated file records about how it was made, so the drift test can redo it. */
export interface GeneratedWith extends PrescaleSettings {
  /** The campaigns file, relative to the repository root. */
  readonly campaigns: string;
}

export const GENERATED_WITH_PREFIX = '# generated-with: ';

function zonedMinute(ms: number, timeZone: string): string {
  const iso = toZonedIso(ms, timeZone);
  return `${iso.slice(0, 16)}${iso.slice(23)}`;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * The kustomize patch (JSON 6902, YAML) that appends the triggers to the ScaledObject's list.
 * Formatted as Prettier formats YAML, so `prettier --check` and the drift test agree.
 */
export function renderPrescalePatch(
  results: readonly CampaignPrescale[],
  made: GeneratedWith,
): string {
  const settings: Record<string, unknown> = {
    now: new Date(made.now).toISOString(),
    campaigns: made.campaigns,
    leadMinutes: made.leadMinutes,
    holdMinutes: made.holdMinutes,
    replicas: made.replicas,
    all: made.all,
  };
  const lines = [
    '# Pre-scaling windows from the campaign calendar: KEDA cron triggers appended to the',
    "# ScaledObject's triggers by kustomization.yaml. Generated by `npm run k8s:prescale`: do not",
    '# edit; re-run it when the campaigns file changes and after a campaign ends (docs/deploy.md).',
    `${GENERATED_WITH_PREFIX}${JSON.stringify(settings)}`,
  ];
  const ops: string[] = [];
  for (const { campaign, windows, triggers } of results) {
    if (windows.length === 0) {
      lines.push(`# ${campaign.id}: no window ahead (ended, or --all not given)`);
      continue;
    }
    const first = windows[0]!;
    const last = windows[windows.length - 1]!;
    lines.push(
      `# ${campaign.id} (${campaign.timeZone}): ${windows.length} window(s) in ${triggers.length} trigger(s), ` +
        `the first ${zonedMinute(first.startMs, campaign.timeZone)} to ${zonedMinute(first.endMs, campaign.timeZone)}, ` +
        `the last ${zonedMinute(last.startMs, campaign.timeZone)} to ${zonedMinute(last.endMs, campaign.timeZone)}`,
    );
    for (const trigger of triggers) {
      ops.push(
        [
          '- op: add',
          '  path: /spec/triggers/-',
          '  value:',
          `    type: ${trigger.type}`,
          `    name: ${trigger.name}`,
          `    metricType: ${trigger.metricType}`,
          '    metadata:',
          `      timezone: ${trigger.metadata.timezone}`,
          `      start: ${quote(trigger.metadata.start)}`,
          `      end: ${quote(trigger.metadata.end)}`,
          `      desiredReplicas: ${quote(trigger.metadata.desiredReplicas)}`,
        ].join('\n'),
      );
    }
  }
  if (ops.length === 0) {
    // kustomize refuses an empty patch list: a no-op test keeps the file a valid patch.
    lines.push('# No window ahead: this no-op keeps the patch valid.');
    ops.push(['- op: test', '  path: /kind', '  value: ScaledObject'].join('\n'));
  }
  return `${lines.join('\n')}\n${ops.join('\n')}\n`;
}

/** The settings a generated file records, or undefined when it has no such line. */
export function readGeneratedWith(text: string): GeneratedWith | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(GENERATED_WITH_PREFIX));
  if (line === undefined) return undefined;
  const raw = JSON.parse(line.slice(GENERATED_WITH_PREFIX.length)) as Record<string, unknown>;
  const now = typeof raw['now'] === 'string' ? Date.parse(raw['now']) : NaN;
  return {
    now,
    campaigns: String(raw['campaigns']),
    leadMinutes: Number(raw['leadMinutes']),
    holdMinutes: Number(raw['holdMinutes']),
    replicas: Number(raw['replicas']),
    all: raw['all'] === true,
  };
}

function floorToMinute(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

function ceilToMinute(ms: number): number {
  return Math.ceil(ms / MINUTE_MS) * MINUTE_MS;
}
