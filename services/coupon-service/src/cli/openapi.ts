import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOpenApiDocument } from '@coupons/contract';
import { serviceVersion } from '../service';

/**
 * npm run openapi: writes docs/openapi.json, the document GET /openapi.json serves. A test fails
 * when the committed file and the contract drift apart.
 */
export function openApiJson(): string {
  return `${JSON.stringify(buildOpenApiDocument(serviceVersion()), null, 2)}\n`;
}

if (require.main === module) {
  const file = join(__dirname, '..', '..', '..', '..', '..', 'docs', 'openapi.json');
  writeFileSync(file, openApiJson());
  process.stdout.write(`wrote ${file}\n`);
}
