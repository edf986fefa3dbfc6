import { LABELS } from './catalog';
import { markdownTable, num } from './format';
import type { BenchResults } from './results';

/** The 15 functions with the most self time (the profile's byFunction). */
export function topFramesTable(r: BenchResults): string {
  if (r.profile === undefined) return '';
  return markdownTable(
    ['function (self time)', 'ms', 'share of busy time'],
    r.profile.summary.byFunction.map((t) => [
      `\`${t.name}\``,
      num(t.ms, 0),
      `${num(t.share * 100, 1)}%`,
    ]),
  );
}

const PROFILE_CATEGORIES = 14;

export function profileTable(r: BenchResults): string {
  if (r.profile === undefined) return '';
  const { summary } = r.profile;
  const busy = summary.totalMs - summary.idleMs;
  const shown = summary.byCategory.slice(0, PROFILE_CATEGORIES);
  const rest = summary.byCategory.slice(PROFILE_CATEGORIES);
  const restMs = rest.reduce((sum, t) => sum + t.ms, 0);
  const byCategory = markdownTable(
    ['where (self time)', 'ms', 'share of busy time'],
    [
      ...shown.map((t) => [t.name, num(t.ms, 0), `${num(t.share * 100, 1)}%`]),
      ...(rest.length === 0
        ? []
        : [[`${rest.length} more packages`, num(restMs, 0), `${num((restMs / busy) * 100, 1)}%`]]),
    ],
  );
  const byFunction = topFramesTable(r);
  return [
    `Profile of ${LABELS[r.profile.server]} under the closed loop (node --cpu-prof, start-up and warm-up included): ${num(busy, 0)} ms busy of ${num(summary.totalMs, 0)} ms.`,
    '',
    byCategory,
    '',
    byFunction,
  ].join('\n');
}
