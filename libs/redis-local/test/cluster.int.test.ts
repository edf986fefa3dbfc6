import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { findRedisServerBinary } from '../src/binaries';
import { startLocalCluster } from '../src/cluster';

/** redis-server processes whose parent is this process (Linux /proc). */
function childRedisServers(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'redis-server' && ppid === process.pid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

const describeLinuxWithServer =
  process.platform === 'linux' &&
  (findRedisServerBinary() !== undefined || process.env['CI'] === 'true')
    ? describe
    : describe.skip;

describeLinuxWithServer('startLocalCluster', () => {
  it('validates its options before starting anything', async () => {
    await expect(startLocalCluster({ masters: 2 })).rejects.toThrow(/masters must be/);
    await expect(startLocalCluster({ replicasPerMaster: -1 })).rejects.toThrow(/replicasPerMaster/);
  });

  it('stops every node it started when redis-cli --cluster create fails', async () => {
    const fakeBin = mkdtempSync(join(tmpdir(), 'coupons-fake-cli-'));
    const fakeCli = join(fakeBin, 'redis-cli');
    writeFileSync(fakeCli, '#!/bin/sh\necho "[ERR] fake redis-cli refuses" >&2\nexit 1\n');
    chmodSync(fakeCli, 0o755);
    const path = process.env['PATH'];
    process.env['PATH'] = `${fakeBin}${delimiter}${path ?? ''}`;
    // With --runInBand this process also owns the servers of the jest globalSetup.
    const before = childRedisServers();
    try {
      await expect(startLocalCluster()).rejects.toThrow(/fake redis-cli refuses/);
      expect(childRedisServers()).toEqual(before);
    } finally {
      process.env['PATH'] = path;
      rmSync(fakeBin, { recursive: true, force: true });
    }
  });
});
