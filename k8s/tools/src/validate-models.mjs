// Validates Kubernetes objects offline against the schemas kubernetes-models ships (Kubernetes,
// KEDA, prometheus-operator). An ES module run as its own process, because those packages are ES
// modules only and the rest of the workspace (and jest) is CommonJS: validateModels.ts spawns it.
// Input on stdin: a JSON array of objects. Output on stdout: a JSON array, one entry per object,
// `{ "error": string }` for an object that fails or whose kind no package here knows.
import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as kedaV1alpha1 from '@kubernetes-models/keda/keda.sh/v1alpha1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as schedulingV1 from 'kubernetes-models/scheduling.k8s.io/v1';
import * as coreV1 from 'kubernetes-models/v1';

/** @type {Readonly<Record<string, Readonly<Record<string, unknown>>>>} */
const MODELS_BY_API_VERSION = {
  v1: coreV1,
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'batch/v1': batchV1,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'scheduling.k8s.io/v1': schedulingV1,
  'keda.sh/v1alpha1': kedaV1alpha1,
  'monitoring.coreos.com/v1': monitoringV1,
};

/**
 * @typedef {{ validate(): void }} Validatable
 * @typedef {{ new (data: unknown): Validatable, apiVersion: string, kind: string }} ModelClass
 */

/**
 * The model class for an object's apiVersion and kind, or undefined when none is known.
 * @param {unknown} apiVersion
 * @param {unknown} kind
 * @returns {ModelClass | undefined}
 */
function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  const group = Object.hasOwn(MODELS_BY_API_VERSION, apiVersion)
    ? MODELS_BY_API_VERSION[apiVersion]
    : undefined;
  const candidate = group !== undefined && Object.hasOwn(group, kind) ? group[kind] : undefined;
  if (typeof candidate !== 'function') return undefined;
  const model = /** @type {ModelClass} */ (candidate);
  // Only top-level kinds (their class carries apiVersion and kind), not nested types like PodSpec.
  return model.apiVersion === apiVersion && model.kind === kind ? model : undefined;
}

/**
 * The redis-operator's RedisCluster (redis.redis.opstreelabs.in/v1beta2), for which no package
 * ships a schema: the fields its CRD requires, with their types. Its field names are checked by
 * the tests' TypeScript interface (test/redisOperator.ts).
 * @param {Record<string, any>} object
 * @returns {{ error?: string }}
 */
function validateRedisCluster(object) {
  const spec = object['spec'];
  const problems = [];
  const isInt = (/** @type {unknown} */ v) => Number.isInteger(v);
  if (typeof spec !== 'object' || spec === null) return { error: 'spec: required' };
  if (!isInt(spec.clusterSize) || spec.clusterSize < 3)
    problems.push('spec.clusterSize: an integer >= 3');
  if (typeof spec.kubernetesConfig?.image !== 'string')
    problems.push('spec.kubernetesConfig.image: required');
  const secret = spec.kubernetesConfig?.redisSecret;
  if (secret !== undefined && (typeof secret.name !== 'string' || typeof secret.key !== 'string'))
    problems.push('spec.kubernetesConfig.redisSecret: name and key');
  if (spec.TLS !== undefined && typeof spec.TLS.secret?.secretName !== 'string')
    problems.push('spec.TLS.secret.secretName: required');
  for (const role of ['redisLeader', 'redisFollower'])
    if (spec[role]?.replicas !== undefined && !isInt(spec[role].replicas))
      problems.push(`spec.${role}.replicas: an integer`);
  if (spec.redisExporter?.enabled === true && typeof spec.redisExporter.image !== 'string')
    problems.push('spec.redisExporter.image: required when enabled');
  return problems.length === 0 ? {} : { error: problems.join('; ') };
}

/**
 * @param {unknown} object
 * @returns {{ error?: string }}
 */
export function validateObject(object) {
  if (typeof object !== 'object' || object === null) return { error: 'not an object' };
  const { apiVersion, kind } = /** @type {Record<string, unknown>} */ (object);
  if (apiVersion === 'redis.redis.opstreelabs.in/v1beta2' && kind === 'RedisCluster')
    return validateRedisCluster(/** @type {Record<string, any>} */ (object));
  const Model = modelFor(apiVersion, kind);
  if (Model === undefined)
    return { error: `unknown kind ${String(kind)} (${String(apiVersion)}): no schema to check it` };
  try {
    new Model(object).validate();
    return {};
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const objects = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (!Array.isArray(objects)) throw new Error('stdin: expected a JSON array of objects');
  process.stdout.write(JSON.stringify(objects.map(validateObject)));
}

await main();
