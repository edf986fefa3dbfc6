/* eslint-disable no-console -- the bench prints its tables for people */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type ServerName } from './catalog';
import { chartSpec, renderSvg } from './chart';
import { toSpeedscope, type CpuProfile } from './profile';
import { topFramesTable } from './profileReport';
import { chartView, machineLine, renderMarkdown } from './report';
import type { BenchResults } from './results';

const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

/**
 * bench/results/<timestamp>.json (every raw number), .md (the tables, also printed), .svg (the
 * chart, when the open model or the overload section ran) and, when the service was profiled,
 * .cpuprofile (for Chrome DevTools), .speedscope.json (its flame graph: open it at
 * https://www.speedscope.app) and .top-frames.md (the 15 functions with the most self time).
 * Returns the paths written.
 */
export async function writeResults(
  results: BenchResults,
  shedHow: Partial<Record<ServerName, string>>,
): Promise<string[]> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const base = join(RESULTS_DIR, results.startedAt.slice(0, 19).replace(/:/g, '-'));
  const written: string[] = [];
  if (results.profile !== undefined) {
    const profile = JSON.parse(readFileSync(results.profile.file, 'utf8')) as CpuProfile;
    copyFileSync(results.profile.file, `${base}.cpuprofile`);
    results.profile.file = `${base}.cpuprofile`;
    results.profile.speedscopeFile = `${base}.speedscope.json`;
    const name = `${results.profile.server} under the closed loop, ${results.startedAt}, Node ${results.machine.node}`;
    writeFileSync(results.profile.speedscopeFile, JSON.stringify(toSpeedscope(profile, name)));
    writeFileSync(`${base}.top-frames.md`, `${topFramesTable(results)}\n`);
    written.push(results.profile.file, results.profile.speedscopeFile, `${base}.top-frames.md`);
  }
  const markdown = renderMarkdown(results, shedHow);
  const files: [string, string][] = [
    ['json', `${JSON.stringify(results, null, 2)}\n`],
    ['md', markdown],
  ];
  // The chart plots the overload section (else the open model); a run without either has none.
  const chart = chartView(results);
  if (chart !== undefined)
    files.push([
      'svg',
      await renderSvg(
        chartSpec(chart.points, chart.capacity, [chart.title, ...machineLine(results).split('; ')]),
      ),
    ]);
  for (const [ext, text] of files) {
    writeFileSync(`${base}.${ext}`, text);
    written.push(`${base}.${ext}`);
  }
  console.log(markdown);
  return written;
}
