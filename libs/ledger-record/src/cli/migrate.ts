import { readFileSync } from 'node:fs';
import { migrate } from '../migrate';

/**
 * `npm run db:migrate`: applies the book of record's migrations to DATABASE_URL (or the URL in
 * the file DATABASE_URL_FILE names: a mounted secret). Safe to run on every deploy (applied ones
 * are skipped; concurrent runs wait for each other).
 */
function databaseUrl(): string | undefined {
  const file = process.env['DATABASE_URL_FILE'];
  if (file !== undefined && file !== '') {
    try {
      return readFileSync(file, 'utf8').trim() || undefined;
    } catch {
      process.stderr.write(`DATABASE_URL_FILE: cannot read ${file}\n`);
      process.exit(2);
    }
  }
  return process.env['DATABASE_URL'] || undefined;
}

const url = databaseUrl();
if (url === undefined) {
  process.stderr.write(
    'DATABASE_URL (or DATABASE_URL_FILE) is not set (postgresql://user@host:5432/database)\n',
  );
  process.exit(2);
}
migrate(url, (line) => process.stdout.write(`${line}\n`)).then(
  () => process.stdout.write('migrations applied\n'),
  (error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  },
);
