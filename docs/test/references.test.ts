import { mkdtempSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referencesIn, RepositoryIndex } from './references';

const ROOT = join(__dirname, '..', '..');

/** Every markdown document a user or a maintainer reads. */
function documents(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join(root, 'docs', name));
  const packageReadmes = ['libs', 'services', 'loadtests', 'k8s', 'examples']
    .flatMap((top) => readdirSync(join(root, top)).map((name) => join(root, top, name)))
    // A changelog names what was, by design: not checked.
    .flatMap((dir) => ['README.md'].map((file) => join(dir, file)))
    .filter((file) => {
      try {
        return readdirSync(join(file, '..')).includes(file.split('/').pop()!);
      } catch {
        return false;
      }
    });
  return [join(root, 'README.md'), ...docs, ...packageReadmes];
}

describe('the documents name only what exists', () => {
  const index = new RepositoryIndex(ROOT);

  it('every file, npm script, metric, variable and code the docs name is in the repository', () => {
    expect(index.missing(documents(ROOT))).toEqual([]);
  });
});

describe('what the check reads in a document', () => {
  it('finds paths (without :line), npm scripts, metrics (series reduced to the metric) and names', () => {
    const found = referencesIn(
      [
        'See `libs/x/src/y.ts:12` and [money](money.md#fence).',
        'Run `npm run bench -- --quick`; watch `rate(coupon_claim_seconds_bucket[5m])`.',
        'Set `LOG_LEVEL=warn`; a refusal is `TRANCHE_EXHAUSTED`; `src/*.ts` is a pattern.',
      ].join('\n'),
      'docs/a.md',
    );
    expect(found.map(({ kind, text }) => `${kind} ${text}`).sort()).toEqual([
      'file libs/x/src/y.ts',
      'file money.md',
      'metric coupon_claim_seconds',
      'name LOG_LEVEL',
      'name TRANCHE_EXHAUSTED',
      'npm script bench',
    ]);
  });

  it('reports what a fake repository lacks and nothing it has', () => {
    const root = mkdtempSync(join(tmpdir(), 'docs-check-'));
    mkdirSync(join(root, 'libs', 'a', 'src'), { recursive: true });
    mkdirSync(join(root, 'docs'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ scripts: { start: 'node x' } }));
    writeFileSync(
      join(root, 'libs', 'a', 'src', 'metrics.ts'),
      "new Counter({ name: 'coupon_seen_total' }); process.env.SEEN_VAR;",
    );
    const doc = join(root, 'docs', 'a.md');
    writeFileSync(
      doc,
      [
        '`libs/a/src/metrics.ts` `libs/a/src/gone.ts` `npm run start` `npm run gone`',
        '`coupon_seen_total` `coupon_gone_total` `SEEN_VAR` `GONE_VAR`',
      ].join('\n'),
    );
    expect(new RepositoryIndex(root).missing([doc])).toEqual([
      'docs/a.md:1 npm script gone',
      'docs/a.md:1 file libs/a/src/gone.ts',
      'docs/a.md:2 metric coupon_gone_total',
      'docs/a.md:2 name GONE_VAR',
    ]);
  });
});
