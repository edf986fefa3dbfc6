/**
 * Kubernetes' HorizontalPodAutoscaler (autoscaling/v2) as the controller computes it, and KEDA's
 * fallback in front of it: pure functions of what was measured and what happened before, so the
 * rehearsal's scaler and its tests run the same arithmetic.
 *
 * - each metric proposes replicas: AverageValue ceil(value / target), Value ceil(ready pods x
 *   value / target) (the controller multiplies an external Value's ratio by the ready pods),
 *   unchanged within the tolerance (0.1 of the ratio);
 * - the largest proposal wins; a metric that could not be read blocks a scale-down and, alone,
 *   keeps the current count;
 * - stabilisation: the proposal is held between the smallest proposal of the scale-up window and
 *   the largest of the scale-down window;
 * - rate policies: the change per period is limited by each policy from the replicas at the
 *   period's start, the policies combined by selectPolicy (Max: the one allowing most change);
 * - bounds: min and max replicas.
 */

export interface HpaPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface HpaRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: HpaPolicy[];
}

export interface HpaBehavior {
  scaleUp?: HpaRules;
  scaleDown?: HpaRules;
}

/** Kubernetes' defaults (HPA v2 behavior) where the manifest gives none. */
const DEFAULT_UP: Required<HpaRules> = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
};
const DEFAULT_DOWN: Required<HpaRules> = {
  stabilizationWindowSeconds: 300,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
};

/** The controller's default tolerance (--horizontal-pod-autoscaler-tolerance). */
export const TOLERANCE = 0.1;

export type MetricReading =
  | { kind: 'AverageValue'; value: number; target: number }
  | { kind: 'Value'; value: number; target: number }
  | { kind: 'invalid' };

/** What one metric proposes, or undefined when it could not be read. */
export function proposal(
  reading: MetricReading,
  current: number,
  ready = current,
): number | undefined {
  if (reading.kind === 'invalid') return undefined;
  const { value, target } = reading;
  if (!(Number.isFinite(value) && target > 0)) return undefined;
  if (reading.kind === 'AverageValue') {
    // External AverageValue: the metric over the target is the count; the ratio to current
    // replicas decides the tolerance.
    if (current > 0 && Math.abs(value / (target * current) - 1) <= TOLERANCE) return current;
    return Math.ceil(value / target);
  }
  const ratio = value / target;
  if (Math.abs(ratio - 1) <= TOLERANCE) return current;
  return Math.ceil(ready * ratio);
}

export interface ScaleEvent {
  atMs: number;
  /** replicas added (positive) or removed (negative) */
  change: number;
}

export interface Recommendation {
  atMs: number;
  replicas: number;
}

/** The controller's memory between decisions. */
export interface HpaState {
  recommendations: Recommendation[];
  events: ScaleEvent[];
}

export const emptyHpaState = (): HpaState => ({ recommendations: [], events: [] });

export interface HpaInput {
  nowMs: number;
  current: number;
  /** ready pods (an external Value's ratio multiplies them); default: current */
  ready?: number;
  readings: readonly MetricReading[];
  minReplicas: number;
  maxReplicas: number;
  behavior: HpaBehavior;
}

export interface HpaDecision {
  desired: number;
  /** the largest metric proposal, before stabilisation and policies */
  proposed: number;
  /** why the count is what it is: a line for the report */
  reason: string;
}

function rulesOf(behavior: HpaBehavior): { up: Required<HpaRules>; down: Required<HpaRules> } {
  return {
    up: { ...DEFAULT_UP, ...behavior.scaleUp } as Required<HpaRules>,
    down: { ...DEFAULT_DOWN, ...behavior.scaleDown } as Required<HpaRules>,
  };
}

const changedWithin = (
  events: readonly ScaleEvent[],
  nowMs: number,
  periodSeconds: number,
  sign: 1 | -1,
) =>
  events
    .filter((e) => e.atMs > nowMs - periodSeconds * 1000 && Math.sign(e.change) === sign)
    .reduce((sum, e) => sum + Math.abs(e.change), 0);

/**
 * How a direction's policies limit the count: the sign of its changes, one policy's limit from the
 * replicas at its period's start, and the limits that allow the most and the least change.
 */
