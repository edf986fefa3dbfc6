import { execFile } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { findRedisCliBinary, findRedisServerBinary, redisInstallHint } from './binaries';
import { sendRawCommand } from './resp';
import { startRedisServer, type RedisServerHandle } from './server';

export interface LocalClusterOptions {
  /** Default 3, the least redis-cli accepts. */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** Bound on `redis-cli --cluster create` plus the wait for cluster_state:ok. Default 30 s. */
  readyTimeoutMs?: number;
  /** More redis-server arguments for every node (e.g. `--cluster-require-full-coverage no`). */
  args?: readonly string[];
}

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

export interface LocalClusterHandle {
  nodes: (ClusterNodeAddress & { pid: number })[];
  /** Every node, for a cluster client's startup list. */
  startupNodes: ClusterNodeAddress[];
  /** Stops every node (in parallel) and removes their temp dirs. Idempotent. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
// prettier-ignore
const CLUSTER_ARGS = [
  '--cluster-enabled', 'yes',
  '--cluster-config-file', 'nodes.conf',
  '--cluster-node-timeout', '2000',
];
const DEFAULT_READY_TIMEOUT_MS = 30_000;
/** redis-cli colours its output even into a pipe. */
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/**
 * A Redis Cluster on 127.0.0.1: masters * (1 + replicasPerMaster) redis-servers, each in its own
 * temp dir on a free port whose bus port is free too, joined by `redis-cli --cluster create`.
 * Resolves once every node reports cluster_state:ok, all 16384 slots assigned and every node
 * known. If any step fails, every node started so far is stopped before the error is thrown.
 */
export async function startLocalCluster(
  opts: LocalClusterOptions = {},
): Promise<LocalClusterHandle> {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 1;
  if (!Number.isInteger(masters) || masters < 3) {
    throw new Error(`startLocalCluster: masters must be an integer >= 3, got ${masters}`);
  }
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new Error(
      `startLocalCluster: replicasPerMaster must be an integer >= 0, got ${replicas}`,
    );
  }
  const serverBinary = findRedisServerBinary();
  if (serverBinary === undefined) {
    throw new Error(`Cannot start a cluster: ${redisInstallHint()}`);
  }
  const cli = findRedisCliBinary();
  if (cli === undefined) {
    throw new Error(`Cannot start a cluster: ${redisInstallHint('redis-cli')}`);
  }
  const timeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const total = masters * (1 + replicas);

  const started = await Promise.allSettled(
    Array.from({ length: total }, () =>
      startRedisServer({
        binary: serverBinary,
        clusterBus: true,
        args: [...CLUSTER_ARGS, ...(opts.args ?? [])],
      }),
    ),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopAll = async (): Promise<void> => {
    const results = await Promise.allSettled(servers.map((s) => s.stop()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  };

  try {
    const firstFailure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (firstFailure) throw firstFailure.reason;
    const deadline = Date.now() + timeoutMs;
    await createCluster(cli, servers, replicas, timeoutMs);
    await waitForClusterOk(servers, deadline, timeoutMs);
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    nodes: servers.map((s) => ({ host: HOST, port: s.port, pid: s.pid })),
    startupNodes: servers.map((s) => ({ host: HOST, port: s.port })),
    stop: () => (stopping ??= stopAll()),
  };
}

function createCluster(
  cli: string,
  servers: RedisServerHandle[],
  replicas: number,
  timeoutMs: number,
): Promise<void> {
  // prettier-ignore
  const args = [
    '--cluster', 'create',
    ...servers.map((s) => `${HOST}:${s.port}`),
    '--cluster-replicas', String(replicas),
    '--cluster-yes',
  ];
  return new Promise((resolve, reject) => {
    execFile(cli, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      // redis-cli reports some failures ("[ERR] ...") with exit code 0.
      const output = `${stdout}\n${stderr}`.replace(ANSI_COLOUR, '').trim();
      if (err === null && !/\[ERR\]/.test(output)) {
        resolve();
        return;
      }
      const tail = output.split('\n').slice(-20).join('\n');
      reject(
        new Error(
          `redis-cli --cluster create failed (${err ? err.message.split('\n')[0] : '[ERR] in output'})` +
            `\n--- redis-cli output tail ---\n${tail}`,
        ),
      );
    });
  });
}

async function waitForClusterOk(
  servers: RedisServerHandle[],
  deadline: number,
  timeoutMs: number,
): Promise<void> {
  const problems = new Map<number, string>();
  for (;;) {
    await Promise.all(
      servers.map(async (s) => {
        const problem = await clusterProblem(s.port, servers.length);
        if (problem === undefined) problems.delete(s.port);
        else problems.set(s.port, problem);
      }),
    );
    if (problems.size === 0) return;
    if (Date.now() >= deadline) {
      const detail = [...problems].map(([port, p]) => `  ${HOST}:${port}: ${p}`).join('\n');
      throw new Error(`Local Redis Cluster not ready within ${timeoutMs} ms:\n${detail}`);
    }
    await delay(50);
  }
}

/** undefined when the node is fully ready, else what it still lacks. */
async function clusterProblem(port: number, total: number): Promise<string | undefined> {
  let info: string;
  try {
    info = String(await sendRawCommand(port, ['CLUSTER', 'INFO'], { timeoutMs: 1000 }));
  } catch (err) {
    return `CLUSTER INFO failed: ${(err as Error).message}`;
  }
  const field = (name: string): string | undefined =>
    new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
  const state = field('cluster_state');
  const assigned = field('cluster_slots_assigned');
  const known = field('cluster_known_nodes');
  if (state === 'ok' && assigned === '16384' && known === String(total)) return undefined;
  return `cluster_state:${state ?? '?'} cluster_slots_assigned:${assigned ?? '?'} cluster_known_nodes:${known ?? '?'}/${total}`;
}
