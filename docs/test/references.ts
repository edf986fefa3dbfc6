import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** What a document names that must exist in the repository. */
export type ReferenceKind = 'file' | 'npm script' | 'metric' | 'name';

export interface Reference {
  kind: ReferenceKind;
  /** As written, trimmed to the part that is checked (a path without its `:line`, ...). */
  text: string;
  /** The document and line it was found on. */
  where: string;
}

const TOP_FOLDERS = [
  'services/',
  'libs/',
  'k8s/',
  'loadtests/',
  'bench/',
  'docs/',
  'config/',
  'examples/',
  'deploy/',
  '.ci/',
];
const FILE_EXTENSIONS = /\.(ts|js|mjs|cjs|lua|md|ya?ml|json|sql|sh|svg)$/;
/** Placeholders and patterns name no single file. */
const NOT_A_PATH = /[*<>{}$\s]|\.\.\.|^https?:|^[a-z]+:\/\/|^\//;

/** A token read as a path in the repository: a known top folder, or a file with an extension. */
function asPath(token: string): string | undefined {
  const path = token
    .replace(/^\.\//, '')
    .replace(/(:\d+(-\d+)?)+$/, '')
    .replace(/#.*$/, '');
  if (path === '' || NOT_A_PATH.test(path)) return undefined;
  const underTop = TOP_FOLDERS.some((top) => path.startsWith(top));
  // A bare name counts for sources (a test, a script); outputs and secrets' keys are not files here.
  const isFile =
    FILE_EXTENSIONS.test(path) &&
    (path.includes('/') || (/^[\w@-][\w.@-]*$/.test(path) && /\.(ts|lua|sql)$/.test(path)));
  return underTop || isFile ? path : undefined;
}

/** Metric names the way PromQL and the exposition show them, reduced to the registered name. */
const METRIC = /\bcoupon_[a-z0-9_]*[a-z0-9]\b/g;
const SERIES_SUFFIX = /_(bucket|sum|count)$/;

/** Environment variables and contract codes: upper-case words with an underscore. */
const NAME = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/;

/** Every reference in one markdown document (code spans, fenced code, link targets). */
export function referencesIn(markdown: string, docPath: string): Reference[] {
  const found: Reference[] = [];
  const lines = markdown.split('\n');
  lines.forEach((line, index) => {
    const where = `${docPath}:${index + 1}`;
    const add = (kind: ReferenceKind, text: string) => found.push({ kind, text, where });
    for (const match of line.matchAll(/npm run ([a-z][a-z0-9-]*(?::[a-z0-9-]+)*)/g))
      add('npm script', match[1]!);
    for (const match of line.matchAll(METRIC)) add('metric', match[0].replace(SERIES_SUFFIX, ''));
    const spans = [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const links = [...line.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
    for (const link of links) {
      const path = link.replace(/#.*$/, '');
      if (path !== '' && !NOT_A_PATH.test(path)) add('file', path);
    }
    for (const token of spans) {
      const path = asPath(token);
      if (path !== undefined) add('file', path);
      const name = token.split('=')[0]!.trim();
      if (NAME.test(name)) add('name', name);
    }
  });
  return found;
}

/** The files a source search reads: code, manifests, the CI and container files. */
export function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const skip = new Set(['node_modules', 'dist', '.git', 'results', 'coverage', 'docs']);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      if (skip.has(entry) || entry.startsWith('.redis')) continue;
      const full = join(dir, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(ts|js|lua|ya?ml|json|sql)$/.test(entry) || entry === 'Dockerfile')
        out.push(full);
    }
  };
  for (const top of ['services', 'libs', 'k8s', 'loadtests', 'bench', 'examples', 'config'])
    if (existsSync(join(root, top))) walk(join(root, top));
  for (const file of ['Dockerfile', 'compose.yaml', '.ci/run', 'package.json'])
    if (existsSync(join(root, file))) out.push(join(root, file));
  return out;
}

/** Checks references against a repository root; returns the ones that name nothing there. */
export class RepositoryIndex {
  private readonly sources: string;
  /** Metrics are registered in the deployables' and libraries' sources, not in rules. */
  private readonly registrations: string;
  private readonly scripts: Set<string>;

  constructor(private readonly root: string) {
    const files = sourceFiles(root);
    const read = (list: string[]) => list.map((file) => readFileSync(file, 'utf8')).join('\n');
    this.sources = read(files);
    this.registrations = read(
      files.filter((file) =>
        /^(services\/[^/]+|libs\/[^/]+|k8s\/monitoring)\/src\/.*\.ts$/.test(relative(root, file)),
      ),
    );
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    this.scripts = new Set(Object.keys(pkg.scripts ?? {}));
    this.files = files.map((file) => relative(root, file));
    const gitignore = join(root, '.gitignore');
    this.ignored = (existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '')
      .split('\n')
      .filter((line) => line.includes('/') && !line.startsWith('#'))
      .map((line) => line.replace(/\/$/, ''));
  }

  /** Output folders (git-ignored) that exist only after a run. */
  private readonly ignored: string[];

  private readonly files: string[];

  /** A metric registered whole, or as a quoted prefix plus a quoted name (`'coupon_client_'`). */
  private registered(metric: string): boolean {
    if (this.registrations.includes(metric)) return true;
    const parts = metric.split('_');
    for (let i = 1; i < parts.length; i++) {
      const prefix = `'${parts.slice(0, i).join('_')}_'`;
      const rest = `'${parts.slice(i).join('_')}'`;
      if (this.registrations.includes(prefix) && this.registrations.includes(rest)) return true;
    }
    return false;
  }

  exists(reference: Reference, docFile: string): boolean {
    switch (reference.kind) {
      case 'file':
        // From the root, from the document, or the tail of a path the text around it names.
        return (
          existsSync(join(this.root, reference.text)) ||
          this.ignored.some((folder) => reference.text.startsWith(folder)) ||
          existsSync(join(dirname(docFile), reference.text)) ||
          this.files.some((file) => file.endsWith(`/${reference.text}`))
        );
      case 'npm script':
        return this.scripts.has(reference.text);
      case 'metric':
        return this.registered(reference.text);
      case 'name':
        return this.sources.includes(reference.text);
    }
  }

  /** The references of these documents that name nothing, as `doc:line kind text`. */
  missing(docFiles: readonly string[]): string[] {
    return docFiles.flatMap((file) =>
      referencesIn(readFileSync(file, 'utf8'), relative(this.root, file))
        .filter((reference) => !this.exists(reference, file))
        .map((reference) => `${reference.where} ${reference.kind} ${reference.text}`),
    );
  }
}
