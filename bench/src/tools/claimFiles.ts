/* eslint-disable no-console -- a measuring tool that prints for people */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startRedisServer } from '@coupons/redis-local';
import { until } from '@coupons/testing';
import { claimRequests, launchFor, REPO_ROOT } from '../catalog';
import { startServer } from '../processes';
import { prepareService } from '../serviceSetup';

/**
 * Which of the project's own source files one claim runs code in (the claim walk's file count,
 * docs/architecture.md): the built service as the bench starts it, on a private redis-server,
 * two claims to warm it, then V8's precise coverage around one more claim. Timers that fire in
 * that window (the event loop guard's sample, the clock's re-read) count too, so a figure may
 * include one or two files that are not the claim's.
 * Usage: node bench/dist/src/tools/claimFiles.js [--functions]
 */
async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'claim-files-'));
  const redis = await startRedisServer();
  const setup = prepareService(dir);
  const out = join(dir, 'coverage.json');
  const server = await startServer(
    launchFor(
      'service',
      { redisUrl: redis.url, dir, service: setup },
      {
        env: { CLAIM_FILES_OUT: out },
        nodeArgs: ['--require', join(__dirname, 'coveragePreload.js')],
      },
    ),
  );
  try {
    const requests = claimRequests(setup)('walk');
    const claim = async (i: number) => {
      const spec = requests(i);
      const res = await fetch(`${server.baseUrl}${spec.path}`, {
        method: spec.method,
        headers: spec.headers,
        body: spec.body,
      });
      return `${res.status} ${await res.text()}`;
    };
    await claim(1);
    await claim(2);
    const signalled = (file: string) => () => (existsSync(file) ? true : undefined);
    process.kill(server.pid, 'SIGUSR2');
    await until('the coverage started', signalled(`${out}.started`), 5000);
    const answer = await claim(3);
    process.kill(server.pid, 'SIGUSR2');
    await until('the coverage written', signalled(out), 5000);
    const ran = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string[]>;
    report(answer, ran, process.argv.includes('--functions'));
  } finally {
    await server.stop();
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

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
