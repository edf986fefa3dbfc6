import { parseArgs } from 'node:util';
import type { ServerName } from './catalog';

/** The parts of a run, in the order they run; --sections picks some. */
export const SECTIONS = ['closed', 'shed', 'open', 'overload', 'clients'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchSettings {
  quick: boolean;
  /** the sections this run measures (all by default) */
  sections: Section[];
  repeat: number;
  /** profile the service under the closed loop (flame graph, top frames): always unless --no-profile */
  profile: 'always' | 'never';
  /** closed loop: the same client for every server */
  concurrency: number;
  timeoutMs: number;
  closed: { warmupMs: number; durationMs: number; servers: ServerName[] };
  /** closed loop against a server set up to shed almost everything: the CPU of a shed answer */
  shed: { warmupMs: number; durationMs: number };
  open: { rampMs: number; holdMs: number; multiples: number[]; servers: ServerName[] };
  /**
   * Overload with the server capped to `share` of one core by a cgroup, so that many times its
   * capacity stays within the generator's reach: first the capped closed loop of
   * capacityServers (the service's with ADMISSION=off is the capped capacity), then the open
   * model at multiples of that capacity.
   */
  overload: {
    share: number;
    capacityServers: ServerName[];
    rampMs: number;
    holdMs: number;
    multiples: number[];
    servers: ServerName[];
  };
  /**
   * Many simulated chat backends against one pod, raw and through @coupons/client: offered load
   * as multiples of capacityPerPod (CLAIM_CAPACITY_PER_POD when set, else the pod's closed-loop
   * capacity measured in the same run), the call's deadline being timeoutMs.
   */
  clients: {
    rampMs: number;
    holdMs: number;
    multiples: number[];
    backends: number;
    capacityPerPod?: number;
  };
}

const USAGE = `usage: node bench/dist/src/run.js [--quick] [--repeat N] [--profile | --no-profile]
    [--multiples L] [--overload-multiples L] [--sections S] [--client-multiples L] [--backends N]
  --quick       one round, shorter points (about 4 minutes; the default run about 18)
  --repeat N    rounds of every point, alternating servers within a round (default 3; medians
                with min-max are reported)
  --profile     profile the service (node --cpu-prof) during a closed-loop run (the default)
  --no-profile  do not profile
  --multiples L offered loads of the open model, uncapped, x capacity (default 0.5,0.7)
  --overload-multiples L  offered loads of the overload section, x the capped capacity (default
                0.5,3,10,30); the server is capped to 25% of a core by a cgroup
  --sections S  which sections to run, comma-separated from closed, shed, open, overload,
                clients (default all; shed and open bring closed along; overload measures its
                own capped capacity); --sections clients runs the clients section alone (it
                measures the pod's capacity first, the closed loop of the service with
                ADMISSION=off, unless CLAIM_CAPACITY_PER_POD is set)
  --client-multiples L  offered loads of the clients section (default 3,10,30)
  --backends N  simulated chat-backend instances in the clients section (default 32)`;

// Long: a table read top to bottom: the options, their checks, then the settings each section runs with, in order.
export function parseSettings(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): BenchSettings {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      repeat: { type: 'string' },
      profile: { type: 'boolean' },
      'no-profile': { type: 'boolean' },
      multiples: { type: 'string' },
      sections: { type: 'string' },
      'client-multiples': { type: 'string' },
      'overload-multiples': { type: 'string' },
      backends: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new UsageError(USAGE);
  const quick = values.quick;
  const repeat = values.repeat === undefined ? (quick ? 1 : 3) : Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20)
    throw new UsageError(`--repeat must be an integer from 1 to 20\n${USAGE}`);
  const multiples = multiplesOption(values.multiples, 'multiples');
  const overloadMultiples = multiplesOption(values['overload-multiples'], 'overload-multiples');
  const sections = values.sections?.split(',').map((s) => s.trim());
  if (
    sections !== undefined &&
    (sections.length === 0 || !sections.every((s) => (SECTIONS as readonly string[]).includes(s)))
  )
    throw new UsageError(`--sections takes a list from ${SECTIONS.join(', ')}\n${USAGE}`);
  const clientMultiples = multiplesOption(values['client-multiples'], 'client-multiples');
  const backends = values.backends === undefined ? 32 : Number(values.backends);
  if (!Number.isInteger(backends) || backends < 1 || backends > 1000)
    throw new UsageError(`--backends must be an integer from 1 to 1000\n${USAGE}`);
  const rawCapacity = env.CLAIM_CAPACITY_PER_POD;
  const capacityPerPod =
    rawCapacity === undefined || rawCapacity === '' ? undefined : Number(rawCapacity);
  if (capacityPerPod !== undefined && !(capacityPerPod > 0 && Number.isFinite(capacityPerPod)))
    throw new UsageError(`CLAIM_CAPACITY_PER_POD must be a number of claims/s > 0\n${USAGE}`);
  return {
    quick,
    // The shed and open sections read the closed loop's figures (capacity, the twins' rates).
    sections: SECTIONS.filter(
      (s) =>
        sections === undefined ||
        sections.includes(s) ||
        (s === 'closed' && (sections.includes('shed') || sections.includes('open'))),
    ),
    repeat,
    profile: values['no-profile'] === true ? 'never' : 'always',
    concurrency: 64,
    timeoutMs: 2000,
    closed: quick
      ? {
          warmupMs: 1000,
          durationMs: 4000,
          servers: ['node-http', 'express', 'naive', 'protected', 'service-off', 'service'],
        }
      : {
          warmupMs: 2000,
          durationMs: 6000,
          servers: [
            'node-http',
            'express',
            'naive',
            'protected',
            'service-off',
            'service',
            'service-info',
          ],
        },
    shed: quick ? { warmupMs: 500, durationMs: 3000 } : { warmupMs: 1000, durationMs: 5000 },
    open: {
      ...(quick ? { rampMs: 1000, holdMs: 5000 } : { rampMs: 2000, holdMs: 8000 }),
      multiples: multiples ?? [0.5, 0.7],
      servers: ['naive', 'service'],
    },
    overload: {
      share: 0.25,
      capacityServers: ['naive', 'service-off'],
      ...(quick ? { rampMs: 1000, holdMs: 5000 } : { rampMs: 2000, holdMs: 6000 }),
      multiples: overloadMultiples ?? [0.5, 3, 10, 30],
      // The service with and without the actions below HTTP: their effect where they act.
      servers: ['naive', 'service', 'service-actions'],
    },
    clients: {
      ...(quick ? { rampMs: 1000, holdMs: 4000 } : { rampMs: 2000, holdMs: 8000 }),
      multiples: clientMultiples ?? [3, 10, 30],
      backends,
      ...(capacityPerPod === undefined ? {} : { capacityPerPod }),
    },
  };
}

/** A --<flag> list of load multiples: numbers from 0 to 100, comma-separated (undefined: not given). */
function multiplesOption(raw: string | undefined, flag: string): number[] | undefined {
  const multiples = raw?.split(',').map(Number);
  if (multiples !== undefined && !multiples.every((m) => m > 0 && m <= 100))
    throw new UsageError(`--${flag} must be numbers from 0 to 100, comma-separated\n${USAGE}`);
  return multiples;
}

export class UsageError extends Error {}
