import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CampaignInput } from '@coupons/testing';
import type { Cluster, Redis } from 'ioredis';
import { redisEnv, testRedisClient, type RedisMode } from './support';

const DIST = resolve(__dirname, '../dist/src/cli');
const REPO_ROOT = resolve(__dirname, '../../..');
/** The service's built entry point, as `npm start` and the image run it. */
export const MAIN = resolve(__dirname, '../dist/src/main.js');

export interface Started {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

/**
 * A built program (the service's or the recorder's main.js) as a process, with only these
 * variables (`undefined` unsets one; NODE_ENV is development unless given, since unset means
 * production), its output kept.
 */
export function runBuilt(main: string, env: Record<string, string | undefined>): Started {
  if (!existsSync(main))
    throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  const child = spawn(process.execPath, [main], {
    cwd: REPO_ROOT,
    env: Object.fromEntries(
      Object.entries({
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        NODE_ENV: 'development',
        ...env,
      }).filter(([, value]) => value !== undefined),
    ),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, stderr: () => stderr, stdout: () => stdout, exited };
}

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

/**
 * The CLIs on the harness Redis of `mode`, for a describeEachRedisMode block: the variables that
 * point them at it and at a campaigns file of `campaigns`; and a client of that Redis for the
 * block's tests, handed to `connected` and closed after them.
 */
export function useCliOnRedis(
  mode: RedisMode,
  campaigns: CampaignInput[],
  connected: (redis: Redis | Cluster) => void,
): Record<string, string> {
  let redis: Redis | Cluster | undefined;
  beforeAll(() => {
    redis = testRedisClient(mode);
    connected(redis);
  });
  afterAll(async () => {
    await redis?.quit();
  });
  return { CAMPAIGNS_FILE: campaignsFile(campaigns), ...redisEnv(mode) };
}
