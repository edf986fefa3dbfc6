import type { Cluster, Redis } from 'ioredis';

/**
 * How many entries of the audit stream the group has not recorded (pending plus not yet
 * delivered) and the id of the oldest of them, from the stream's XINFO GROUPS reply.
 */
export async function unrecordedEntries(
  redis: Redis | Cluster,
  audit: string,
  group: string,
  groups: unknown[][],
): Promise<{ pending: number; oldest: string | undefined }> {
  const flat = groups.find((g) => g[g.indexOf('name') + 1] === group);
  let pending: number;
  let oldest: string | undefined;
  if (flat === undefined) {
    // No group yet: everything in the stream is unrecorded.
    pending = await redis.xlen(audit);
    const first = await redis.xrange(audit, '-', '+', 'COUNT', 1);
    oldest = first[0]?.[0];
  } else {
    const field = (name: string) => flat[flat.indexOf(name) + 1];
    const lastDelivered = String(field('last-delivered-id'));
    const summary = (await redis.xpending(audit, group)) as [number, string | null];
    const lag = field('lag');
    const undelivered = await redis.xrange(audit, `(${lastDelivered}`, '+', 'COUNT', 1);
    const lagCount =
      typeof lag === 'number'
        ? lag
        : undelivered.length === 0
          ? 0
          : (await redis.xrange(audit, `(${lastDelivered}`, '+', 'COUNT', 100_000)).length;
    pending = Number(summary[0]) + lagCount;
    oldest = Number(summary[0]) > 0 && summary[1] !== null ? summary[1] : undelivered[0]?.[0];
  }
  return { pending, oldest };
}
