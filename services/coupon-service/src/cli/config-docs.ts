import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withTable } from '@coupons/runtime';
import { serviceEnvTables } from '../config/envDocs';

/**
 * `npm run docs:config`: rewrites the variable tables of docs/configuration.md from the
 * service's environment schema (defaults) and SERVICE_ENV_DOCS (meanings); the test
 * configDocs.test.ts fails when they drift.
 */
const file = resolve(process.cwd(), 'docs/configuration.md');
let markdown = readFileSync(file, 'utf8');
for (const [section, table] of Object.entries(serviceEnvTables()))
  markdown = withTable(markdown, section, table);
writeFileSync(file, markdown);
process.stdout.write(`${file}: tables rewritten\n`);
