import { DateTime } from 'luxon';
import type { CronTrigger } from '../src';

/**
 * What KEDA's cron scaler does with a trigger, written independently of the generator so the tests
 * check the triggers' effect: the scaler is active at t unless the next start comes before the next
 * end (and t is before it). Fire times are worked out like robfig/cron (KEDA's parser) in the
 * trigger's zone: a wall time that does not exist that day (a DST gap) does not fire.
 *
 * Only the forms the generator writes are understood: `M H D M *` or `M H D1-D2 M *`.
 */
const CRON = /^(\d{1,2}) (\d{1,2}) (\d{1,2})(?:-(\d{1,2}))? (\d{1,2}) \*$/;

function fireTimes(expression: string, timeZone: string, years: readonly number[]): number[] {
  const match = CRON.exec(expression);
  if (match === null) throw new Error(`not a cron expression the oracle reads: ${expression}`);
  const [minute, hour, fromDay, toDay, month] = [1, 2, 3, 4, 5].map((i) =>
    match[i] === undefined ? undefined : Number(match[i]),
  ) as [number, number, number, number | undefined, number];
  const times: number[] = [];
  for (const year of years) {
    for (let day = fromDay; day <= (toDay ?? fromDay); day += 1) {
      const at = DateTime.fromObject({ year, month, day, hour, minute }, { zone: timeZone });
      // Not a date (Feb 30), or a wall time skipped by a DST change: no firing.
      if (!at.isValid || at.day !== day || at.hour !== hour || at.minute !== minute) continue;
      times.push(at.toMillis());
    }
  }
  return times.sort((a, b) => a - b);
}

export interface CronScaler {
  /** Whether KEDA's cron scaler reports this trigger active at t (epoch ms). */
  active(t: number): boolean;
}

/** Fire times for the years around `years` are computed once; `active` is a lookup. */
export function cronScaler(trigger: CronTrigger, years: readonly number[]): CronScaler {
  const span = [Math.min(...years) - 1, ...years, Math.max(...years) + 1];
  const starts = fireTimes(trigger.metadata.start, trigger.metadata.timezone, span);
  const ends = fireTimes(trigger.metadata.end, trigger.metadata.timezone, span);
  const next = (times: readonly number[], t: number) => {
    const found = times.find((time) => time > t);
    if (found === undefined) throw new Error(`no firing after ${new Date(t).toISOString()}`);
    return found;
  };
  return {
    active(t) {
      const nextStart = next(starts, t);
      const nextEnd = next(ends, t);
      if (nextStart < nextEnd && t < nextStart) return false;
      return t <= nextEnd;
    },
  };
}

/** Active when any of the triggers is (the HPA takes the largest of them). */
export function anyActive(scalers: readonly CronScaler[], t: number): boolean {
  return scalers.some((scaler) => scaler.active(t));
}
