import { randomBytes } from 'node:crypto';
import { CouponClient, CouponClientError } from '@coupons/client';
import { playChat } from './chat';

export const DEFAULTS = {
  baseUrl: 'http://127.0.0.1:8080',
  campaignId: 'spring-festival-2027',
} as const;

export const MISSING_KEY = `API_KEY is not set. Start the coupon service in another terminal:

  npm start

It prints a line "development API key (all scopes, this run only): dev_…". Then:

  API_KEY=dev_… npm run example:chat

BASE_URL defaults to ${DEFAULTS.baseUrl}, CAMPAIGN_ID to ${DEFAULTS.campaignId}.
`;

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** The example's whole run; resolves to the process exit code. */
export async function main(env: NodeJS.ProcessEnv, io: Io): Promise<number> {
  const apiKey = env.API_KEY;
  if (apiKey === undefined || apiKey === '') {
    io.stderr(MISSING_KEY);
    return 2;
  }
  const baseUrl = env.BASE_URL ?? DEFAULTS.baseUrl;
  const campaignId = env.CAMPAIGN_ID ?? DEFAULTS.campaignId;
  io.stdout(`chat backend example against ${baseUrl}\n`);
  const client = new CouponClient({
    baseUrl,
    apiKey,
    idempotencyNamespace: 'example-chat-backend',
  });
  try {
    const ok = await playChat({
      client,
      campaignId,
      runId: randomBytes(3).toString('hex'),
      out: (line) => io.stdout(`${line}\n`),
    });
    return ok ? 0 : 1;
  } catch (err) {
    if (!(err instanceof CouponClientError)) throw err;
    const hint =
      err.code === 'UNAUTHENTICATED'
        ? ' (is API_KEY the key this run of npm start printed?)'
        : err.code === 'CAMPAIGN_NOT_FOUND'
          ? ` (set CAMPAIGN_ID to a campaign in config/campaigns.json)`
          : '';
    io.stderr(`${err.code}: ${err.message}${hint}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  main(process.env, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
