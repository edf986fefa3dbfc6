import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import { ERRORS, errorBodySchema, type ErrorCode } from './errors';
import { HEADERS } from './headers';
import { readinessSchema } from './outputs';
import { CONTRACT_ROUTES, type ContractRoute } from './routes';

/** `/v1/campaigns/:campaignId` as OpenAPI writes it: `/v1/campaigns/{campaignId}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:(\w+)/g, '{$1}');
}

const RETRY_AFTER = {
  description:
    'whole seconds, at least 1, jittered: on every 429 and 503, and on 409s that point at a moment. No request before it',
  schema: { type: 'integer' as const, minimum: 1, example: 2 },
};

function errorExample(code: ErrorCode): Record<string, unknown> {
  const { class: kind, meaning } = ERRORS[code];
  const error: Record<string, unknown> = { code, message: meaning };
  if (kind !== 'final') error['retryAfterSeconds'] = kind === 'timed' ? 1812 : 2;
  if (code === 'TRANCHE_EXHAUSTED') error['nextReleaseAt'] = '2026-02-10T13:00:00+08:00';
  if (code === 'CAMPAIGN_NOT_STARTED') error['startsAt'] = '2027-01-28T00:00:00+08:00';
  if (code === 'USER_LIMIT_REACHED') {
    error['limit'] = 'daily';
    error['retryAt'] = '2026-02-11T00:00:00+08:00';
  }
  if (code === 'INVALID_REQUEST') error['details'] = [{ field: 'userId', problem: 'is required' }];
  return { error };
}

function errorResponses(route: ContractRoute): Record<number, ResponseConfig> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of route.errors) {
    const { status } = ERRORS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, ResponseConfig> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const timedOrRetryable = codes.some((code) => ERRORS[code].class !== 'final');
    responses[status] = {
      description: codes
        .map((code) => `${code} (${ERRORS[code].class}): ${ERRORS[code].meaning}`)
        .join('; '),
      ...(timedOrRetryable ? { headers: { [HEADERS.retryAfter]: RETRY_AFTER } } : {}),
      content: {
        'application/json': {
          schema: errorBodySchema,
          examples: Object.fromEntries(codes.map((code) => [code, { value: errorExample(code) }])),
        },
      },
    };
  }
  return responses;
}

function routeConfig(route: ContractRoute, bearer: string): RouteConfig {
  const { success } = route;
  const responses: Record<number, ResponseConfig> = {
    [success.status]: {
      description: success.description,
      ...(success.replays === true
        ? {
            headers: {
              [HEADERS.idempotentReplayed]: {
                description: '`true` when this answer repeats an earlier success',
                schema: { type: 'string', enum: ['true'] },
              },
            },
          }
        : {}),
      content: { 'application/json': { schema: success.schema } },
    },
    ...errorResponses(route),
  };
  if (route.name === 'ready')
    responses[503] = {
      description: 'not ready: Redis unreachable, no campaigns, or draining',
      content: { 'application/json': { schema: readinessSchema } },
    };
  const scope =
    route.access === 'public'
      ? 'No API key needed.'
      : `Needs an API key with scope \`${route.access}\`.`;
  return {
    method: route.method.toLowerCase() as RouteConfig['method'],
    path: openApiPath(route.path),
    operationId: route.name,
    summary: route.summary,
    description: `${route.description}\n\n${scope}`,
    security: route.access === 'public' ? [] : [{ [bearer]: [] }],
    request: {
      ...(route.params === undefined ? {} : { params: route.params }),
      ...(route.query === undefined ? {} : { query: route.query }),
      ...(route.headers === undefined ? {} : { headers: route.headers }),
      ...(route.body === undefined
        ? {}
        : { body: { required: true, content: { 'application/json': { schema: route.body } } } }),
    },
    responses,
  };
}

/** The contract as an OpenAPI 3.1 document. */
export function buildOpenApiDocument(
  version: string,
): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description:
      'Authorization: Bearer <API key>, once. Keys carry scopes; a missing scope is 403.',
  });
  for (const route of CONTRACT_ROUTES) registry.registerPath(routeConfig(route, bearer.name));
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Coupon issuance service',
      version,
      description:
        "Claims coupons from a campaign budget released in daily tranches, redeems them against orders, and sheds load it cannot serve with answers a caller can act on (Retry-After). Every amount is whole fen (CNY 0.01); every time is ISO-8601 with the campaign's offset. Any route answers 404 NOT_FOUND for a path it does not know and 405 METHOD_NOT_ALLOWED (with Allow) for a method it does not take; a request without a valid key gets 401 before either. An Expect header other than 100-continue is answered 417 EXPECTATION_FAILED; 100 Continue is sent once the key, its scope and admission let the request in.",
    },
    security: [{ [bearer.name]: [] }],
  });
}
