import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { findRedisServerBinary, redisInstallHint } from './binaries';
import { findFreePort } from './ports';
import { sendRawCommand } from './resp';

export interface StartRedisServerOptions {
  /** Default: a free port from findFreePort (retried if another process takes it first). */
  port?: number;
  /** Working directory of the server. Default: a new temp dir, removed by stop(). A given dir is kept. */
  dir?: string;
  /** Extra redis-server arguments, e.g. ['--cluster-enabled', 'yes']. */
  args?: string[];
  /** When choosing the port, also require port + 10000 free (for --cluster-enabled yes). */
  clusterBus?: boolean;
  /** Bound on the wait for PING. Default 10 s. */
  startTimeoutMs?: number;
  /** Path of redis-server. Default: findRedisServerBinary(). */
  binary?: string;
}

export interface RedisServerHandle {
  port: number;
  pid: number;
  /** redis://127.0.0.1:<port> */
  url: string;
  dir: string;
  /** SIGTERM, SIGKILL after 3 s, then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 3_000;
const KILL_WAIT_MS = 2_000;
const START_ATTEMPTS_ON_PORT_CLASH = 3;

class PortInUseError extends Error {}

/**
 * Starts a private redis-server bound to 127.0.0.1 with persistence off, and resolves once it
 * answers PING (and reports its own pid, so a server someone else runs on the port is never taken
 * for ours). On failure nothing is left behind and the error carries the server's log tail.
 * Servers not stopped by the time this process exits are killed by an exit hook.
 */
export async function startRedisServer(
  opts: StartRedisServerOptions = {},
): Promise<RedisServerHandle> {
  const binary = opts.binary ?? findRedisServerBinary();
  if (binary === undefined) throw new Error(`Cannot start redis-server: ${redisInstallHint()}`);
  const attempts = opts.port === undefined ? START_ATTEMPTS_ON_PORT_CLASH : 1;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await findFreePort({ clusterBus: opts.clusterBus === true }));
    try {
      return await startOnce(binary, port, opts);
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= attempts) throw err;
    }
  }
}

/** A private, throwaway redis-server: loopback only, no persistence unless `extra` asks. */
function serverArgs(
  port: number,
  dir: string,
  logFile: string,
  extra: readonly string[],
): string[] {
  // prettier-ignore
  return [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    '--dir', dir,
    '--logfile', logFile,
    ...extra,
  ];
}

/**
 * Waits until the redis-server `pid` answers PING on `port` (not another one that holds the
 * port): undefined, or why it did not (it exited, or timeoutMs passed).
 */
async function untilServing(
  port: number,
  pid: number,
  timeoutMs: number,
  exited: () => string | undefined,
): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  for (;;) {
    const exit = exited();
    if (exit !== undefined) return `${exit} before answering PING`;
    try {
      if ((await sendRawCommand(port, ['PING'], { timeoutMs: 500 })) === 'PONG') {
        const info = String(await sendRawCommand(port, ['INFO', 'server'], { timeoutMs: 1000 }));
        const servedBy = /process_id:(\d+)/.exec(info)?.[1];
        if (servedBy === String(pid)) return undefined;
        lastProblem = `port answered by another redis-server (pid ${servedBy ?? '?'})`;
      }
    } catch (err) {
      lastProblem = (err as Error).message;
    }
    if (Date.now() >= deadline)
      return `did not answer PING within ${timeoutMs} ms (last: ${lastProblem})`;
    await delay(25);
  }
}

