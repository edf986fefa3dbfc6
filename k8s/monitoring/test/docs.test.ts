import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDashboard, panelsOf } from '../src/dashboard';
import { METRIC_FAMILIES } from '../src/metrics';
import { buildPlatformDashboard } from '../src/platformDashboard';
import { packageDir } from '../src/render';
import { ALERTS, RECORDED_NAMES } from '../src/rules';

const observability = readFileSync(
  join(packageDir(), '..', '..', 'docs', 'observability.md'),
  'utf8',
);

describe('docs/observability.md', () => {
  it.each(METRIC_FAMILIES.map((f) => f.name))('lists the metric %s', (name) => {
    expect(observability).toContain(`\`${name}\``);
  });

  it.each(
    [...panelsOf(buildDashboard()), ...panelsOf(buildPlatformDashboard())].map(
      (p) => p.title ?? '',
    ),
  )('describes the panel "%s"', (title) => {
    expect(observability).toContain(`**${title}**`);
  });

  it.each(ALERTS.map((a) => a.alert))('lists the alert %s', (name) => {
    expect(observability).toContain(`\`${name}\``);
  });

  it.each([...RECORDED_NAMES])('names the recorded series %s', (name) => {
    const generic = name.replace(/(ratio_rate)(5m|30m|1h|2h|6h|1d|3d)$/, '$1<w>');
    expect(observability.includes(name) || observability.includes(generic)).toBe(true);
  });
});
