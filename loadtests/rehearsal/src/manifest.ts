import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readGeneratedWith } from '@coupons/k8s-tools';
import { parseAllDocuments } from 'yaml';
import type { HpaBehavior } from './hpa';

/**
 * The ScaledObject as the prod overlay builds it (`kubectl kustomize k8s/overlays/prod`): its
 * triggers, polling interval, bounds, fallback and HPA behaviour are what the rehearsal's scaler
 * runs, never a copy of them.
 */

export interface PrometheusTrigger {
  type: 'prometheus';
  name: string;
  metricType: 'AverageValue' | 'Value';
  query: string;
  threshold: number;
}

export interface CronTrigger {
  type: 'cron';
  name: string;
  desiredReplicas: number;
}

export type Trigger = PrometheusTrigger | CronTrigger;

export interface Fallback {
  failureThreshold: number;
  replicas: number;
  behavior: 'static' | 'currentReplicas' | 'currentReplicasIfHigher' | 'currentReplicasIfLower';
}

export interface ScaledObjectSpec {
  pollingIntervalSeconds: number;
  minReplicas: number;
  maxReplicas: number;
  fallback: Fallback;
  behavior: HpaBehavior;
  triggers: Trigger[];
}

/** The calendar's pre-scaling, as `npm run k8s:prescale` generated it. */
export interface Prescale {
  leadMinutes: number;
  holdMinutes: number;
  replicas: number;
}

interface RawScaledObject {
  kind: string;
  metadata: { name: string };
  spec: {
    pollingInterval?: number;
    minReplicaCount?: number;
    maxReplicaCount?: number;
    fallback?: { failureThreshold: number; replicas: number; behavior?: Fallback['behavior'] };
    advanced?: { horizontalPodAutoscalerConfig?: { behavior?: HpaBehavior } };
    triggers: {
      type: string;
      name?: string;
      metricType?: string;
      metadata: Record<string, string>;
    }[];
  };
}

/** KEDA's defaults where the manifest says nothing (keda.sh ScaledObject specification). */
const KEDA_DEFAULTS = { pollingInterval: 30, minReplicaCount: 0, maxReplicaCount: 100 };

/** The ScaledObject of a built overlay's objects (YAML documents). */
export function scaledObjectOf(built: string, name = 'coupon-service'): ScaledObjectSpec {
  const raw = parseAllDocuments(built)
    .map((doc) => doc.toJS() as RawScaledObject)
    .find((o) => o?.kind === 'ScaledObject' && o.metadata.name === name);
  if (raw === undefined) throw new Error(`no ScaledObject ${name} in the built overlay`);
  const { spec } = raw;
  if (spec.fallback === undefined) throw new Error(`ScaledObject ${name} has no fallback`);
  const behavior = spec.advanced?.horizontalPodAutoscalerConfig?.behavior;
  if (behavior === undefined) throw new Error(`ScaledObject ${name} has no HPA behavior`);
  const triggers: Trigger[] = spec.triggers.map((t, i) => {
    const name = t.name ?? `${t.type}-${i}`;
    if (t.type === 'prometheus') {
      const metricType = t.metricType ?? 'AverageValue';
      if (metricType !== 'AverageValue' && metricType !== 'Value')
        throw new Error(`trigger ${name}: metricType ${metricType} is not rehearsed`);
      return {
        type: 'prometheus',
        name,
        metricType,
        query: t.metadata['query']!,
        threshold: Number(t.metadata['threshold']),
      };
    }
    if (t.type === 'cron')
      return { type: 'cron', name, desiredReplicas: Number(t.metadata['desiredReplicas']) };
    throw new Error(`trigger ${name}: type ${t.type} is not rehearsed`);
  });
  return {
    pollingIntervalSeconds: spec.pollingInterval ?? KEDA_DEFAULTS.pollingInterval,
    minReplicas: spec.minReplicaCount ?? KEDA_DEFAULTS.minReplicaCount,
    maxReplicas: spec.maxReplicaCount ?? KEDA_DEFAULTS.maxReplicaCount,
    fallback: { behavior: 'static', ...spec.fallback },
    behavior,
    triggers,
  };
}

/** `kubectl kustomize k8s/overlays/prod`, parsed. */
export function builtProdScaledObject(root: string): ScaledObjectSpec {
  const built = execFileSync('kubectl', ['kustomize', join(root, 'k8s/overlays/prod')], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  return scaledObjectOf(built);
}

/** The lead, hold and size the pre-scaling windows were generated with. */
export function prescaleOf(root: string): Prescale {
  const generated = readGeneratedWith(
    readFileSync(join(root, 'k8s/base/prescale-triggers.yaml'), 'utf8'),
  );
  if (generated === undefined)
    throw new Error('k8s/base/prescale-triggers.yaml: no generated-with line');
  return {
    leadMinutes: generated.leadMinutes,
    holdMinutes: generated.holdMinutes,
    replicas: generated.replicas,
  };
}
