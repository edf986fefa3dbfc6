import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { sourceFiles } from './references';

const ROOT = join(__dirname, '..', '..');
const MAX_FILE_LINES = 450;
const MAX_FUNCTION_LINES = 80;
/** Declarative tables, named in docs/architecture.md as the files allowed past MAX_FILE_LINES. */
const DATA_FILES = ['k8s/monitoring/src/rules.ts', 'k8s/monitoring/src/metrics.ts'];

/** Every TypeScript source of the project (tests and declarations aside), relative to the root. */
function sources(): string[] {
  return sourceFiles(ROOT)
    .map((file) => relative(ROOT, file))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.includes('/test/'))
    .sort();
}

/** Functions longer than MAX_FUNCTION_LINES whose top (the lines above it, or its body's first) does not say why. */
function unarguedLongFunctions(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const lines = text.split('\n');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
      const last = source.getLineAndCharacterOfPosition(node.end).line;
      if (last - first + 1 > MAX_FUNCTION_LINES) {
        const top = lines.slice(Math.max(0, first - 3), first + 3).join('\n');
        if (!top.includes('// Long:'))
          found.push(`${file}:${first + 1} (${last - first + 1} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('the shape of the source (docs/architecture.md, "Packages")', () => {
  const files = sources();

  it('finds the sources it checks', () => {
    expect(files).toContain('services/coupon-service/src/frontDoor/frontDoor.ts');
    expect(files).toContain('loadtests/k6/smoke.ts');
  });

  it(`keeps every source file within ${MAX_FILE_LINES} lines but the named data files`, () => {
    const architecture = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
    for (const file of DATA_FILES) expect(architecture).toContain(`\`${file}\``);
    const long = files.filter(
      (file) =>
        !DATA_FILES.includes(file) &&
        readFileSync(join(ROOT, file), 'utf8').trimEnd().split('\n').length > MAX_FILE_LINES,
    );
    expect(long).toEqual([]);
  });

  it(`argues every function over ${MAX_FUNCTION_LINES} lines in a "// Long:" comment at its top`, () => {
    expect(files.flatMap(unarguedLongFunctions)).toEqual([]);
  });
});
