import type { LatencySummary, LoadReport } from './types';

const ms = (value: number): string => value.toFixed(value < 10 ? 2 : 1);
const perSecond = (value: number): string => value.toFixed(1);

function latency(label: string, summary: LatencySummary): string {
  if (summary.count === 0) return `${label}: none`;
  return `${label}: p50 ${ms(summary.p50)} ms, p90 ${ms(summary.p90)} ms, p99 ${ms(summary.p99)} ms, max ${ms(summary.max)} ms (n=${summary.count})`;
}

/** A few lines for people; the JSON report is the record. */
export function formatReport(report: LoadReport): string {
  const seconds = (report.durationMs / 1000).toFixed(1);
  const other = Object.entries(report.otherStatus)
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ');
  const lines = [
    report.mode === 'open'
      ? `open model: ${report.sent} sent in ${seconds} s (offered ${perSecond(report.offeredRate)}/s)`
      : `closed loop: ${report.sent} sent in ${seconds} s`,
    `served ${report.served} (goodput ${perSecond(report.goodputPerSecond)}/s), shed ${report.shed}, ` +
      `other ${other === '' ? 'none' : `{${other}}`}, errors ${report.errors}, timeouts ${report.timeouts}`,
    latency('served latency', report.servedLatencyMs),
    latency('shed latency', report.shedLatencyMs),
  ];
  const generator: string[] = [];
  if (report.mode === 'open') {
    generator.push(
      `scheduler lag p50 ${ms(report.schedulerLagMs.p50)} ms, p99 ${ms(report.schedulerLagMs.p99)} ms, max ${ms(report.schedulerLagMs.max)} ms`,
    );
  }
  if (report.generatorUtilization !== undefined) {
    generator.push(`event loop ${Math.round(report.generatorUtilization * 100)}% busy`);
  }
  if (report.generatorCpuMs !== undefined && report.sent > 0) {
    generator.push(
      `${((report.generatorCpuMs * 1000) / report.sent).toFixed(0)} µs CPU per request`,
    );
  }
  if (report.followUps) generator.push(`${report.followUps} follow-ups`);
  if (report.waitedForConnection) {
    generator.push(`${report.waitedForConnection} waited for a connection`);
  }
  if (generator.length > 0) lines.push(`generator: ${generator.join(', ')}`);
  if (report.generatorSaturated) {
    lines.push(
      'WARNING: the load generator was saturated; these figures describe the generator, not the server',
    );
  }
  return lines.join('\n');
}
