import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { isCi } from '@coupons/redis-local';
import { Client } from 'pg';

/** Overrides the PostgreSQL server tests use (host, port, user; its database name is ignored). */
export const TEST_DATABASE_URL_ENV = 'TEST_DATABASE_URL';
const DEFAULT_SERVER = 'postgresql://postgres@127.0.0.1:5432/template1';

/**
 * Databases other people use on a shared machine: a test never connects to them, let alone
 * writes. Administration (CREATE/DROP DATABASE) goes through template1, whose contents it never
 * touches (a private database is copied from template0).
 */
const SHARED_DATABASES = new Set(['test', 'root', 'postgres']);

const POSTGRES_HINT =
  'PostgreSQL is not answering: start it (Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, after apt-get install postgresql) or point TEST_DATABASE_URL at a server';

/** The server as a URL to its maintenance database (template1). */
export function testPostgresServerUrl(): URL {
  const url = new URL(process.env[TEST_DATABASE_URL_ENV] || DEFAULT_SERVER);
  url.pathname = '/template1';
  return url;
}

/** The URL of database `name` on the test server; the shared ones are refused. */
export function testDatabaseUrl(name: string): string {
  if (SHARED_DATABASES.has(name)) throw new Error(`tests never use the shared database ${name}`);
  const url = testPostgresServerUrl();
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Whether the server accepts TCP connections, decided synchronously (describe blocks are declared
 * synchronously): a child node process tries for up to a second, once per test file.
 */
let answers: boolean | undefined;
function postgresAnswers(): boolean {
  answers ??= probePostgres();
  return answers;
}

function probePostgres(): boolean {
  const url = testPostgresServerUrl();
  const probe = `const s=require('node:net').connect(${Number(url.port || 5432)},${JSON.stringify(url.hostname)});s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(1),1000);`;
  return spawnSync(process.execPath, ['-e', probe], { timeout: 3000 }).status === 0;
}

/**
 * `describe` for tests that need PostgreSQL (the machine's, or TEST_DATABASE_URL's): runs when it
 * answers; otherwise skipped locally and, under CI=true, one failing test says why (a CI run must
 * not pass by skipping), as describeIfExecutables does for programs.
 */
export function describeIfPostgres(name: string, fn: () => void): void {
  if (postgresAnswers()) describe(name, fn);
  else if (isCi())
    describe(name, () => {
      it('has a PostgreSQL to run against', () => {
        throw new Error(POSTGRES_HINT);
      });
    });
  else describe.skip(`${name} (${POSTGRES_HINT})`, fn);
}

export interface PrivateDatabase {
  /** The private database's URL. */
  readonly url: string;
  readonly name: string;
}

async function admin<T>(body: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: testPostgresServerUrl().toString() });
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end();
  }
}

/** Creates a database of this test's own, `coupons_test_<16 hex>`, empty (from template0). */
export async function createPrivateDatabase(): Promise<PrivateDatabase> {
  const name = `coupons_test_${randomBytes(8).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name} TEMPLATE template0`));
  return { name, url: testDatabaseUrl(name) };
}

/** Drops a database createPrivateDatabase made (and only such: the name is checked). */
export async function dropPrivateDatabase(name: string): Promise<void> {
  if (!/^coupons_test_[0-9a-f]{16}$/.test(name))
    throw new Error(`not a private test database: ${name}`);
  await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/**
 * A private database for this describe block: created and migrated (by `migrate`, e.g.
 * @coupons/ledger-record's) before its tests, dropped after them.
 */
export function usePrivateDatabase(
  migrate: (databaseUrl: string) => Promise<void>,
): PrivateDatabase {
  let database: PrivateDatabase | undefined;
  beforeAll(async () => {
    database = await createPrivateDatabase();
    await migrate(database.url);
  }, 60_000);
  afterAll(async () => {
    if (database !== undefined) await dropPrivateDatabase(database.name);
  });
  const current = (): PrivateDatabase => {
    if (database === undefined) throw new Error('usePrivateDatabase: used outside a test');
    return database;
  };
  return {
    get url() {
      return current().url;
    },
    get name() {
      return current().name;
    },
  };
}

/**
 * usePrivateDatabase and one client of it for the block's tests: `open` makes it before them and
 * hands it to `opened`; it is closed after them.
 */
export function usePrivateDatabaseClient<C extends { close(): unknown }>(
  migrate: (databaseUrl: string) => Promise<void>,
  open: (databaseUrl: string) => C,
  opened: (client: C) => void,
): PrivateDatabase {
  const database = usePrivateDatabase(migrate);
  let client: C | undefined;
  beforeAll(() => {
    client = open(database.url);
    opened(client);
  });
  afterAll(async () => {
    await client?.close();
  });
  return database;
}
