import { parseArgs } from 'node:util';
import type { ServerName } from './catalog';

export interface BenchSettings {
  quick: boolean;
  repeat: number;
  /** auto: profile the service when its closed-loop throughput is under 0.9x the naive twin's */
  profile: 'auto' | 'always' | 'never';
  /** closed loop: the same client for every server */
  concurrency: number;
  timeoutMs: number;
  closed: { warmupMs: number; durationMs: number; servers: ServerName[] };
  /** closed loop against a server set up to shed almost everything: the CPU of a shed answer */
  shed: { warmupMs: number; durationMs: number };
  open: { rampMs: number; holdMs: number; multiples: number[]; servers: ServerName[] };
}

const USAGE = `usage: node bench/dist/src/run.js [--quick] [--repeat N] [--profile | --no-profile]
  --quick       one repeat, shorter points, offered load 1x and 3x only (under 2 minutes)
  --repeat N    repeats of every point (default 3; medians with min-max are reported)
  --profile     always profile the service (node --cpu-prof) during a closed-loop run
  --no-profile  never profile (default: profile when service < 0.9x naive twin)
  --multiples L offered loads of the open model, e.g. 3,10 (default 0.5,1,3,10; --quick 1,3)`;

export function parseSettings(argv: readonly string[]): BenchSettings {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      repeat: { type: 'string' },
      profile: { type: 'boolean' },
      'no-profile': { type: 'boolean' },
      multiples: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) throw new UsageError(USAGE);
  const quick = values.quick;
  const repeat = values.repeat === undefined ? (quick ? 1 : 3) : Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20)
    throw new UsageError(`--repeat must be an integer from 1 to 20\n${USAGE}`);
  const multiples = values.multiples?.split(',').map(Number);
  if (multiples !== undefined && !multiples.every((m) => m > 0 && m <= 100))
    throw new UsageError(`--multiples must be numbers from 0 to 100, comma-separated\n${USAGE}`);
  return {
    quick,
    repeat,
    profile: values.profile === true ? 'always' : values['no-profile'] === true ? 'never' : 'auto',
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
          durationMs: 10_000,
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
      ...(quick
        ? { rampMs: 1000, holdMs: 5000, multiples: [1, 3] }
        : { rampMs: 2000, holdMs: 10_000, multiples: [0.5, 1, 3, 10] }),
      ...(multiples === undefined ? {} : { multiples }),
      servers: ['naive', 'protected', 'service'],
    },
  };
}

export class UsageError extends Error {}
