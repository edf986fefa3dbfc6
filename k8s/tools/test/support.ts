import { describeIfExecutables } from '@coupons/testing';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** The repository's root (k8s/tools/test -> ../../..). */
export const ROOT = join(__dirname, '..', '..', '..');

/** A Kubernetes object as kubectl kustomize prints it; fields are read with the helpers below. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export function parseYamlObjects(text: string, source: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((document) => {
    if (document.errors.length > 0)
      throw new Error(`${source}: ${document.errors.map((e) => e.message).join('; ')}`);
    const value = document.toJS() as unknown;
    return value === null ? [] : [value as KubeObject];
  });
}

const KUBECTL_MISSING =
  'kubectl missing: kustomize builds cannot be checked. Install kubectl 1.27 or newer (it ships kustomize), e.g. from the Kubernetes apt repository.';

/** `describe` for tests that need kubectl (skipped without it, failed under CI=true). */
export function describeWithKubectl(name: string, fn: () => void): void {
  describeIfExecutables(name, { kubectl: KUBECTL_MISSING }, fn);
}

const builds = new Map<string, KubeObject[]>();

/**
 * `kubectl kustomize DIR`, parsed; throws with kubectl's message when the build fails. Builds are
 * kept for the test file (the manifests do not change while it runs); tests must not mutate them.
 */
export function kustomize(dir: string, extraArgs: readonly string[] = []): KubeObject[] {
  const key = JSON.stringify([dir, extraArgs]);
  const built = builds.get(key);
  if (built !== undefined) return built;
  const result = spawnSync('kubectl', ['kustomize', ...extraArgs, dir], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr}`);
  const objects = parseYamlObjects(result.stdout, `kubectl kustomize ${dir}`);
  builds.set(key, objects);
  return objects;
}

/** A private temporary directory, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function find(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in the build`);
  return found;
}
