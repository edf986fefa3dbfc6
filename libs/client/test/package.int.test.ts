import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  describeIfRedis,
  KEYS,
  liveCampaign,
  startPod,
  uniqueId,
  type TestService,
} from './serviceHarness';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../../..');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

/** The environment without npm's own variables, so the project outside is not the workspace. */
function outsideEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)),
  );
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

/**
 * The SDK leaves the repository: `npm pack` makes the tarballs of @coupons/client and the
 * contract it depends on, an empty project outside the workspace installs them (runtime
 * dependencies from the npm cache or the registry), type-checks against them from an ES module
 * and a CommonJS module, and claims a coupon from the running service by `import` and `require`.
 */
describeIfRedis('the packed SDK, installed outside the workspace', () => {
  const campaign = liveCampaign(uniqueId('client-pack'));
  let service: TestService;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'coupons-sdk-'));
    service = await startPod([campaign]);
  });
  afterAll(async () => {
    await service.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('installs from its tarballs, type-checks, and claims from ESM and CommonJS', async () => {
    const packed = await run(
      'npm',
      ['pack', '--json', '-w', 'libs/contract', '-w', 'libs/client', '--pack-destination', dir],
      { cwd: ROOT, env: outsideEnv() },
    );
    const tarballs = (JSON.parse(packed.stdout) as { filename: string; version: string }[]).map(
      (p) => ({ file: join(dir, p.filename), version: p.version }),
    );
    expect(tarballs.map((t) => t.version)).toEqual(['1.0.0', '1.0.0']);

    const project = join(dir, 'chat-backend');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), '{"name":"chat-backend","private":true}\n');
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        ...tarballs.map((t) => t.file),
      ],
      { cwd: project, env: outsideEnv() },
    );
    const installed = JSON.parse(
      await readFile(join(project, 'node_modules/@coupons/client/package.json'), 'utf8'),
    ) as { version: string; dependencies: Record<string, string> };
    expect(installed.version).toBe('1.0.0');
    expect(installed.dependencies['@coupons/contract']).toBe('1.0.0');

    // The types resolve through the exports map from either module kind.
    await writeFile(join(project, 'check.mts'), TYPES);
    await writeFile(join(project, 'check.cts'), TYPES);
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['check.mts', 'check.cts'],
      }),
    );
    await run(process.execPath, [TSC, '-p', '.'], { cwd: project });

    await writeFile(
      join(project, 'claim.mjs'),
      CLAIM("import { CouponClient, claimMessage } from '@coupons/client';"),
    );
    await writeFile(
      join(project, 'claim.cjs'),
      CLAIM("const { CouponClient, claimMessage } = require('@coupons/client');"),
    );
    for (const [script, userId] of [
      ['claim.mjs', 'esm-user'],
      ['claim.cjs', 'cjs-user'],
    ] as const) {
      const { stdout } = await run(process.execPath, [script], {
        cwd: project,
        env: outsideEnv({
          BASE_URL: service.base,
          API_KEY: KEYS.all,
          CAMPAIGN_ID: campaign.id,
          USER_ID: userId,
        }),
      });
      const { outcome, message } = JSON.parse(stdout) as {
        outcome: { kind: string; coupon: { userId: string; campaignId: string } };
        message: string;
      };
      expect(outcome).toMatchObject({
        kind: 'issued',
        attempts: 1,
        coupon: { userId, campaignId: campaign.id },
      });
      expect(message).toMatch(/^Here you go: coupon /);
    }
  }, 120_000);
});
