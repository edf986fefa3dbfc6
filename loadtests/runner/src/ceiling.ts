// The generator's own ceiling: open-model steps against a bare node:http hello server in its own
// process, until generatorSaturated turns true. With taskset the server gets core 0 and this
// process the last core, the layout `npm run bench` uses.
//   node loadtests/runner/dist/src/ceiling.js [--from 2000] [--step 2000] [--to 40000] [--seconds 3]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { runOpenModel } from './runs';
import type { LoadReport, RequestSpec } from './types';

const HELLO_SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => { req.resume(); res.end('ok'); });
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
`;

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function hasTaskset(): boolean {
  return spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function startHelloServer(pin: boolean): Promise<{ child: ChildProcess; port: number }> {
  const command = pin ? 'taskset' : process.execPath;
  const args = pin ? ['-c', '0', process.execPath, '-e', HELLO_SERVER] : ['-e', HELLO_SERVER];
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve(Number(message)));
    child.once('exit', (code) => reject(new Error(`hello server exited with ${code}`)));
  });
  return { child, port };
}

function row(rate: number, report: LoadReport): string {
  const lag = report.schedulerLagMs;
  return [
    String(rate).padStart(7),
    String(report.sent).padStart(8),
    report.goodputPerSecond.toFixed(0).padStart(8),
    String(report.timeouts + report.errors).padStart(6),
    report.servedLatencyMs.p99.toFixed(1).padStart(8),
    lag.p50.toFixed(2).padStart(7),
    lag.p99.toFixed(2).padStart(7),
    `${Math.round((report.generatorUtilization ?? 0) * 100)}%`.padStart(5),
    String(report.connectionsOpened ?? 0).padStart(6),
    (((report.generatorCpuMs ?? 0) * 1000) / Math.max(1, report.sent)).toFixed(0).padStart(7),
    report.generatorSaturated ? '  SATURATED' : '',
  ].join(' ');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string', default: '2000' },
      step: { type: 'string', default: '2000' },
      to: { type: 'string', default: '40000' },
      seconds: { type: 'string', default: '3' },
    },
  });
  const pin = hasTaskset() && cpus().length >= 2;
  if (pin) spawnSync('taskset', ['-p', '-c', String(cpus().length - 1), String(process.pid)]);
  const { child, port } = await startHelloServer(pin);
  const baseUrl = `http://127.0.0.1:${port}`;
  const spec: RequestSpec = { method: 'GET', path: '/' };
  out(
    `generator ceiling against node:http hello at ${baseUrl}; ${pin ? 'server on core 0, generator on the last core' : 'not pinned (no taskset)'}`,
  );
  out('   rate     sent goodput  lost  p99 ms lag p50 lag p99  loop  conns  µs/req');
  let ceiling = 0;
  try {
    // The server's own cold start (its JIT) would otherwise show in the first step.
    await runOpenModel({ baseUrl, ratePerSecond: 2000, durationMs: 2000, makeRequest: () => spec });
    for (let rate = Number(values.from); rate <= Number(values.to); rate += Number(values.step)) {
      const report = await runOpenModel({
        baseUrl,
        ratePerSecond: rate,
        durationMs: Number(values.seconds) * 1000,
        makeRequest: () => spec,
      });
      out(row(rate, report));
      if (report.generatorSaturated) break;
      ceiling = rate;
    }
  } finally {
    child.kill();
  }
  out(`highest rate without generatorSaturated: ${ceiling}/s`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
