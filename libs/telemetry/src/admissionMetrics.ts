import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * What the admission gate reports on scrape (structurally the gate's snapshot, so this package
 * does not depend on the gate). Counts are cumulative since start.
 */
export interface AdmissionReading {
  received: Readonly<Record<string, number>>;
  /** reason -> priority -> count */
  shed: Readonly<Record<string, Readonly<Record<string, number>>>>;
  inflight: Readonly<Record<string, number>>;
  concurrencyLimit: number;
  saturation: number;
  eventLoopActiveSeconds: number;
  eventLoopUtilization: number;
  limitChecksPending: number;
  /** Per-user/per-key limit answers the in-memory insurance limiter gave for Redis. */
  limiterInsuranceAnswers: number;
  /** Limit checks neither Redis nor the insurance limiter answered (admitted: limits fail open). */
  limiterFaults: number;
}

/**
 * The admission metrics (docs/observability.md), read from the gate at scrape
 * time, so the request path only bumps plain integers. Demand (`coupon_requests_received_total`)
 * is counted before any shedding: it keeps rising while saturation is pinned at 1, which is
 * what an autoscaler sizes the fleet by. Labels: priority and reason, both fixed lists.
 */
// Long: a flat table of 13 metric declarations, each reading the gate at scrape time.
export function registerAdmissionMetrics(registry: Registry, read: () => AdmissionReading): void {
  const registers = [registry];
  // Each metric reads the gate on its own: a snapshot is a few small objects, once per scrape.
  const current = read;

  new Counter({
    name: 'coupon_requests_received_total',
    help: 'Requests that reached the admission gate, before any shedding (demand), by priority',
    labelNames: ['priority'],
    registers,
    collect() {
      this.reset();
      for (const [priority, n] of Object.entries(current().received)) this.inc({ priority }, n);
    },
  });
  new Counter({
    name: 'coupon_admission_shed_total',
    help: 'Requests answered by the admission gate without reaching the application, by reason and priority',
    labelNames: ['reason', 'priority'],
    registers,
    collect() {
      this.reset();
      for (const [reason, byPriority] of Object.entries(current().shed))
        for (const [priority, n] of Object.entries(byPriority)) this.inc({ reason, priority }, n);
    },
  });
  new Gauge({
    name: 'coupon_admission_inflight',
    help: 'Admitted requests not yet answered, by priority',
    labelNames: ['priority'],
    registers,
    collect() {
      for (const [priority, n] of Object.entries(current().inflight)) this.set({ priority }, n);
    },
  });
  new Gauge({
    name: 'coupon_admission_concurrency_limit',
    help: 'The adaptive concurrency limit (slots; claims may use a share of them)',
    registers,
    collect() {
      this.set(current().concurrencyLimit);
    },
  });
  new Gauge({
    name: 'coupon_admission_saturation',
    help: 'Use of this pod: the larger of in-flight / concurrency limit and token-bucket use, 0..1',
    registers,
    collect() {
      this.set(current().saturation);
    },
  });
  new Counter({
    name: 'coupon_event_loop_active_seconds_total',
    help: 'Time the event loop was busy (perf_hooks eventLoopUtilization); rate() is the utilisation',
    registers,
    collect() {
      this.reset();
      this.inc(current().eventLoopActiveSeconds);
    },
  });
  new Gauge({
    name: 'coupon_event_loop_utilization',
    help: 'Event-loop utilisation over the guard’s last sampling interval (100 ms), 0..1',
    registers,
    collect() {
      this.set(current().eventLoopUtilization);
    },
  });
  new Gauge({
    name: 'coupon_admission_limit_checks_pending',
    help: 'Per-user / per-key limit checks waiting on Redis',
    registers,
    collect() {
      this.set(current().limitChecksPending);
    },
  });
  new Counter({
    name: 'coupon_admission_limiter_faults_total',
    help: 'Per-user / per-key limit checks that neither Redis nor the insurance limiter answered (admitted: a request limit fails open)',
    registers,
    collect() {
      this.reset();
      this.inc(current().limiterFaults);
    },
  });
  new Counter({
    name: 'coupon_admission_limiter_insurance_total',
    help: 'Per-user / per-key limit answers given by the in-memory insurance limiter because Redis did not answer',
    registers,
    collect() {
      this.reset();
      this.inc(current().limiterInsuranceAnswers);
    },
  });
}

/** The overload actions below HTTP (the service's frontDoor/overloadActions.ts), read at scrape. */
export interface OverloadReading {
  /** 0 (none) .. 3 (every action on). */
  level: number;
  /** action -> on. */
  actions: Readonly<Record<string, boolean>>;
  pausedConnections: number;
}

export function registerOverloadMetrics(registry: Registry, current: () => OverloadReading): void {
  const registers = [registry];
  new Gauge({
    name: 'coupon_overload_level',
    help: 'Overload actions below HTTP: 0 none, 1 pause reading, 2 and close keep-alive, 3 and stop accepting',
    registers,
    collect() {
      this.set(current().level);
    },
  });
  new Gauge({
    name: 'coupon_overload_action',
    help: 'Whether an overload action below HTTP is on (1) or off (0), by action',
    labelNames: ['action'],
    registers,
    collect() {
      for (const [action, on] of Object.entries(current().actions))
        this.set({ action }, on ? 1 : 0);
    },
  });
  new Gauge({
    name: 'coupon_overload_paused_connections',
    help: 'Connections not read from now (overload action pause_reading)',
    registers,
    collect() {
      this.set(current().pausedConnections);
    },
  });
}
