import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describeIfRedis, KEYS, liveCampaign, stackFor, uniqueId } from './serviceHarness';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/**
 * The environment without what ties npm to this workspace and this run (the package, the lifecycle
 * script, `-w`); the registry and cache settings stay.
 */
function outsideEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const tied = /^npm_(package_|lifecycle_|command$|config_(workspaces?|include_workspace_root)$)/i;
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !tied.test(name)));
  return { ...env, ...extra };
}

/** A claim through the installed package, as a chat backend would write it. */
const CLAIM = (load: string) => `${load}
const client = new CouponClient({ baseUrl: process.env.BASE_URL, apiKey: process.env.API_KEY });
client
  .claim({ campaignId: process.env.CAMPAIGN_ID, userId: process.env.USER_ID, intentId: 'm-1' })
  .then(async (outcome) => {
    console.log(JSON.stringify({ outcome, message: claimMessage(outcome, { locale: 'en', timeZone: 'Asia/Shanghai' }) }));
    await client.close();
  });
`;

const TYPES = `import { CouponClient, claimMessage, type ClaimOutcome } from '@coupons/client';
import { ERROR_CODES } from '@coupons/contract';
export const outcome: Promise<ClaimOutcome> = new CouponClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k' })
  .claim({ campaignId: 'c', userId: 'u' });
export const say = async (): Promise<string> =>
  claimMessage(await outcome, { locale: 'en', timeZone: 'UTC' }) + ERROR_CODES.length;
`;

/** Packs the contract and the client, installs both in an empty project in `dir`; its path. */
async function packAndInstall(dir: string): Promise<string> {
  const packed = await run(
    'npm',
    ['pack', '--json', '-w', 'libs/contract', '-w', 'libs/client', '--pack-destination', dir],
    { cwd: ROOT, env: outsideEnv() },
  );
  const tarballs = JSON.parse(packed.stdout) as { filename: string; version: string }[];
  expect(tarballs.map((t) => t.version)).toEqual(['1.0.0', '1.0.0']);
  const project = join(dir, 'chat-backend');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), '{"name":"chat-backend","private":true}\n');
  const install = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'];
  await run('npm', [...install, ...tarballs.map((t) => join(dir, t.filename))], {
    cwd: project,
    env: outsideEnv(),
  });
  return project;
}

/** The types resolve through the exports map from an ES module and a CommonJS module. */
async function typeCheck(project: string): Promise<void> {
  await writeFile(join(project, 'check.mts'), TYPES);
  await writeFile(join(project, 'check.cts'), TYPES);
  const compilerOptions = {
    strict: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({ compilerOptions, files: ['check.mts', 'check.cts'] }),
  );
  await run(process.execPath, [TSC, '-p', '.'], { cwd: project });
}

/** Runs a claim script of the project against the service; what it printed. */
async function claimWith(
  project: string,
  script: string,
  env: Record<string, string>,
): Promise<{ outcome: Record<string, unknown>; message: string }> {
  const { stdout } = await run(process.execPath, [script], {
    cwd: project,
    env: outsideEnv(env),
  });
  return JSON.parse(stdout) as { outcome: Record<string, unknown>; message: string };
}

/**
 * The SDK leaves the repository: `npm pack` makes the tarballs of @coupons/client and the
 * contract it depends on, an empty project outside the workspace installs them (runtime
 * dependencies from the npm cache or the registry), type-checks against them from an ES module
 * and a CommonJS module, and claims a coupon from the running service by `import` and `require`.
 */
describeIfRedis('the packed SDK, installed outside the workspace', () => {
  const campaign = liveCampaign(uniqueId('client-pack'));
  const stack = stackFor([campaign]);
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coupons-sdk-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('installs from its tarballs, type-checks, and claims from ESM and CommonJS', async () => {
    const project = await packAndInstall(dir);
    const installed = JSON.parse(
      await readFile(join(project, 'node_modules/@coupons/client/package.json'), 'utf8'),
    ) as { version: string; dependencies: Record<string, string> };
    expect(installed.version).toBe('1.0.0');
    expect(installed.dependencies['@coupons/contract']).toBe('1.0.0');
    await typeCheck(project);

    await writeFile(
      join(project, 'claim.mjs'),
      CLAIM("import { CouponClient, claimMessage } from '@coupons/client';"),
    );
    await writeFile(
      join(project, 'claim.cjs'),
      CLAIM("const { CouponClient, claimMessage } = require('@coupons/client');"),
    );
    const env = { BASE_URL: stack.pod().base, API_KEY: KEYS.all, CAMPAIGN_ID: campaign.id };
    for (const [script, userId] of [
      ['claim.mjs', 'esm-user'],
      ['claim.cjs', 'cjs-user'],
    ] as const) {
      const { outcome, message } = await claimWith(project, script, { ...env, USER_ID: userId });
      expect(outcome).toMatchObject({
        kind: 'issued',
        attempts: 1,
        coupon: { userId, campaignId: campaign.id },
      });
      expect(message).toMatch(/^Here you go: coupon /);
    }
  }, 120_000);
});
