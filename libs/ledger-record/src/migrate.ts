import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RecordFault } from './fault';

/** The SQL migrations sit in the package's migrations/ beside src/ (and beside dist/). */
export function migrationsDir(): string {
  const candidates = [
    join(__dirname, '..', 'migrations'),
    join(__dirname, '..', '..', 'migrations'),
  ];
  const found = candidates.find((dir) => existsSync(dir));
  if (found === undefined)
    throw new RecordFault('database', `migrations not found in ${candidates.join(' or ')}`);
  return found;
}

/** The table node-pg-migrate keeps the applied migrations in. */
export const MIGRATIONS_TABLE = 'pgmigrations';

/**
 * Every migration not applied yet, up, in order, each in its own transaction; waits for the
 * advisory lock when another process migrates the same database (two deploys at once), so it
 * is safe to run from every deploy.
 */
function runnerOptions(databaseUrl: string) {
  return {
    databaseUrl,
    dir: migrationsDir(),
    migrationsTable: MIGRATIONS_TABLE,
    direction: 'up' as const,
    count: Infinity,
    checkOrder: true,
    advisoryLockMode: 'wait' as const,
  };
}

/**
 * Applies the migrations with node-pg-migrate's runner. node-pg-migrate 9 is an ES module: this
 * CommonJS package loads it with a real import() (kept by TypeScript's node16 module setting).
 * Jest's module loader cannot load ES modules from CommonJS on Node 20, so under jest the same
 * runner call runs in a child node process instead (same options, same migrations).
 */
export async function migrate(
  databaseUrl: string,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  try {
    if (process.env['JEST_WORKER_ID'] !== undefined) {
      await migrateInChild(databaseUrl);
      return;
    }
    const { runner } = await import('node-pg-migrate');
    await runner({ ...runnerOptions(databaseUrl), log });
  } catch (error) {
    throw new RecordFault('database', `migration failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function migrateInChild(databaseUrl: string): Promise<void> {
  const options = { ...runnerOptions(databaseUrl), count: null };
  const script = `
    const { runner } = await import('node-pg-migrate');
    const options = JSON.parse(process.env.LEDGER_RECORD_MIGRATE);
    await runner({ ...options, count: Infinity, log: () => {} });`;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: __dirname,
    env: { ...process.env, LEDGER_RECORD_MIGRATE: JSON.stringify(options) },
    timeout: 60_000,
  });
}
