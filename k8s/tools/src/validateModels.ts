import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** What validate-models.mjs answers for one object: nothing when it is valid. */
export interface ModelCheck {
  readonly error?: string;
}

/**
 * Validates objects against kubernetes-models' schemas (Kubernetes, KEDA, prometheus-operator) in
 * a child process: those packages are ES modules only, which this CommonJS workspace cannot load.
 * One answer per object, in order; an object of a kind no schema covers gets an error.
 */
export function validateModels(objects: readonly unknown[]): ModelCheck[] {
  const worker = join(__dirname, 'validate-models.mjs');
  const result = spawnSync(process.execPath, [worker], {
    input: JSON.stringify(objects),
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0)
    throw new Error(`validate-models.mjs exited ${result.status}: ${result.stderr}`);
  const answers = JSON.parse(result.stdout) as ModelCheck[];
  if (answers.length !== objects.length)
    throw new Error(`validate-models.mjs answered ${answers.length} of ${objects.length} objects`);
  return answers;
}
