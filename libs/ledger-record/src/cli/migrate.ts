import { migrate } from '../migrate';

/**
 * `npm run db:migrate`: applies the book of record's migrations to DATABASE_URL. Safe to run
 * on every deploy (applied ones are skipped; concurrent runs wait for each other).
 */
const url = process.env['DATABASE_URL'];
if (url === undefined || url === '') {
  process.stderr.write('DATABASE_URL is not set (postgresql://user@host:5432/database)\n');
  process.exit(2);
}
migrate(url, (line) => process.stdout.write(`${line}\n`)).then(
  () => process.stdout.write('migrations applied\n'),
  (error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  },
);
