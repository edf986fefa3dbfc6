import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CampaignInput } from '@coupons/testing';

const DIST = resolve(__dirname, '../dist/src/cli');
const REPO_ROOT = resolve(__dirname, '../../..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The built CLI as `npm run ledger:init` / `npm run reconcile` runs it, with only these variables. */
export function cli(
  name: 'ledger-init' | 'reconcile',
  args: string[],
  env: Record<string, string>,
): Promise<CliRun> {
  const script = join(DIST, `${name}.js`);
  if (!existsSync(script))
    throw new Error(`${script} is missing: run \`npm run build\` first (npm test does)`);
  return new Promise((done) => {
    execFile(
      process.execPath,
      [script, ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** A campaigns file (CAMPAIGNS_FILE) in a new temporary directory. */
export function campaignsFile(campaigns: CampaignInput[]): string {
  const file = join(mkdtempSync(join(tmpdir(), 'coupon-cli-')), 'campaigns.json');
  writeFileSync(file, JSON.stringify({ campaigns }));
  return file;
}
