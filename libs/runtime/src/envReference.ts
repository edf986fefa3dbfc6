import { z } from 'zod';
import type { runtimeEnvShape } from './config';

/** What a person reads about one variable; its default comes from the schema unless given. */
export interface EnvDoc {
  readonly meaning: string;
  /** Shown instead of the schema's default (a default applied later, or "off" for clarity). */
  readonly default?: string;
  /** The table it is listed in, when a document splits them. */
  readonly group?: string;
}

/** One entry per variable of a schema's shape: a variable without a meaning does not compile. */
export type EnvDocs<Shape> = { readonly [Name in keyof Shape]: EnvDoc };

export interface EnvReferenceRow {
  readonly name: string;
  readonly default: string;
  readonly meaning: string;
  readonly group: string | undefined;
}

export const RUNTIME_ENV_DOCS: EnvDocs<typeof runtimeEnvShape> = {
  NODE_ENV: {
    meaning:
      'exactly `production`, `development` or `test` (anything else is refused); production refuses to start without API keys, never makes a development key, never auto-initialises and never starts its own Redis',
  },
  HOST: { meaning: 'listen address of both ports' },
  METRICS_HOST: { meaning: 'listen address of the metrics port (internal only)', default: 'HOST' },
  REDIS_URL: {
    meaning: 'a single Redis (a password in it is never printed)',
    default: '`redis://127.0.0.1:6379`',
  },
  REDIS_CLUSTER_NODES: {
    meaning: '`host:port,host:port` of a Redis Cluster (instead of `REDIS_URL`)',
  },
  REDIS_PASSWORD_FILE: {
    meaning:
      "a file (a mounted Secret) holding Redis's password: AUTH on every connection, every cluster node",
  },
  REDIS_TLS_CA_FILE: {
    meaning:
      "a file (a mounted Secret) holding the CA of Redis's TLS certificate: TLS on every connection, verified against it",
  },
  REDIS_COMMAND_TIMEOUT_MS: {
    meaning: 'a Redis command that takes longer fails (closed, for money)',
  },
  CAMPAIGNS_FILE: { meaning: 'campaigns (relative to the working directory)' },
  LOG_LEVEL: { meaning: 'pino level' },
  SHUTDOWN_GRACE_MS: { meaning: 'how long in-flight requests get after SIGTERM' },
};

/** The schema's variables in its order, each with its default (the schema's) and its meaning. */
export function envReference(
  schema: z.ZodObject,
  docs: Readonly<Record<string, EnvDoc>>,
): EnvReferenceRow[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const doc = docs[name];
    if (doc === undefined) throw new Error(`${name}: no meaning documented`);
    return {
      name,
      default: doc.default ?? defaultOf(field as z.ZodType),
      meaning: doc.meaning,
      group: doc.group,
    };
  });
}

function defaultOf(field: z.ZodType): string {
  const def = field._zod.def as { type: string; defaultValue?: unknown };
  if ((def.type === 'default' || def.type === 'prefault') && def.defaultValue !== undefined)
    return `\`${String(def.defaultValue)}\``;
  return '–';
}

/** A markdown table of the rows (prettier pads it; readers compare cells, not spaces). */
export function envTable(rows: readonly EnvReferenceRow[]): string {
  return [
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    ...rows.map((row) => `| \`${row.name}\` | ${row.default} | ${row.meaning} |`),
  ].join('\n');
}

/** The cells of every row of the table between `<!-- name -->` and `<!-- /name -->`. */
export function sectionCells(markdown: string, name: string): string[][] {
  const start = markdown.indexOf(`<!-- ${name} -->`);
  const end = markdown.indexOf(`<!-- /${name} -->`);
  if (start === -1 || end < start) throw new Error(`no section <!-- ${name} --> in the document`);
  return tableCells(markdown.slice(start, end));
}

/** The cells of every variable's row of a markdown table, however it is padded. */
export function tableCells(table: string): string[][] {
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

/** The document with the table between the markers replaced by `table`. */
export function withTable(markdown: string, name: string, table: string): string {
  const open = `<!-- ${name} -->`;
  const close = `<!-- /${name} -->`;
  const start = markdown.indexOf(open);
  const end = markdown.indexOf(close);
  if (start === -1 || end < start) throw new Error(`no section ${open} in the document`);
  return `${markdown.slice(0, start + open.length)}\n\n${table}\n\n${markdown.slice(end)}`;
}
