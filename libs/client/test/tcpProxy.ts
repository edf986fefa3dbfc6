import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** What to do to one request passing through. */
export type Cut =
  /** Pass it and its answer. */
  | 'none'
  /** Forward the request, then close the client's connection at once; the answer is dropped. */
  | 'after-request'
  /** Forward the request, wait until the answer starts, drop it and close the client's connection. */
  | 'after-response';

export interface SeenRequest {
  /** The request line and headers. */
  head: string;
  at: number;
  backend: number;
  cut: Cut;
  /** The service's answer started (whether or not the client got it). */
  answered: boolean;
}

/**
 * A tiny TCP proxy in front of one or more service ports, for faults a client cannot fake: a
 * connection cut after the request went out (the service carries it out, the answer never
 * arrives), and a load balancer that sends new connections to the first backend that accepts
 * (a draining pod stops accepting; its connections move to the next).
 */
export class TcpProxy {
  readonly seen: SeenRequest[] = [];
  /** Decides, per request head, whether to cut it. */
  cut: (head: string) => Cut = () => 'none';
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    /** Ports tried in order for each new connection. */
    public backends: number[],
  ) {}

  static async start(backends: number[]): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server, backends);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests seen whose head has this header value. */
  withHeader(name: string, value: string): SeenRequest[] {
    return this.seen.filter((r) => headerOf(r.head, name) === value);
  }

  /** Drops every open connection (clients reconnect, to the backends as they are now). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
  }

  private accept(client: Socket): void {
    this.track(client);
    client.pause();
    this.connectTo([...this.backends], (upstream, backend) => {
      if (upstream === undefined) {
        client.destroy();
        return;
      }
      this.track(upstream);
      this.pipe(client, upstream, backend);
      client.resume();
    });
  }

  private connectTo(
    ports: number[],
    done: (socket: Socket | undefined, port: number) => void,
  ): void {
    const port = ports.shift();
    if (port === undefined) {
      done(undefined, 0);
      return;
    }
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      done(socket, port);
    });
    socket.once('error', () => this.connectTo(ports, done));
  }

  private pipe(client: Socket, upstream: Socket, backend: number): void {
    let pending: Cut = 'none';
    let current: SeenRequest | undefined;
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      if (/^[A-Z]+ \S+ HTTP\/1\.[01]\r\n/.test(text)) {
        const head = text.slice(0, Math.max(0, text.indexOf('\r\n\r\n')));
        pending = this.cut(head);
        current = { head, at: Date.now(), backend, cut: pending, answered: false };
        this.seen.push(current);
      }
      upstream.write(chunk, () => {
        if (pending === 'after-request') client.destroy();
      });
    });
    upstream.on('data', (chunk: Buffer) => {
      if (current !== undefined) current.answered = true;
      if (pending === 'none') {
        client.write(chunk);
        return;
      }
      // The answer of a cut request: nobody hears it; the service is done with it.
      client.destroy();
      upstream.destroy();
    });
    client.on('close', () => {
      if (pending === 'none') upstream.end();
    });
    upstream.on('close', () => client.destroy());
  }
}

export function headerOf(head: string, name: string): string | undefined {
  const match = new RegExp(`\\r\\n${name}: *([^\\r\\n]*)`, 'i').exec(head);
  return match?.[1];
}
