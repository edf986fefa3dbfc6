import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '@coupons/redis-local';

/**
 * The kernel refuses a CFS quota under 1 ms (cgroup v1 cpu.cfs_quota_us, v2 cpu.max), and a
 * period under 1 ms or over 1 s.
 */
export const MIN_QUOTA_US = 1000;
export const MIN_PERIOD_US = 1000;
export const MAX_PERIOD_US = 1_000_000;

export interface CpuQuota {
  quotaUs: number;
  periodUs: number;
}

/**
 * The quota and period that cap a process to `share` of one core. The period is the shortest the
 * kernel allows for that share: the process runs for quotaUs and then waits out the rest of the
 * period, so a short period spreads its CPU evenly and a claim waits at most one period for it.
 * 25% of a core: 1 ms every 4 ms (a 1 ms period would need a 250 µs quota, which is refused).
 */
export function cpuQuota(share: number): CpuQuota {
  if (!(share > 0 && share <= 1))
    throw new RangeError(`a CPU cap is a share of one core in (0, 1], not ${share}`);
  const periodUs = Math.max(MIN_PERIOD_US, Math.ceil(MIN_QUOTA_US / share));
  if (periodUs > MAX_PERIOD_US)
    throw new RangeError(`a cap of ${share} of a core needs a period over 1 s`);
  return { periodUs, quotaUs: Math.round(share * periodUs) };
}

/** What cgroup v1 and v2 call the files that cap CPU, and how a quota is written to them. */
export function quotaWrites(version: 1 | 2, quota: CpuQuota): [file: string, value: string][] {
  // v1: the period first, so the quota is never checked against the old period.
  return version === 1
    ? [
        ['cpu.cfs_period_us', String(quota.periodUs)],
        ['cpu.cfs_quota_us', String(quota.quotaUs)],
      ]
    : [['cpu.max', `${quota.quotaUs} ${quota.periodUs}`]];
}

/** A cgroup this process made to cap a server's CPU; remove() once the server has exited. */
export interface CpuCap {
  quota: CpuQuota;
  share: number;
  /** where the cap lives, e.g. /sys/fs/cgroup/cpu/coupons-bench-123-1 */
  dir: string;
  /** moves a process (every thread of it) into the cap */
  add(pid: number): void;
  remove(): void;
}

export interface CgroupRoot {
  version: 1 | 2;
  /** the directory new cgroups are made in */
  dir: string;
}

const V1_CPU = '/sys/fs/cgroup/cpu';
const V2_ROOT = '/sys/fs/cgroup';

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where a CPU cap can be made on this machine, or why none can: cgroup v1's cpu controller, or a
 * cgroup v2 hierarchy that delegates the cpu controller to its children.
 */
export function findCgroupRoot(): CgroupRoot | { why: string } {
  if (existsSync(join(V1_CPU, 'cpu.cfs_quota_us'))) {
    return writable(V1_CPU)
      ? { version: 1, dir: V1_CPU }
      : { why: `${V1_CPU} (cgroup v1) is not writable by this user` };
  }
  const controllers = join(V2_ROOT, 'cgroup.controllers');
  if (existsSync(controllers)) {
    // This process's own cgroup: a v2 child must live under it, with cpu enabled for children.
    const own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
    const dir = join(V2_ROOT, own);
    const subtree = join(dir, 'cgroup.subtree_control');
    if (!readFileSync(join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu'))
      return { why: `the cpu controller is not available in ${dir} (cgroup v2)` };
    if (!writable(dir) || !writable(subtree))
      return { why: `${dir} (cgroup v2) is not writable by this user` };
    try {
      if (!readFileSync(subtree, 'utf8').split(/\s+/).includes('cpu'))
        writeFileSync(subtree, '+cpu');
    } catch (err) {
      // A cgroup with processes of its own cannot delegate controllers ("no internal processes").
      return { why: `cannot enable the cpu controller under ${dir}: ${(err as Error).message}` };
    }
    return { version: 2, dir };
  }
  return { why: 'no cgroup v1 cpu controller or cgroup v2 hierarchy under /sys/fs/cgroup' };
}

let made = 0;
const live = new Set<string>();

/** rmdir, retrying for up to ~0.5 s: a killed process leaves its cgroup a moment after the signal. */
function removeCgroup(dir: string): boolean {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      rmdirSync(dir);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
      Atomics.wait(pause, 0, 0, 10);
    }
  }
  return false;
}

// On any exit (an error, Ctrl-C) no cap is left behind: what still runs in one is a server of
// this bench, killed here (the servers' own exit hook may not have run yet).
process.on('exit', () => {
  for (const dir of live) {
    try {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))
        process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
    removeCgroup(dir);
  }
});

/** Removes the empty caps an earlier bench left behind (killed before its exit hook ran). */
export function removeStaleCaps(root: CgroupRoot): void {
  for (const name of readdirSync(root.dir)) {
    const owner = /^coupons-bench-(\d+)-\d+$/.exec(name)?.[1];
    if (owner === undefined || isAlive(Number(owner))) continue;
    try {
      rmdirSync(join(root.dir, name));
    } catch {
      // a process still runs in it: leave it
    }
  }
}

/** Makes a cgroup capped to `share` of one core. */
export function makeCpuCap(root: CgroupRoot, share: number): CpuCap {
  const quota = cpuQuota(share);
  const dir = join(root.dir, `coupons-bench-${process.pid}-${made++}`);
  mkdirSync(dir);
  live.add(dir);
  try {
    for (const [file, value] of quotaWrites(root.version, quota))
      writeFileSync(join(dir, file), value);
  } catch (err) {
    rmdirSync(dir);
    live.delete(dir);
    throw err;
  }
  return {
    quota,
    share,
    dir,
    // cgroup.procs moves the whole thread group in both versions (v1's `tasks` takes one thread).
    add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid)),
    remove: () => {
      if (!live.delete(dir)) return;
      if (!removeCgroup(dir)) throw new Error(`cannot remove ${dir}: a process is still in it`);
    },
  };
}