async function startOnce(
  binary: string,
  port: number,
  opts: StartRedisServerOptions,
): Promise<RedisServerHandle> {
  const ownDir = opts.dir === undefined;
  const dir = ownDir ? mkdtempSync(join(tmpdir(), 'coupons-redis-')) : resolve(opts.dir as string);
  if (!ownDir) mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'redis.log');
  const stderrFile = join(dir, 'stderr.log');
  const args = serverArgs(port, dir, logFile, opts.args ?? []);

  // Output goes to files, not pipes: nothing to drain, no handle keeping the parent alive.
  const stderrFd = openSync(stderrFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'ignore', stderrFd] });
  } catch (err) {
    if (ownDir) removeDir(dir);
    throw err;
  } finally {
    closeSync(stderrFd);
  }
  child.unref();
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = signal === null ? `exited with code ${String(code)}` : `was killed by ${signal}`;
  });
  child.once('error', (err) => {
    exit = `could not be spawned (${err.message})`;
  });

  const fail = async (reason: string): Promise<never> => {
    if (child.pid !== undefined) {
      untrack(child.pid);
      await killAndWait(child.pid);
    }
    const tail = logTail(logFile, stderrFile);
    if (ownDir) removeDir(dir);
    const message =
      `redis-server (${binary}) on 127.0.0.1:${port} ${reason}` +
      (tail === '' ? '' : `\n--- redis-server log tail (${dir}) ---\n${tail}`);
    throw tail.includes('Address already in use')
      ? new PortInUseError(message)
      : new Error(message);
  };

  const pid = child.pid;
  if (pid === undefined) {
    await delay(0); // let the 'error' event arrive
    return fail(exit ?? 'could not be spawned');
  }
  track(pid, ownDir ? dir : undefined);

  const problem = await untilServing(
    port,
    pid,
    opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    () => exit,
  );
  if (problem !== undefined) return fail(problem);

  let stopping: Promise<void> | undefined;
  return {
    port,
    pid,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop: () =>
      (stopping ??= (async () => {
        untrack(pid);
        await stopPid(pid);
        if (ownDir) removeDir(dir);
      })()),
  };
}

/**
 * Stops a redis-server known only by its pid: SIGTERM, then SIGKILL after graceMs (default 3 s).
 * Resolves once the process is gone (at once if it already is). Refuses, on Linux, a pid that is
 * not a redis-server, so a recycled pid never takes down an unrelated process.
 */
export async function stopPid(pid: number, opts: { graceMs?: number } = {}): Promise<void> {
  if (!isAlive(pid)) return;
  if (!looksLikeRedisServer(pid)) {
    throw new Error(`stopPid: pid ${pid} is not a redis-server; not signalling it`);
  }
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, opts.graceMs ?? STOP_GRACE_MS)) return;
  await killAndWait(pid);
}

async function killAndWait(pid: number): Promise<void> {
  signal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, KILL_WAIT_MS))) {
    throw new Error(`redis-server pid ${pid} is still running after SIGKILL`);
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Whether a process exists (another user's counts: EPERM). A child of ours that exited is reaped
 * by Node's SIGCHLD handling while we poll.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await delay(20);
  }
  return true;
}

function looksLikeRedisServer(pid: number): boolean {
  const proc = `/proc/${pid}`;
  if (!existsSync('/proc/self')) return true; // no procfs (macOS): cannot check
  try {
    const cmdline = readFileSync(`${proc}/cmdline`, 'utf8');
    const comm = readFileSync(`${proc}/comm`, 'utf8');
    return cmdline.includes('redis-server') || comm.includes('redis');
  } catch {
    return !isAlive(pid); // vanished meanwhile: harmless
  }
}

function logTail(...files: string[]): string {
  const lines: string[] = [];
  for (const file of files) {
    try {
      lines.push(...readFileSync(file, 'utf8').trimEnd().split('\n').slice(-15));
    } catch {
      // not written
    }
  }
  return lines.filter((l) => l.trim() !== '').join('\n');
}

function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
}

/** Servers started here and not stopped yet: pid -> temp dir to remove (if we created it). */
const live = new Map<number, string | undefined>();
let exitHookInstalled = false;

function track(pid: number, ownedDir: string | undefined): void {
  live.set(pid, ownedDir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killLeftovers);
  }
}

function untrack(pid: number): void {
  live.delete(pid);
}

/** Last resort when a process exits without stopping its servers (crash, process.exit). */
function killLeftovers(): void {
  for (const [pid, dir] of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    if (dir !== undefined) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  }
  live.clear();
}
