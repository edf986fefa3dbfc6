import type { Spread } from './stats';

/** 9512 -> "9,512"; 0.934 -> "0.93"; small numbers keep two significant decimals. */
export function num(value: number, digits?: number): string {
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** "9,512 (9,401-9,630)" or just "9,512" for one repeat; "n/a" when the figure does not apply. */
export function cell(s: Spread | undefined, digits?: number, unit = ''): string {
  if (s === undefined) return 'n/a';
  const median = `${num(s.median, digits)}${unit}`;
  if (s.n === 1 || s.min === s.max) return median;
  return `${median} (${num(s.min, digits)}-${num(s.max, digits)})`;
}

export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
