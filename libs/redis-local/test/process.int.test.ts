import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { Redis } from 'ioredis';
import { canBind, ephemeralPortsStart, findFreePort } from '../src/ports';
import { findRedisServerBinary } from '../src/binaries';
import { startRedisServer, stopPid } from '../src/server';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    // Drop whatever connects (startRedisServer probes the port), or close() would wait for it.
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('findFreePort', () => {
  it('returns a port that can be bound on 127.0.0.1, below the ephemeral range', async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => findFreePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10000);
      // An outgoing connection's local port comes from that range: it could take ours.
      expect(port).toBeLessThan(ephemeralPortsStart());
    }
    await close(await listen(ports[0]!));
  });

  it('with clusterBus, port + 10000 is free as well, and below the ephemeral range too', async () => {
    const port = await findFreePort({ clusterBus: true });
    expect(port + 10000).toBeLessThan(ephemeralPortsStart());
    await close(await listen(port + 10000));
  });

  it("reads the ephemeral range's start from the kernel's setting, Linux's default without it", () => {
    expect(ephemeralPortsStart(() => '40000\t60999\n')).toBe(40000);
    expect(ephemeralPortsStart(() => 'garbage')).toBe(32768);
    expect(
      ephemeralPortsStart(() => {
        throw new Error('ENOENT');
      }),
    ).toBe(32768);
  });

  it('never hands out the same port twice, even to concurrent callers', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => findFreePort()));
    expect(new Set(ports).size).toBe(20);
  });

  it('canBind reports a port that is taken', async () => {
    const port = await findFreePort();
    const server = await listen(port);
    try {
      await expect(canBind(port)).resolves.toBe(false);
    } finally {
      await close(server);
    }
  });
});

// On CI a missing redis-server must fail (globalSetup already says so), elsewhere it skips.
const describeServer =
  findRedisServerBinary() !== undefined || process.env['CI'] === 'true' ? describe : describe.skip;

describeServer('startRedisServer', () => {
  it('starts a server that answers, and stop() ends its process and removes its dir', async () => {
    const server = await startRedisServer();
    let client: Redis | undefined;
    try {
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
      expect(isAlive(server.pid)).toBe(true);
      client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
      await client.connect();
      await expect(client.ping()).resolves.toBe('PONG');
      await expect(client.config('GET', 'save')).resolves.toEqual(['save', '']);
      await expect(client.config('GET', 'appendonly')).resolves.toEqual(['appendonly', 'no']);
    } finally {
      await client?.quit();
      await server.stop();
    }
    expect(isAlive(server.pid)).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
    await server.stop(); // idempotent
  });

  it('stopPid stops a server known only by its pid, and ignores a pid that is gone', async () => {
    const server = await startRedisServer();
    await stopPid(server.pid);
    expect(isAlive(server.pid)).toBe(false);
    await expect(stopPid(server.pid)).resolves.toBeUndefined();
    await server.stop(); // removes the temp dir
    expect(existsSync(server.dir)).toBe(false);
  });

  it('stopPid refuses a pid that is not a redis-server', async () => {
    await expect(stopPid(process.pid)).rejects.toThrow(/not a redis-server/);
  });

  it('fails with the server log when redis-server rejects its arguments, leaving nothing behind', async () => {
    await expect(startRedisServer({ args: ['--no-such-option', 'x'] })).rejects.toThrow(
      /exited with code 1 before answering PING[\s\S]*no-such-option/,
    );
  });

  it('fails clearly when an explicit port is taken', async () => {
    const port = await findFreePort();
    const blocker = await listen(port);
    try {
      await expect(startRedisServer({ port })).rejects.toThrow(/Address already in use/);
    } finally {
      await close(blocker);
    }
  });
});
