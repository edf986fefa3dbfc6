import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort } from '@coupons/redis-local';
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

export async function allocateSlots(count: number): Promise<Slot[]> {
  const slots: Slot[] = [];
  const taken = new Set<number>();
  const free = async () => {
    for (;;) {
      const port = await findFreePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  for (let index = 0; index < count; index += 1)
    slots.push({ index, port: await free(), metricsPort: await free() });
  return slots;
}
