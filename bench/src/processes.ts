import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { findExecutableOnPath } from '@coupons/redis-local';

/** taskset where it exists (Linux with util-linux); without it nothing is pinned, and the report says so. */
export const TASKSET = findExecutableOnPath('taskset');

/** Pins every thread of a running process to one core. */
export function pinProcess(pid: number, core: number): void {
  if (TASKSET === undefined) return;
  execFileSync(TASKSET, ['-a', '-cp', String(core), String(pid)], { stdio: 'ignore' });
}

export interface ServerLaunch {
  /** the node script to run */
  script: string;
  env: Record<string, string>;
  /** the line that says the server is ready, where the port is in it (and the metrics port, if any) */
  ready: { stream: 'stdout' | 'stderr'; pattern: RegExp };
  nodeArgs?: string[];
  /** core to pin the server to */
  core?: number;
  /** where the server's other stream goes (its logs) */
  logFile: string;
  startTimeoutMs?: number;
}

export interface RunningServer {
  pid: number;
  port: number;
  baseUrl: string;
  /** the metrics port, when the ready line names one (the service) */
  metricsPort?: number;
  /** SIGTERM, SIGKILL after graceMs; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Starts a node server (pinned with taskset when asked and possible) and waits for its ready line. */
export function startServer(launch: ServerLaunch): Promise<RunningServer> {
  const nodeArgs = [...(launch.nodeArgs ?? []), launch.script];
  // taskset execs node, so the child's pid is the server's pid.
  const pinned = launch.core !== undefined && TASKSET !== undefined;
  const command = pinned ? (TASKSET as string) : process.execPath;
  const args = pinned ? ['-c', String(launch.core), process.execPath, ...nodeArgs] : nodeArgs;
  const logFd = openSync(launch.logFile, 'a');
  const stdio: StdioOptions =
    launch.ready.stream === 'stdout' ? ['ignore', 'pipe', logFd] : ['ignore', logFd, 'pipe'];
  const child: ChildProcess = spawn(command, args, { env: launch.env, stdio });
  closeSync(logFd);
  live.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );

  const stop = async (graceMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(killer);
  };

  return new Promise((resolve, reject) => {
    const stream = launch.ready.stream === 'stdout' ? child.stdout : child.stderr;
    const timeoutMs = launch.startTimeoutMs ?? 30_000;
    let seen = '';
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      const output = `${seen}${tail(launch.logFile)}`.trimEnd();
      reject(new Error(`${launch.script} ${why}\n--- its output ---\n${output}`));
    };
    const timer = setTimeout(() => fail(`printed no ready line within ${timeoutMs} ms`), timeoutMs);
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
    child.once('error', (err) => fail(`could not start: ${err.message}`));
    stream?.setEncoding('utf8');
    // Read on after the ready line too: a pipe nobody drains would block the server.
    stream?.on('data', (chunk: string) => {
      if (settled) return;
      seen += chunk;
      const ready = launch.ready.pattern.exec(seen);
      const port = ready?.[1];
      if (port === undefined || child.pid === undefined) return;
      settled = true;
      clearTimeout(timer);
      const metricsPort = ready?.[2] === undefined ? {} : { metricsPort: Number(ready[2]) };
      resolve({
        pid: child.pid,
        port: Number(port),
        baseUrl: `http://127.0.0.1:${port}`,
        ...metricsPort,
        stop,
      });
    });
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '';
  }
}
