import { execFile } from 'node:child_process';

/** What to tell someone whose machine has no promtool. */
export const PROMTOOL_INSTALL_HINT =
  "promtool is not on PATH: install Debian's prometheus package (`apt-get install prometheus`, " +
  'which brings promtool) or put the promtool of a Prometheus release on PATH.';

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
