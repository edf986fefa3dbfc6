import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Redis Cluster listens for its bus on port + 10000. */
export const CLUSTER_BUS_OFFSET = 10000;

/**
 * The first port of the kernel's ephemeral range: outgoing connections (every test's HTTP and
 * Redis clients, the load runner's thousand) take their local ports from it, so a port picked
 * there can be taken by one of them between the check and the bind (EADDRINUSE). Linux's own
 * default where the setting cannot be read.
 */
export function ephemeralPortsStart(
  read: () => string = () => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'),
): number {
  try {
    const low = Number(read().trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}

/**
 * Ports are picked at random in [MIN_PORT, MAX_PORT): away from well-known ports and 6379, and
 * below the ephemeral range with their cluster bus port too.
 */
const MIN_PORT = 10000;
const MAX_PORT = Math.max(MIN_PORT + 1000, ephemeralPortsStart() - CLUSTER_BUS_OFFSET);
const MAX_ATTEMPTS = 200;

/**
 * Ports (and bus ports) this process has already handed out. Two servers started at the same time
 * must not get the same port, nor may one server's port be another one's bus port. Entries are
 * never released: the range is large and a process starts a handful of servers.
 */
const handedOut = new Set<number>();

export interface FindFreePortOptions {
  /** Also require port + 10000 (the Redis Cluster bus port) to be free. */
  clusterBus?: boolean;
}

/**
 * A TCP port on 127.0.0.1 that could be bound just now (and, with clusterBus, port + 10000 too).
 * Another process may still take it before the caller binds it: startRedisServer retries on
 * "Address already in use" when it chose the port itself.
 */
export async function findFreePort(opts: FindFreePortOptions = {}): Promise<number> {
  const clusterBus = opts.clusterBus === true;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const port = MIN_PORT + Math.floor(Math.random() * (MAX_PORT - MIN_PORT));
    const ports = clusterBus ? [port, port + CLUSTER_BUS_OFFSET] : [port];
    if (ports.some((p) => handedOut.has(p))) continue;
    // Claim before the async bind check, so concurrent callers never pick the same port.
    for (const p of ports) handedOut.add(p);
    const results = await Promise.all(ports.map(canBind));
    if (results.every(Boolean)) return port;
    for (const p of ports) handedOut.delete(p);
  }
  throw new Error(
    `findFreePort: no free port${clusterBus ? ' (with a free cluster bus port)' : ''} ` +
      `on 127.0.0.1 in ${MIN_PORT}-${MAX_PORT} after ${MAX_ATTEMPTS} attempts`,
  );
}

/** Whether 127.0.0.1:port can be listened on right now. */
export function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}
