import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { canBind } from '@coupons/redis-local';
import { createCpuCap, type CpuCap } from './cgroup';

/**
 * A pod: the service's built main.js as its own process, started inside its CPU cgroup (a shell
 * writes its own pid into cgroup.procs, then execs node, so the start itself runs capped), ready
 * when /readyz answers 200. Its start time is measured: spawn to ready.
 */
export class Pod {
  readonly exited: Promise<void>;
  alive = true;
  ready = false;
  readyAfterMs?: number;
  private log = '';

  private constructor(
    readonly slot: number,
    readonly port: number,
    readonly metricsPort: number,
    private readonly child: ChildProcess,
    private readonly cap: CpuCap,
  ) {
    this.exited = new Promise((done) =>
      child.once('exit', () => {
        this.alive = false;
        this.ready = false;
        this.cap.remove();
        done();
      }),
    );
    const keep = (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-8000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static start(options: {
    root: string;
    slot: number;
    port: number;
    metricsPort: number;
    share: number;
    cgroupName: string;
    env: Record<string, string>;
  }): Pod {
    const main = join(options.root, 'services/coupon-service/dist/src/main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\``);
    const cap = createCpuCap(options.cgroupName, options.share);
    const child = spawn(
      '/bin/sh',
      ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$1" "$2"', cap.dir, process.execPath, main],
      {
        cwd: options.root,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOST: '127.0.0.1',
          METRICS_HOST: '127.0.0.1',
          PORT: String(options.port),
          METRICS_PORT: String(options.metricsPort),
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const pod = new Pod(options.slot, options.port, options.metricsPort, child, cap);
    void pod.watchReady(performance.now());
    return pod;
  }

  private async watchReady(startedAt: number): Promise<void> {
    while (this.alive && !this.ready) {
      const ok = await fetch(`http://127.0.0.1:${this.port}/readyz`, {
        signal: AbortSignal.timeout(1000),
      }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) {
        this.ready = true;
        this.readyAfterMs = performance.now() - startedAt;
        return;
      }
      await new Promise((done) => setTimeout(done, 100));
    }
  }

  tail(): string {
    return this.log;
  }

  /** SIGTERM (the service drains), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const late = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(late);
  }
}

/** A pod slot: fixed ports, so haproxy and Prometheus know every pod that may ever run. */
export interface Slot {
  index: number;
  port: number;
  metricsPort: number;
}

/**
 * Ports the kernel never hands out as a connection's source port: below its ephemeral range. A
 * slot's port is taken when its pod starts, possibly minutes later; in the ephemeral range the
 * crowd's and haproxy's own connections could hold it by then.
 */
function belowEphemeral(): { from: number; to: number } {
  let low = 32768;
  try {
    low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
  } catch {
    // not Linux: the usual range
  }
  return { from: 20000, to: Math.max(20100, low) };
}

export async function allocateSlots(count: number): Promise<Slot[]> {
  const { from, to } = belowEphemeral();
  const taken = new Set<number>();
  const free = async () => {
    for (let attempt = 0; attempt < 500; attempt += 1) {
      const port = from + Math.floor(Math.random() * (to - from));
      if (taken.has(port)) continue;
      taken.add(port);
      if (await canBind(port)) return port;
    }
    throw new Error(`no free port in ${from}-${to}`);
  };
  const slots: Slot[] = [];
  for (let index = 0; index < count; index += 1)
    slots.push({ index, port: await free(), metricsPort: await free() });
  return slots;
}
