import { performance } from 'node:perf_hooks';
import {
  CouponClient,
  TransportError,
  UndiciTransport,
  type ClaimOutcome,
  type HttpRequest,
} from '@coupons/client';
import { ArrivalSchedule, type RequestSpec } from '@coupons/runner';
import { claimIds, SERVER_CORE } from './catalog';
import {
  ClientsBook,
  fateOfAnswer,
  fateOfOutcome,
  parsePodCounters,
  podShed,
  type ClientsMode,
  type Fate,
  type PodCounters,
} from './clientsBook';
import { nextTag, withServer, type Bench } from './measure';
import { TASKSET, type RunningServer } from './processes';
import { coreTimes, cpuSeconds } from './procfs';
import type { ClientsPoint } from './results';

/** A timer callback handles arrivals for at most this long before letting answers in. */
const SEND_SLICE_MS = 4;
/** How often raw requests past their deadline are aborted. */
const SWEEP_MS = 5;

/** One way of turning arrivals into requests: raw, or through the client. */
interface Driver {
  /** Opens each backend's first connection (not counted). */
  warmUp(): Promise<void>;
  /** Arrival i, scheduled at dueAt (performance.now() ms), handled now. */
  fire(i: number, dueAt: number, now: number): void;
  close(): Promise<void>;
}

type Settle = (i: number, fate: Fate, latencyMs: number, requests: number) => void;

function httpRequest(spec: RequestSpec): HttpRequest {
  return {
    method: spec.method,
    path: spec.path,
    headers: spec.headers ?? {},
    ...(spec.body === undefined ? {} : { body: spec.body }),
  };
}

/**
 * raw: each simulated backend has its own connection pool (the client's transport, the same
 * pool size) and sends one request per arrival: no retries, no throttle, no Retry-After, given
 * up at the deadline (counted from the arrival's scheduled time).
 */
class RawDriver implements Driver {
  private readonly transports: UndiciTransport[];
  /** in arrival order, which is deadline order */
  private pending: { deadline: number; controller: AbortController; done: boolean }[] = [];
  private head = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    baseUrl: string,
    backends: number,
    private readonly deadlineMs: number,
    private readonly requestOf: (i: number) => RequestSpec,
    private readonly warmRequestOf: (i: number) => RequestSpec,
    private readonly settle: Settle,
    private readonly onError: (err: unknown) => void,
  ) {
    this.transports = Array.from({ length: backends }, () => new UndiciTransport(baseUrl));
    this.sweeper = setInterval(this.sweep, SWEEP_MS);
  }

  async warmUp(): Promise<void> {
    await Promise.all(
      this.transports.map((t, b) =>
        t.send(httpRequest(this.warmRequestOf(b)), new AbortController().signal),
      ),
    );
  }

  fire(i: number, dueAt: number, now: number): void {
    const deadline = dueAt + this.deadlineMs;
    if (now >= deadline) {
      this.settle(i, 'lost', now - dueAt, 0);
      return;
    }
    const entry = { deadline, controller: new AbortController(), done: false };
    this.pending.push(entry);
    const transport = this.transports[i % this.transports.length]!;
    transport.send(httpRequest(this.requestOf(i)), entry.controller.signal).then(
      (response) => {
        entry.done = true;
        const latency = performance.now() - dueAt;
        const retryAfter = response.headers['retry-after'] !== undefined;
        this.settle(
          i,
          fateOfAnswer(response.status, retryAfter, latency, this.deadlineMs),
          latency,
          1,
        );
      },
      (err: unknown) => {
        entry.done = true;
        const latency = performance.now() - dueAt;
        const lost = err instanceof TransportError || entry.controller.signal.aborted;
        if (!lost) this.onError(err);
        this.settle(i, lost ? 'lost' : 'error', latency, 1);
      },
    );
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    while (this.head < this.pending.length) {
      const entry = this.pending[this.head]!;
      if (entry.deadline > now) break;
      if (!entry.done) entry.controller.abort();
      this.head += 1;
    }
    if (this.head > 4096) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
  };

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all(this.transports.map((t) => t.close()));
  }
}

