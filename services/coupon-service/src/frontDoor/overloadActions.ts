import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ShedReason } from '@coupons/admission';

/**
 * The actions below HTTP, in the order they are taken as pressure rises (after Envoy's overload
 * manager): each level keeps the ones below it.
 */
const OVERLOAD_ACTIONS = ['pause_reading', 'close_keepalive', 'stop_accepting'] as const;
export type OverloadAction = (typeof OVERLOAD_ACTIONS)[number];

export interface OverloadOptions {
  /** How often pressure is looked at, ms. */
  intervalMs: number;
  /** Requests a look needs before it judges (fewer: pressure falls). */
  minRequests: number;
  /** Share of a look's requests shed for capacity that takes the next level, per level 1..3. */
  enterShare: readonly [number, number, number];
  /** Below this share the level steps down by one each look. */
  exitShare: number;
  /** A connection is not read from for at most this long, then read again (its caller decides). */
  maxPauseMs: number;
}

const DEFAULT_OVERLOAD: OverloadOptions = Object.freeze({
  intervalMs: 100,
  minRequests: 50,
  enterShare: [0.5, 0.8, 0.95] as const,
  exitShare: 0.3,
  maxPauseMs: 1000,
});

/** Shed answers that say the pod lacks capacity (the others answer for what the request is). */
export const SHED_FOR_CAPACITY: ReadonlySet<ShedReason> = new Set([
  'event_loop',
  'token_bucket',
  'concurrency',
  'deadline',
]);

/** Cumulative counts: requests received, and those shed for lack of capacity. */
export type PressureReading = () => { received: number; shed: number };

/**
 * When the pod's own refusals start eating the CPU claims need, it stops paying for requests it
 * would refuse: level 1 stops reading a connection after a shed answer on it (its next request
 * waits in the kernel; the caller's deadline decides; read again within maxPauseMs), level 2 also
 * closes the connection after a shed answer (no keep-alive: the caller reconnects, through the
 * load balancer, maybe to another pod), level 3 also stops accepting connections (node closes a
 * new one at accept, before any HTTP parsing: it cannot leave it in the accept queue). One level
 * up per look while the shed share stays above the next threshold, one down per look below
 * exitShare. The prepared 503 stays for what the pod can afford to answer.
 */
export class OverloadActions {
  private current = 0;
  private last = { received: 0, shed: 0 };
  private readonly paused = new Map<Socket, number>();
  private timer: NodeJS.Timeout | undefined;
  private savedMaxConnections: number | undefined;
  private server: Server | undefined;

  constructor(
    private readonly pressure: PressureReading,
    private readonly options: OverloadOptions = DEFAULT_OVERLOAD,
    /** Monotonic ms; tests inject one. */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** 0 (none) .. 3 (every action on). */
  get level(): number {
    return this.current;
  }

  /** Whether an action is on now, for the metrics. */
  isOn(action: OverloadAction): boolean {
    return this.current > OVERLOAD_ACTIONS.indexOf(action);
  }

  /** Connections not read from now. */
  get pausedConnections(): number {
    return this.paused.size;
  }

  /** Starts looking at pressure; `server` is the API listener the actions act on. */
  start(server: Server): this {
    this.server = server;
    this.last = this.pressure();
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.setLevel(0);
  }

  /** One look: the shed share since the last, one level up or down, paused connections read again when due. */
  tick(): void {
    const reading = this.pressure();
    const received = reading.received - this.last.received;
    const shed = reading.shed - this.last.shed;
    this.last = reading;
    const share = received >= this.options.minRequests ? shed / received : 0;
    const { enterShare, exitShare } = this.options;
    const next = this.current < 3 ? enterShare[this.current] : undefined;
    if (next !== undefined && share >= next) this.setLevel(this.current + 1);
    else if (share < exitShare && this.current > 0) this.setLevel(this.current - 1);
    const now = this.now();
    for (const [socket, until] of this.paused)
      if (this.current === 0 || now >= until) this.resume(socket);
  }

  /**
   * Called by the front door as it writes a shed answer (one for lack of capacity): at level 2
   * the connection closes after it; at level 1 it is not read from for a while.
   */
  onShed(res: ServerResponse): void {
    if (this.current >= 2) {
      res.shouldKeepAlive = false;
      return;
    }
    if (this.current < 1) return;
    const socket = res.socket;
    if (socket === null) return;
    res.once('finish', () => {
      if (socket.destroyed || this.paused.has(socket)) return;
      socket.pause();
      this.paused.set(socket, this.now() + this.options.maxPauseMs);
      socket.once('close', () => this.paused.delete(socket));
    });
  }

  private resume(socket: Socket): void {
    this.paused.delete(socket);
    if (!socket.destroyed) socket.resume();
  }

  private setLevel(level: number): void {
    const was = this.current;
    this.current = level;
    if (this.server === undefined) return;
    if (level >= 3 && was < 3) {
      this.savedMaxConnections = this.server.maxConnections;
      // Node has no way to stop accepting: a connection past maxConnections is closed at accept.
      // At least 1: node 20 reads 0 as "no limit".
      this.server.maxConnections = Math.max(1, this.connections());
    } else if (level < 3 && was >= 3) {
      this.server.maxConnections = this.savedMaxConnections as number;
      this.savedMaxConnections = undefined;
    }
    if (level === 0) for (const socket of [...this.paused.keys()]) this.resume(socket);
  }

  private connections(): number {
    // Counted by node; getConnections is async, _connections is what maxConnections compares.
    return (this.server as unknown as { _connections: number })._connections;
  }

  /** For the metrics scrape. */
  reading(): {
    level: number;
    actions: Record<OverloadAction, boolean>;
    pausedConnections: number;
  } {
    const actions = Object.fromEntries(
      OVERLOAD_ACTIONS.map((action) => [action, this.isOn(action)]),
    ) as Record<OverloadAction, boolean>;
    return { level: this.current, actions, pausedConnections: this.paused.size };
  }
}
