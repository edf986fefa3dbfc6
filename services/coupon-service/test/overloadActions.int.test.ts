import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { OverloadActions } from '../src/frontDoor/overloadActions';

/**
 * The overload actions on a real HTTP server whose every answer is a shed 503 (told to the
 * actions as the front door does), pressure counted from the answers, looks taken by hand with
 * an injected clock: the levels step up and down, and each action shows on the wire.
 */
describe('overload actions below HTTP', () => {
  let server: Server;
  let port: number;
  let overload: OverloadActions;
  let now = 0;
  const counts = { received: 0, shed: 0 };
  let shedding = true;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    overload = new OverloadActions(
      () => ({ ...counts }),
      {
        intervalMs: 60_000,
        minRequests: 1,
        enterShare: [0.5, 0.8, 0.95],
        exitShare: 0.3,
        maxPauseMs: 500,
      },
      () => now,
    );
    server = createServer((_req, res) => {
      counts.received += 1;
      if (!shedding) {
        res.end('served');
        return;
      }
      counts.shed += 1;
      overload.onShed(res);
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
      res.end('{"error":{"code":"OVERLOADED"}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    overload.start(server);
  });
  afterAll(async () => {
    overload.stop();
    for (const socket of sockets) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A keep-alive connection: send a request, read the answers as they come. */
  function client() {
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    let text = '';
    let closed = false;
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    return {
      send: () => socket.write('GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      answers: () => text.split('HTTP/1.1 ').length - 1,
      text: () => text,
      closed: () => closed,
    };
  }
  const settle = (ms = 100) => new Promise((resolve) => setTimeout(resolve, ms));

  it('level 1 stops reading a connection after a shed answer, until maxPauseMs or calm', async () => {
    const a = client();
    a.send();
    await settle();
    overload.tick();
    expect(overload.level).toBe(1);
    expect(overload.reading().actions).toEqual({
      pause_reading: true,
      close_keepalive: false,
      stop_accepting: false,
    });
    a.send();
    await settle();
    expect(a.answers()).toBe(2);
    // Shed at level 1: this connection is not read from now; its next request waits.
    expect(overload.pausedConnections).toBe(1);
    a.send();
    await settle();
    expect(a.answers()).toBe(2);
    // The next look (still shedding) reads it again, and takes level 2.
    now += 500;
    overload.tick();
    await settle();
    expect(a.answers()).toBe(3);
  });

  it('level 2 closes the connection after a shed answer; level 3 closes new connections at accept', async () => {
    expect(overload.level).toBe(2);
    const b = client();
    b.send();
    await settle();
    expect(b.text()).toMatch(/\r\nConnection: close\r\n/i);
    expect(b.closed()).toBe(true);
    // A connection held (idle) when level 3 comes: held ones stay, new ones are closed.
    const held = client();
    await settle();
    overload.tick();
    expect(overload.level).toBe(3);
    expect(held.closed()).toBe(false);
    const c = client();
    c.send();
    await settle();
    expect(c.answers()).toBe(0);
    expect(c.closed()).toBe(true);
  });

  it('steps down one level per calm look, and every action is off again', async () => {
    shedding = false;
    const levels: number[] = [];
    for (let look = 0; look < 3; look += 1) {
      const d = client();
      d.send();
      await settle(50);
      overload.tick();
      levels.push(overload.level);
    }
    expect(levels).toEqual([2, 1, 0]);
    const e = client();
    e.send();
    e.send();
    await settle();
    expect(e.answers()).toBe(2);
    expect(e.text()).not.toMatch(/Connection: close/i);
  });
});
