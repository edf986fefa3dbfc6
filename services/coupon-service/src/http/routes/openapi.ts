import type { RequestHandler } from 'express';
import { buildOpenApiDocument } from '@coupons/contract';

/** GET /openapi.json: the contract as OpenAPI 3.1, built once, on first ask. */
export function openApiHandler(version: string): RequestHandler {
  let document: Buffer | undefined;
  return (_req, res) => {
    document ??= Buffer.from(JSON.stringify(buildOpenApiDocument(version)));
    res.type('application/json').send(document);
  };
}