/**
 * client: each simulated backend has its own CouponClient (its defaults: throttle, retry budget,
 * Retry-After, bulkhead, sold-out memory), and each arrival is one client.claim call whose
 * deadline is what is left of the arrival's deadline when the generator gets to it.
 */
class ClientDriver implements Driver {
  private readonly clients: CouponClient[];

  constructor(
    baseUrl: string,
    apiKey: string,
    private readonly campaignId: string,
    backends: number,
    private readonly deadlineMs: number,
    private readonly tag: string,
    private readonly warmTag: string,
    private readonly settle: Settle,
    private readonly onError: (err: unknown) => void,
  ) {
    this.clients = Array.from(
      { length: backends },
      () =>
        new CouponClient({
          baseUrl,
          apiKey,
          deadlineMs,
          idempotencyNamespace: 'npm-run-bench',
        }),
    );
  }

  /** The same user and Idempotency-Key as raw's request i (claimIds), nothing else built. */
  private claim(client: CouponClient, tag: string, i: number, deadlineMs: number) {
    return client.claim({ campaignId: this.campaignId, ...claimIds(tag, i) }, { deadlineMs });
  }

  async warmUp(): Promise<void> {
    await Promise.all(this.clients.map((c, b) => this.claim(c, this.warmTag, b, this.deadlineMs)));
  }

