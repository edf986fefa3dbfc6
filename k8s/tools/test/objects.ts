import type { IContainer, IPodSpec, IPodTemplateSpec, IService } from 'kubernetes-models/v1' with {
  'resolution-mode': 'import',
};
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1' with {
  'resolution-mode': 'import',
};
import type { KubeObject } from './support';

/** A workload's pod template, wherever its kind keeps it. */
export interface Workload {
  readonly object: KubeObject;
  readonly labels: Readonly<Record<string, string>>;
  readonly pod: IPodSpec;
}

export function workloads(objects: readonly KubeObject[]): Workload[] {
  return objects.flatMap((object): Workload[] => {
    const spec = object['spec'] as Record<string, unknown> | undefined;
    let template: IPodTemplateSpec | undefined;
    if (['Deployment', 'StatefulSet', 'Job', 'DaemonSet', 'ReplicaSet'].includes(object.kind))
      template = spec?.['template'] as IPodTemplateSpec;
    else if (object.kind === 'CronJob')
      template = (spec?.['jobTemplate'] as { spec: { template: IPodTemplateSpec } }).spec.template;
    else if (object.kind === 'Pod')
      template = { metadata: object.metadata, spec: spec as unknown as IPodSpec };
    if (template?.spec === undefined) return [];
    return [{ object, labels: template.metadata?.labels ?? {}, pod: template.spec }];
  });
}

export function allContainers(pod: IPodSpec): IContainer[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/** matchLabels semantics: every pair of the selector is among the labels. */
export function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined) return false;
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

export function envValue(container: IContainer, name: string): string | undefined {
  return container.env?.find((entry) => entry.name === name)?.value;
}

/** A container port number from a number or a port name. */
export function containerPort(container: IContainer, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/**
 * Whether a NetworkPolicy lets a pod in a namespace with `namespaceLabels` reach `port` (a number)
 * of the pods it selects, where named ports resolve on `container`. Only the forms these manifests
 * use: from namespaceSelector / podSelector with matchLabels, ports by number or name.
 */
export function admitsIngress(
  policy: INetworkPolicy,
  container: IContainer,
  from: {
    namespaceLabels: Record<string, string>;
    podLabels?: Record<string, string>;
    /** The peer is in the policy's own namespace. */
    sameNamespace?: boolean;
  },
  port: number,
): boolean {
  return (policy.spec?.ingress ?? []).some((rule) => {
    const peerMatches = (rule.from ?? []).some((peer) => {
      if (peer.ipBlock !== undefined) return false;
      const namespaceOk =
        peer.namespaceSelector === undefined
          ? from.sameNamespace === true // a podSelector alone means the policy's own namespace
          : selects(peer.namespaceSelector.matchLabels ?? {}, from.namespaceLabels);
      const podOk =
        peer.podSelector === undefined ||
        selects(peer.podSelector.matchLabels ?? {}, from.podLabels ?? {});
      return namespaceOk && podOk;
    });
    const portMatches =
      rule.ports === undefined ||
      rule.ports.some((p) => p.port !== undefined && containerPort(container, p.port) === port);
    return peerMatches && portMatches;
  });
}

/** Whether a NetworkPolicy lets its pods open `port` to pods of their own namespace with `podLabels`. */
export function admitsEgressToPods(
  policy: INetworkPolicy,
  podLabels: Record<string, string>,
  port: number,
): boolean {
  return (policy.spec?.egress ?? []).some(
    (rule) =>
      (rule.to ?? []).some(
        (peer) =>
          peer.namespaceSelector === undefined &&
          peer.podSelector !== undefined &&
          selects(peer.podSelector.matchLabels ?? {}, podLabels),
      ) && (rule.ports ?? []).some((p) => p.port === port),
  );
}

/** Whether a NetworkPolicy lets its pods open `port` to pods of a namespace with these labels. */
export function admitsEgressToNamespace(
  policy: INetworkPolicy,
  namespaceLabels: Record<string, string>,
  port: number,
  protocol = 'TCP',
): boolean {
  return (policy.spec?.egress ?? []).some(
    (rule) =>
      (rule.to ?? []).some(
        (peer) =>
          peer.namespaceSelector !== undefined &&
          selects(peer.namespaceSelector.matchLabels ?? {}, namespaceLabels),
      ) && (rule.ports ?? []).some((p) => p.port === port && (p.protocol ?? 'TCP') === protocol),
  );
}

export function asService(object: KubeObject): IService {
  return object as unknown as IService;
}

export function asNetworkPolicy(object: KubeObject): INetworkPolicy {
  return object as unknown as INetworkPolicy;
}

/** The NetworkPolicies among `objects` that select pods labelled `labels`. */
export function policiesSelecting(
  objects: readonly KubeObject[],
  labels: Readonly<Record<string, string>>,
): INetworkPolicy[] {
  return objects
    .filter((o) => o.kind === 'NetworkPolicy')
    .map(asNetworkPolicy)
    .filter((np) => selects(np.spec?.podSelector?.matchLabels ?? {}, labels));
}
