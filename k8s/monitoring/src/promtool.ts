import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** What to tell someone whose machine has no promtool. */
export const PROMTOOL_INSTALL_HINT =
  "promtool is not on PATH: install Debian's prometheus package (`apt-get install prometheus`, " +
  'which brings promtool) or put the promtool of a Prometheus release on PATH.';

/** CI runs with CI=true: a check that cannot run there fails instead of being skipped. */
export { isCi } from '@coupons/redis-local';

/** promtool on PATH (absolute entries only), or undefined. */
export function findPromtool(pathEnv: string = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, 'promtool');
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface PromtoolResult {
  code: number;
  /** stdout and stderr together, as promtool printed them. */
  output: string;
}

/** Runs promtool with `args` in `cwd`; never rejects for a non-zero exit. */
export function runPromtool(
  promtool: string,
  args: string[],
  cwd: string,
): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    execFile(promtool, args, { cwd, timeout: 120_000 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error === null) resolve({ code: 0, output });
      else if (typeof error.code === 'number') resolve({ code: error.code, output });
      else reject(new Error(`promtool ${args.join(' ')} did not run: ${error.message}\n${output}`));
    });
  });
}
