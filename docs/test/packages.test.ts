import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * `npm test` runs every package's own test script (`npm run test --workspaces --if-present`): a
 * package with tests but no script would have them silently left out.
 */
describe('every package with tests is tested by npm test', () => {
  const { workspaces } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };

  it('has a test script that runs its own folder', () => {
    const missing = workspaces
      .filter((dir) => existsSync(join(ROOT, dir, 'test')))
      .filter((dir) => {
        const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as {
          scripts?: Record<string, string>;
        };
        return !(pkg.scripts?.test ?? '').includes(`${dir}/`);
      });
    expect(missing).toEqual([]);
  });
});