const DIRECTIONS = {
  up: {
    sign: 1,
    limit: (start: number, p: HpaPolicy) =>
      p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100)),
    most: Math.max,
    least: Math.min,
  },
  down: {
    sign: -1,
    limit: (start: number, p: HpaPolicy) =>
      p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100)),
    // Max selects the policy that allows the most change: down, the lowest floor.
    most: Math.min,
    least: Math.max,
  },
} as const;

/** The most replicas the scale-up policies allow now, or the fewest the scale-down ones do. */
export function policyLimit(
  direction: keyof typeof DIRECTIONS,
  current: number,
  events: readonly ScaleEvent[],
  nowMs: number,
  rules: Required<HpaRules>,
): number {
  if (rules.selectPolicy === 'Disabled') return current;
  const { sign, limit, most, least } = DIRECTIONS[direction];
  const limits = rules.policies.map((p) =>
    limit(current - sign * changedWithin(events, nowMs, p.periodSeconds, sign), p),
  );
  return rules.selectPolicy === 'Min' ? least(...limits) : most(...limits);
}

/** One decision of the controller; `state` is updated in place (recommendations, events). */
export function decide(input: HpaInput, state: HpaState): HpaDecision {
  const { nowMs, current, minReplicas, maxReplicas } = input;
  const { up, down } = rulesOf(input.behavior);
  const proposals = input.readings.map((r) => proposal(r, current, input.ready ?? current));
  const valid = proposals.filter((p): p is number => p !== undefined);
  if (valid.length === 0)
    return { desired: current, proposed: current, reason: 'no metric readable: kept' };
  let proposed = Math.max(...valid);
  let reason = `metrics propose ${proposed}`;
  if (valid.length < proposals.length && proposed < current) {
    proposed = current;
    reason = 'a metric unreadable: no scale-down';
  }
  // Stabilisation.
  const history = state.recommendations.filter(
    (r) =>
      r.atMs >
      nowMs - Math.max(up.stabilizationWindowSeconds, down.stabilizationWindowSeconds) * 1000,
  );
  let upRec = proposed;
  let downRec = proposed;
  for (const r of history) {
    if (r.atMs > nowMs - up.stabilizationWindowSeconds * 1000) upRec = Math.min(upRec, r.replicas);
    if (r.atMs > nowMs - down.stabilizationWindowSeconds * 1000)
      downRec = Math.max(downRec, r.replicas);
  }
  state.recommendations = [...history, { atMs: nowMs, replicas: proposed }];
  let desired = current;
  if (desired < upRec) desired = upRec;
  if (desired > downRec) desired = downRec;
  if (desired !== proposed) reason += `, stabilised to ${desired}`;
  // Rate policies.
  if (desired > current) {
    const limit = Math.min(policyLimit('up', current, state.events, nowMs, up), maxReplicas);
    if (desired > limit) reason += `, up-policy limit ${limit}`;
    desired = Math.min(desired, limit);
  } else if (desired < current) {
    const limit = Math.max(policyLimit('down', current, state.events, nowMs, down), minReplicas);
    if (desired < limit) reason += `, down-policy limit ${limit}`;
    desired = Math.max(desired, limit);
  }
  desired = Math.min(Math.max(desired, minReplicas), maxReplicas);
  if (desired !== current) state.events.push({ atMs: nowMs, change: desired - current });
  const longest = Math.max(...[...up.policies, ...down.policies].map((p) => p.periodSeconds), 0);
  state.events = state.events.filter((e) => e.atMs > nowMs - longest * 1000);
  return { desired, proposed, reason };
}

/**
 * KEDA's fallback for one trigger that has failed more than `failureThreshold` polls in a row:
 * the metric it hands the HPA instead, so that the HPA lands on the fallback count (AverageValue:
 * target x replicas; Value: target x replicas / ready replicas), the count chosen by `behavior`.
 */
export function fallbackReading(
  kind: 'AverageValue' | 'Value',
  target: number,
  fallback: { replicas: number; behavior: string },
  current: number,
  ready: number,
): MetricReading {
  let replicas = fallback.replicas;
  if (fallback.behavior === 'currentReplicas') replicas = current;
  if (fallback.behavior === 'currentReplicasIfHigher')
    replicas = Math.max(current, fallback.replicas);
  if (fallback.behavior === 'currentReplicasIfLower')
    replicas = Math.min(current, fallback.replicas);
  if (kind === 'AverageValue') return { kind, value: target * replicas, target };
  return { kind, value: (target * replicas) / Math.max(ready, 1), target };
}
