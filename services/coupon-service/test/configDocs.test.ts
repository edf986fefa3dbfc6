import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sectionCells, tableCells } from '@coupons/runtime';
import { ENV_NAMES } from '../src';
import { serviceEnvTables } from '../src/config/envDocs';

const doc = () => readFileSync(resolve(__dirname, '../../../docs/configuration.md'), 'utf8');

describe('docs/configuration.md', () => {
  it('lists every variable the service reads, with the default and meaning the code has (npm run docs:config)', () => {
    const markdown = doc();
    for (const [section, table] of Object.entries(serviceEnvTables()))
      expect({ section, rows: sectionCells(markdown, section) }).toEqual({
        section,
        rows: tableCells(table),
      });
    const listed = Object.keys(serviceEnvTables()).flatMap((section) =>
      sectionCells(markdown, section).map((cells) => cells[0]),
    );
    expect(listed.sort()).toEqual(ENV_NAMES.map((name) => `\`${name}\``).sort());
  });
});
