import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutableOnPath, findFreePort } from '@coupons/redis-local';
import type { Slot } from './pods';

export const HAPROXY_INSTALL_HINT =
  "haproxy is not on PATH: install Debian's haproxy package (`apt-get install -y haproxy`).";

/** The configuration: least connections over every slot, each health-checked on /readyz. */
export function haproxyConfig(port: number, slots: readonly Slot[]): string {
  return [
    'global',
    '  maxconn 8192',
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 10s',
    '  timeout server 10s',
    '  timeout http-keep-alive 10s',
    '  option http-keep-alive',
    'frontend api',
    `  bind 127.0.0.1:${port}`,
    '  default_backend pods',
    'backend pods',
    '  balance leastconn',
    // A pod is sent traffic once /readyz answers 200 and taken out at its first failed check:
    // what a Service's endpoints do with the readiness probe, checked every second.
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server inter 1s fall 1 rise 1 maxconn 256',
    ...slots.map((s) => `  server pod${s.index} 127.0.0.1:${s.port} check`),
    '',
  ].join('\n');
}

export interface Haproxy {
  url: string;
  stop(): Promise<void>;
}

/** Debian's haproxy in the foreground on a free loopback port. */
export async function startHaproxy(slots: readonly Slot[]): Promise<Haproxy> {
  const binary = findExecutableOnPath('haproxy');
  if (binary === undefined) throw new Error(HAPROXY_INSTALL_HINT);
  const dir = mkdtempSync(join(tmpdir(), 'rehearsal-haproxy-'));
  const port = await findFreePort();
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(port, slots));
  const child = spawn(binary, ['-f', file, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const kill = () => void child.kill('SIGKILL');
  process.once('exit', kill);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i += 1) {
    if (child.exitCode !== null) throw new Error(`haproxy exited:\n${log}`);
    const up = await fetch(url, { signal: AbortSignal.timeout(500) }).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (i > 100) {
      child.kill('SIGKILL');
      throw new Error(`haproxy not listening:\n${log}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    url,
    stop: async () => {
      process.off('exit', kill);
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
