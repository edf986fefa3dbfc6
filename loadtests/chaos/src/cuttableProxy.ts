import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a server that the chaos run can cut: every open connection reset and
 * new ones refused at once, as a database that stopped looks to its clients, without stopping
 * the machine's shared PostgreSQL.
 */
export class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private cut = false;
  private readonly server: Server;
  port = 0;

  private constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => this.relay(client));
  }

  static async start(target: { host: string; port: number }): Promise<CuttableProxy> {
    const proxy = new CuttableProxy(target);
    await new Promise<void>((done) => proxy.server.listen(0, '127.0.0.1', done));
    const address = proxy.server.address();
    if (address === null || typeof address === 'string') throw new Error('no proxy port');
    proxy.port = address.port;
    return proxy;
  }

  private relay(client: Socket): void {
    if (this.cut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  /** Resets every connection and refuses new ones until restore(). */
  stop(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  restore(): void {
    this.cut = false;
  }

  async close(): Promise<void> {
    this.stop();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}
