/* eslint-disable no-console -- the bench prints its tables for people */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type ServerName } from './catalog';
import { chartSpec, renderSvg } from './chart';
import { chartPoints, machineLine, renderMarkdown } from './report';
import type { BenchResults } from './results';

const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

/**
 * bench/results/<timestamp>.json (every raw number), .md (the tables, also printed), .svg (the
 * chart, when the open model ran) and .cpuprofile when the service was profiled. Returns the paths written.
 */
export async function writeResults(
  results: BenchResults,
  shedHow: Partial<Record<ServerName, string>>,
): Promise<string[]> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const base = join(RESULTS_DIR, results.startedAt.slice(0, 19).replace(/:/g, '-'));
  const written: string[] = [];
  if (results.profile !== undefined) {
    copyFileSync(results.profile.file, `${base}.cpuprofile`);
    results.profile.file = `${base}.cpuprofile`;
    written.push(results.profile.file);
  }
  const markdown = renderMarkdown(results, shedHow);
  const files: [string, string][] = [
    ['json', `${JSON.stringify(results, null, 2)}\n`],
    ['md', markdown],
  ];
  // The chart plots the open model; a run without it has none.
  const charted = chartPoints(results);
  if (charted.length > 0)
    files.push([
      'svg',
      await renderSvg(chartSpec(charted, results.capacity, machineLine(results).split('; '))),
    ]);
  for (const [ext, text] of files) {
    writeFileSync(`${base}.${ext}`, text);
    written.push(`${base}.${ext}`);
  }
  console.log(markdown);
  return written;
}
