import type { Priority } from '@coupons/admission';
import { match, type MatchFunction } from 'path-to-regexp';
import { CONTRACT_ROUTES, type ContractRoute, type RouteName } from '@coupons/contract';

export type { RouteName } from '@coupons/contract';

export interface RouteSpec {
  readonly name: RouteName;
  readonly method: ContractRoute['method'];
  /** An express path: the same string the front door matches and express routes by. */
  readonly path: string;
  /** `public`: no key (the probes, the OpenAPI document); otherwise the scope the key needs. */
  readonly access: ContractRoute['access'];
  /** Admission priority; public routes are never shed. */
  readonly priority: Priority;
  /** Only these routes read a body (after the key and its scope were checked). */
  readonly body: boolean;
}

/** Who goes first when a pod is short of capacity: a purchase waits on a redemption. */
const PRIORITY: Readonly<Record<RouteName, Priority>> = {
  health: 'read',
  ready: 'read',
  openapi: 'read',
  campaign: 'read',
  budget: 'read',
  claim: 'claim',
  readCoupon: 'read',
  redeem: 'redeem',
  reverse: 'redeem',
};

/** Every route the service serves: the contract's, with how admission ranks each. */
export const ROUTES: readonly RouteSpec[] = Object.freeze(
  CONTRACT_ROUTES.map((route): RouteSpec => ({
    name: route.name,
    method: route.method,
    path: route.path,
    access: route.access,
    priority: PRIORITY[route.name],
    body: route.body !== undefined,
  })),
);

/**
 * How express matches a path once told `caseSensitive: true, strict: true` (router/lib/layer.js):
 * path-to-regexp, case-sensitive, whole path, no trailing slash. Parameters stay raw here; the
 * front door decodes them itself, so a bad percent-escape is a 400 naming the field.
 */
export const EXPRESS_ROUTING = { caseSensitive: true, strict: true } as const;
const MATCH_OPTIONS = { sensitive: true, end: true, trailing: false, decode: false } as const;

export type RouteMatch =
  | { kind: 'route'; route: RouteSpec; rawParams: Readonly<Record<string, string>> }
  /** The path is a route's, the method is not: 405 with Allow. */
  | { kind: 'method_not_allowed'; allow: string }
  | { kind: 'not_found' };

interface CompiledPath {
  matcher: MatchFunction<Record<string, string>>;
  byMethod: Map<string, RouteSpec>;
  allow: string;
}

/** The table compiled once: one matcher per distinct path, the methods it takes. */
export class RouteTable {
  private readonly paths: CompiledPath[] = [];

  constructor(readonly routes: readonly RouteSpec[] = ROUTES) {
    const byPath = new Map<string, RouteSpec[]>();
    for (const route of routes) byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);
    for (const [path, specs] of byPath) {
      const byMethod = new Map(specs.map((spec) => [spec.method as string, spec]));
      // Express answers HEAD with a GET route.
      const get = byMethod.get('GET');
      if (get !== undefined) byMethod.set('HEAD', get);
      this.paths.push({
        matcher: match<Record<string, string>>(path, MATCH_OPTIONS),
        byMethod,
        allow: [...byMethod.keys()].join(', '),
      });
    }
  }

  /** `pathname`: the request's path without the query (as parseurl gives it). */
  match(method: string, pathname: string): RouteMatch {
    for (const compiled of this.paths) {
      const found = compiled.matcher(pathname);
      if (found === false) continue;
      const route = compiled.byMethod.get(method);
      if (route === undefined) return { kind: 'method_not_allowed', allow: compiled.allow };
      return { kind: 'route', route, rawParams: found.params };
    }
    return { kind: 'not_found' };
  }
}
