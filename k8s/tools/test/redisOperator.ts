/**
 * The OT-Container-Kit redis-operator's RedisCluster (redis.redis.opstreelabs.in/v1beta2), as its
 * Go types declare it (api/v1beta2/rediscluster_types.go, api/common_types.go): the fields the
 * prod overlay may use, so a misspelt one is named by the field-name check. No npm package ships
 * these types. Nested Kubernetes types (resources, PVC specs) are left open.
 */
type Open = Record<string, unknown>;

interface IRedisConfig {
  additionalRedisConfig?: string;
}
interface IRedisPdb {
  enabled?: boolean;
  minAvailable?: number;
  maxUnavailable?: number;
}
interface IRedisRole {
  replicas?: number;
  redisConfig?: IRedisConfig;
  affinity?: Open;
  pdb?: IRedisPdb;
  readinessProbe?: Open;
  livenessProbe?: Open;
  tolerations?: Open[];
  nodeSelector?: Record<string, string>;
  securityContext?: Open;
  terminationGracePeriodSeconds?: number;
}

export interface IRedisCluster {
  apiVersion: 'redis.redis.opstreelabs.in/v1beta2';
  kind: 'RedisCluster';
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: {
    clusterSize: number;
    clusterVersion?: string;
    port?: number;
    persistenceEnabled?: boolean;
    priorityClassName?: string;
    kubernetesConfig: {
      image: string;
      imagePullPolicy?: string;
      resources?: Open;
      redisSecret?: { name: string; key: string };
      imagePullSecrets?: Open[];
      updateStrategy?: Open;
      service?: Open;
    };
    TLS?: { ca?: string; cert?: string; key?: string; secret: { secretName: string } & Open };
    acl?: Open;
    redisLeader?: IRedisRole;
    redisFollower?: IRedisRole;
    redisExporter?: {
      enabled?: boolean;
      image: string;
      imagePullPolicy?: string;
      resources?: Open;
      env?: Open[];
    };
    storage?: {
      volumeClaimTemplate?: Open;
      volumeMount?: Open;
      nodeConfVolume?: boolean;
      nodeConfVolumeClaimTemplate?: Open;
    };
    podSecurityContext?: Open;
    resources?: Open;
    serviceAccountName?: string;
    env?: Open[];
  };
}
