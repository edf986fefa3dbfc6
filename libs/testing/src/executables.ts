import { findExecutableOnPath, isCi } from '@coupons/redis-local';

/**
 * `describe` for tests that run programs of this machine (redis-server, promtool, prometheus):
 * `executables` maps each program's name to what to tell a person who lacks it. With all of them
 * on PATH the block runs and gets their paths; otherwise it is skipped locally, and under CI=true
 * it fails with the hints (a CI run must not pass by skipping).
 */
export function describeIfExecutables(
  name: string,
  executables: Readonly<Record<string, string>>,
  fn: (paths: Readonly<Record<string, string>>) => void,
): void {
  const paths: Record<string, string> = {};
  const missing: string[] = [];
  for (const [program, hint] of Object.entries(executables)) {
    const path = findExecutableOnPath(program);
    if (path === undefined) missing.push(hint);
    else paths[program] = path;
  }
  if (missing.length === 0) describe(name, () => fn(paths));
  else if (isCi())
    describe(name, () => {
      it(`has ${Object.keys(executables).join(', ')} to run`, () => {
        throw new Error(missing.join('\n'));
      });
    });
  else describe.skip(`${name} (${missing.join(' ')})`, () => fn(paths));
}
