import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A CPU cap for one pod: a cgroup whose quota is a share of one core, so a 2-core machine shows a
 * fleet of small pods rather than a few processes fighting for the cores. cgroup v2 writes
 * `cpu.max`; v1 the cpu controller's `cpu.cfs_quota_us` over `cpu.cfs_period_us`. The period is
 * 4 ms: the kernel refuses a quota under 1 ms, so a quarter core is the smallest share.
 */

export const PERIOD_US = 4000;
const MIN_QUOTA_US = 1000;

const V2_ROOT = '/sys/fs/cgroup';
const V1_ROOT = '/sys/fs/cgroup/cpu';

export type CgroupVersion = 'v1' | 'v2';

export function cgroupVersion(): CgroupVersion | undefined {
  if (existsSync(join(V2_ROOT, 'cgroup.controllers'))) return 'v2';
  if (existsSync(join(V1_ROOT, 'cpu.cfs_quota_us'))) return 'v1';
  return undefined;
}

export interface CpuCap {
  /** the cgroup's directory: a process joins it by writing its pid to cgroup.procs */
  dir: string;
  share: number;
  remove(): void;
}

/** Creates the cgroup `name` (under a parent of the rehearsal's) capped at `share` of a core. */
export function createCpuCap(name: string, share: number): CpuCap {
  const version = cgroupVersion();
  if (version === undefined)
    throw new Error('no cgroup cpu controller writable here (v2 cpu.max or v1 cpu.cfs_quota_us)');
  const quota = Math.round(share * PERIOD_US);
  if (quota < MIN_QUOTA_US)
    throw new RangeError(
      `a share of ${share} core is under the kernel's 1 ms quota at a 4 ms period`,
    );
  const dir = join(version === 'v2' ? V2_ROOT : V1_ROOT, name);
  mkdirSync(dir, { recursive: true });
  if (version === 'v2') writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
  else {
    writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
    writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
  }
  return {
    dir,
    share: quota / PERIOD_US,
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        // a process still in it (being killed): the kernel refuses; the next run reuses the name
      }
    },
  };
}