  fire(i: number, dueAt: number, now: number): void {
    const left = dueAt + this.deadlineMs - now;
    if (left <= 0) {
      this.settle(i, 'lost', now - dueAt, 0);
      return;
    }
    const client = this.clients[i % this.clients.length]!;
    this.claim(client, this.tag, i, left).then(
      (outcome: ClaimOutcome) => {
        const latency = performance.now() - dueAt;
        this.settle(i, fateOfOutcome(outcome, latency, this.deadlineMs), latency, outcome.attempts);
      },
      (err: unknown) => {
        this.onError(err);
        this.settle(i, 'error', performance.now() - dueAt, 1);
      },
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

/**
 * Handles every arrival of the schedule at its time (the open model: whatever the pod does).
 * `scheduled` resolves when the last arrival has been handled; `settled` once every arrival has
 * settled.
 */
function drive(
  schedule: ArrivalSchedule,
  driver: Driver,
  book: ClientsBook,
  onSettledHook: (listener: () => void) => void,
): { scheduled: Promise<void>; settled: Promise<void> } {
  let markScheduled: () => void = () => {};
  const scheduled = new Promise<void>((resolve) => (markScheduled = resolve));
  const settled = new Promise<void>((resolve, reject) => {
    const startedAt = performance.now();
    let over = false;
    const finishIfDone = () => {
      if (over && book.settled >= schedule.total) resolve();
    };
    onSettledHook(finishIfDone);
    const tick = (): void => {
      try {
        let now = performance.now();
        const sliceEnd = now + SEND_SLICE_MS;
        for (;;) {
          const offset = schedule.nextAtMsOffset;
          if (offset === Infinity) {
            over = true;
            markScheduled();
            finishIfDone();
            return;
          }
          const dueAt = startedAt + offset;
          if (dueAt > now) {
            setTimeout(tick, dueAt - now);
            return;
          }
          if (now >= sliceEnd) {
            setImmediate(tick);
            return;
          }
          const i = schedule.nextIndex;
          schedule.advance();
          book.arrived(now - dueAt);
          driver.fire(i, dueAt, now);
          now = performance.now();
        }
      } catch (err) {
        markScheduled();
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    tick();
  });
  return { scheduled, settled };
}

async function podCounters(server: RunningServer): Promise<PodCounters> {
  if (server.metricsPort === undefined) throw new Error('the service printed no metrics port');
  const res = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`, {
    headers: { connection: 'close' },
  });
  return parsePodCounters(await res.text());
}

/** The mode's driver: raw requests (the bench's own), or the client library's claims. */
function driverOf(
  bench: Bench,
  mode: ClientsMode,
  baseUrl: string,
  tag: string,
  warmTag: string,
  settle: Settle,
  onError: (err: unknown) => void,
): Driver {
  const { backends } = bench.settings.clients;
  const deadlineMs = bench.settings.timeoutMs;
  const { apiKey, campaignId } = bench.ctx.service;
  return mode === 'raw'
    ? new RawDriver(
        baseUrl,
        backends,
        deadlineMs,
        bench.requests(tag),
        bench.requests(warmTag),
        settle,
        onError,
      )
    : new ClientDriver(
        baseUrl,
        apiKey,
        campaignId,
        backends,
        deadlineMs,
        tag,
        warmTag,
        settle,
        onError,
      );
}

/**
 * One point of the clients section: a fresh pod (the service, admission on, LOG_LEVEL=warn,
 * pinned as every server is), `backends` simulated chat backends, arrivals at multiple x
 * capacity after a linear ramp, in one mode.
 */
export function clientsPoint(
  bench: Bench,
  mode: ClientsMode,
  round: number,
  multiple: number,
  capacity: number,
): Promise<ClientsPoint> {
  const { rampMs, holdMs, backends } = bench.settings.clients;
  const deadlineMs = bench.settings.timeoutMs;
  const targetRate = Math.max(1, Math.round(multiple * capacity));
  const stages = [
    { durationMs: rampMs, targetRate },
    { durationMs: holdMs, targetRate },
  ];
  const firstHoldArrival = Math.ceil((targetRate * rampMs) / 1000 / 2);
  const tag = nextTag();
  const warmTag = nextTag();
  return withServer(bench, 'service', {}, async (server) => {
    // Every request past its deadline is aborted with an error (undici's, the client's); their
    // stack traces were a tenth of the generator's CPU in a profile of a 30x point. The bench's
    // own errors keep their message (firstError), not their stack.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    const book = new ClientsBook(firstHoldArrival);
    let firstError: string | undefined;
    const onError = (err: unknown) => {
      firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    };
    let listener = () => {};
    const settle: Settle = (i, fate, latencyMs, requests) => {
      book.settle(i, fate, latencyMs, requests);
      listener();
    };
    const driver = driverOf(bench, mode, server.baseUrl, tag, warmTag, settle, onError);
    try {
      await driver.warmUp();
      const before = await podCounters(server);
      const core0 = TASKSET === undefined ? undefined : coreTimes(SERVER_CORE);
      const cpu0 = cpuSeconds(server.pid);
      const elu0 = performance.eventLoopUtilization();
      const gen0 = process.cpuUsage();
      const started = performance.now();
      const run = drive(new ArrivalSchedule(stages, 0), driver, book, (l) => (listener = l));
      // The pod is read when the last arrival's deadline has passed: a window of the same length
      // in both modes, whatever is still draining on the generator's side after it.
      await run.scheduled;
      await new Promise((resolve) => setTimeout(resolve, deadlineMs));
      const wallMs = performance.now() - started;
      const cpu = cpuSeconds(server.pid) - cpu0;
      const core1 = core0 === undefined ? undefined : coreTimes(SERVER_CORE);
      const gen = process.cpuUsage(gen0);
      const utilization = performance.eventLoopUtilization(elu0).utilization;
      const after = await podCounters(server);
      await run.settled;
      return {
        mode,
        round,
        multiple,
        targetRate,
        backends,
        summary: book.summary(holdMs),
        wallMs,
        settledMs: performance.now() - started,
        cpuSeconds: cpu,
        pod: podShed(cpu, before, after),
        generator: { utilization, cpuSeconds: (gen.user + gen.system) / 1e6 },
        ...(core0 === undefined || core1 === undefined
          ? {}
          : {
              serverCoreOtherSeconds: Math.max(0, core1.busy - core0.busy - cpu),
              serverCoreStealSeconds: core1.steal - core0.steal,
            }),
        ...(firstError === undefined ? {} : { firstError }),
      };
    } finally {
      await driver.close();
      Error.stackTraceLimit = stackTraceLimit;
    }
  });
}
