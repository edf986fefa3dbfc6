/* eslint-disable no-console -- a measuring tool that prints for people */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startRedisServer } from '@coupons/redis-local';
import { REPO_ROOT } from '../catalog';
import { prepareService } from '../serviceSetup';

const SERVICE_MAIN = join(REPO_ROOT, 'services', 'coupon-service', 'dist', 'src', 'main.js');

/**
 * Which of the project's own source files one claim runs code in (the claim walk's file count,
 * docs/architecture.md): the built service with a private redis-server, two claims to warm it,
 * then V8's precise coverage around one more claim. Timers that fire in that window (the event
 * loop guard's sample, the clock's re-read) count too, so a figure may include one or two files
 * that are not the claim's. Usage: node bench/dist/src/tools/claimFiles.js [--functions]
 */
async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'claim-files-'));
  const redis = await startRedisServer();
  const setup = prepareService(dir);
  const out = join(dir, 'coverage.json');
  const child = spawn(
    process.execPath,
    ['--require', join(__dirname, 'coveragePreload.js'), SERVICE_MAIN],
    {
      env: {
        ...setup.env,
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        REDIS_URL: redis.url,
        PORT: '0',
        LOG_LEVEL: 'warn',
        CLAIM_FILES_OUT: out,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  try {
    const base = await readyUrl(child);
    const claim = (i: number) =>
      fetch(`${base}/v1/campaigns/${setup.campaignId}/coupons`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${setup.apiKey}`,
          'content-type': 'application/json',
          'idempotency-key': `walk-${i}`,
          'x-user-id': `walker-${i}`,
        },
        body: JSON.stringify({ userId: `walker-${i}` }),
      }).then(async (res) => `${res.status} ${await res.text()}`);
    await claim(1);
    await claim(2);
    child.kill('SIGUSR2');
    await until(() => existsSync(`${out}.started`));
    const answer = await claim(3);
    child.kill('SIGUSR2');
    await until(() => existsSync(out));
    const ran = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string[]>;
    report(answer, ran, process.argv.includes('--functions'));
  } finally {
    child.kill('SIGTERM');
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(answer: string, ran: Record<string, string[]>, functions: boolean): void {
  const own = Object.entries(ran)
    .map(([url, names]) => [relative(REPO_ROOT, url.replace(/^file:\/\//, '')), names] as const)
    .filter(([path]) => /^(services|libs)\//.test(path) && !path.includes('node_modules'))
    // A package's index only re-exports: its getters run, it holds nothing of the claim.
    .filter(([path]) => !/\/dist\/src\/index\.js$/.test(path))
    .sort(([a], [b]) => a.localeCompare(b));
  console.log(`claim answered: ${answer.slice(0, 60)}`);
  const packages = new Set(own.map(([path]) => path.split('/').slice(0, 2).join('/')));
  console.log(`project files one claim ran code in: ${own.length}, in ${packages.size} packages`);
  for (const [path, names] of own)
    console.log(
      `  ${path.replace('/dist/src/', '/src/').replace(/\.js$/, '.ts')}${functions ? `: ${names.join(', ')}` : ''}`,
    );
}

function readyUrl(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /ready on (http:\/\/[^\s]+) /.exec(text);
      if (match !== null) resolve(match[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`the service exited (${code}): ${text}`)));
  });
}

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!done()) throw new Error('the service did not answer the coverage signal in 5 s');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
