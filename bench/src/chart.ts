import type { TopLevelSpec } from 'vega-lite' with { 'resolution-mode': 'import' };

/** One line point: a server at one offered load, medians with their min-max over the repeats. */
export interface ChartPoint {
  server: string;
  /** offered load as a multiple of the service's capacity */
  multiple: number;
  goodput: number;
  goodputMin: number;
  goodputMax: number;
  /** p99 of served answers, ms; null when nothing was served */
  p99: number | null;
  p99Min: number | null;
  p99Max: number | null;
}

/** The x axis: offered load on a log scale, ticks at the loads measured. */
const xAxis = (multiples: readonly number[]) =>
  ({
    field: 'multiple',
    type: 'quantitative',
    scale: { type: 'log' },
    axis: { values: [...new Set(multiples)].sort((a, b) => a - b) },
    title: 'offered load (x service capacity)',
  }) as const;
const color = {
  field: 'server',
  type: 'nominal',
  title: null,
  legend: { orient: 'bottom', labelLimit: 400 },
} as const;

function panel(
  x: ReturnType<typeof xAxis>,
  field: 'goodput' | 'p99',
  title: string,
  logY: boolean,
  extra: object[] = [],
) {
  return {
    width: 380,
    height: 280,
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field, type: 'quantitative', title, ...(logY ? { scale: { type: 'log' } } : {}) },
          color,
        },
      },
      {
        mark: { type: 'rule', strokeWidth: 2 },
        encoding: {
          x,
          y: { field: `${field}Min`, type: 'quantitative' },
          y2: { field: `${field}Max` },
          color,
        },
      },
      ...extra,
    ],
  };
}

/** Offered load against goodput (left) and against served p99 (right), one line per server. */
export function chartSpec(
  points: readonly ChartPoint[],
  capacity: number,
  subtitle: readonly string[],
): TopLevelSpec {
  const x = xAxis(points.map((p) => p.multiple));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Goodput and p99 against offered load (capacity ${Math.round(capacity)} claims/s)`,
      subtitle: [...subtitle],
    },
    data: { values: points.map((p) => ({ ...p })) },
    hconcat: [
      panel(x, 'goodput', 'goodput: 2xx within 2 s, per s', false, [
        {
          mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' },
          encoding: { y: { datum: capacity, type: 'quantitative' } },
        },
      ]),
      panel(x, 'p99', 'p99 of served claims, ms (log)', true),
    ],
  } as TopLevelSpec;
}

/** vega-lite -> vega -> SVG, headless (vega and vega-lite are ESM-only, hence import()). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vegaLite = await import('vega-lite');
  const vega = await import('vega');
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
