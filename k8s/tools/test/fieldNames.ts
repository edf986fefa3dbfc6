import { dirname, join } from 'node:path';
import ts from 'typescript';
import type { KubeObject } from './support';

/**
 * The schemas kubernetes-models validates against accept unknown fields, so a misspelt
 * `readinesProbe` would pass them (and a server with strict field validation would refuse it).
 * Its TypeScript types do not: each object is written as a literal of its kind's interface and
 * type-checked, and TypeScript's excess property check names every field the kind does not have.
 */
const TYPES: Readonly<Record<string, string>> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'batch/v1': 'kubernetes-models/batch/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'scheduling.k8s.io/v1': 'kubernetes-models/scheduling.k8s.io/v1',
  // No package has the redis-operator's types: this directory's own, from its v1beta2 CRD.
  'redis.redis.opstreelabs.in/v1beta2': './redisOperator.js',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

/** Type errors of the objects against their kinds' interfaces: unknown fields, wrong types. */
export function fieldErrors(objects: readonly KubeObject[]): string[] {
  // An ES module beside the tests, so the ESM-only packages resolve from node_modules.
  const fileName = join(__dirname, '__field-names__.mts');
  const lines: string[] = [];
  /** The object each line of the source declares (the type import, then the literal). */
  const owners: KubeObject[] = [];
  const problems: string[] = [];
  objects.forEach((object, i) => {
    const module = TYPES[object.apiVersion];
    if (module === undefined) {
      problems.push(`${object.kind}/${object.metadata.name}: no types for ${object.apiVersion}`);
      return;
    }
    lines.push(`import type { I${object.kind} as T${i} } from '${module}';`);
    lines.push(`export const o${i}: T${i} = ${JSON.stringify(object)};`);
    owners.push(object, object);
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName
      ? ts.createSourceFile(name, source, languageVersion, true)
      : getSourceFile.call(host, name, languageVersion, ...rest);
  host.fileExists = (name) => name === fileName || fileExists.call(host, name);
  host.readFile = (name) => (name === fileName ? source : readFile.call(host, name));
  host.getCurrentDirectory = () => dirname(fileName);
  const program = ts.createProgram([fileName], options, host);
  const file = program.getSourceFile(fileName)!;
  for (const diagnostic of ts.getPreEmitDiagnostics(program, file)) {
    const at =
      diagnostic.start === undefined
        ? 0
        : file.getLineAndCharacterOfPosition(diagnostic.start).line;
    const object = owners[at];
    const where = object === undefined ? '' : `${object.kind}/${object.metadata.name}: `;
    problems.push(`${where}${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`);
  }
  return problems;
}
