import type { RequestHandler } from 'express';
import type { ApiKeyStore, ApiPrincipal, ApiScope } from '../auth/apiKeys';
import { ApiError } from './errors';

export const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/;

export function principalOf(res: { locals: Record<string, unknown> }): ApiPrincipal {
  const principal = res.locals.principal as ApiPrincipal | undefined;
  if (principal === undefined) throw new Error('principalOf called on an unauthenticated route');
  return principal;
}

/** 401 for a missing or unknown key; the principal is kept in res.locals for scope checks. */
export function authenticate(store: ApiKeyStore): RequestHandler {
  return (req, res, next) => {
    const match = BEARER.exec(req.headers.authorization ?? '');
    const principal = match?.[1] === undefined ? undefined : store.authenticate(match[1]);
    if (principal === undefined) {
      next(new ApiError('UNAUTHENTICATED', 'send Authorization: Bearer <api key>'));
      return;
    }
    res.locals.principal = principal;
    next();
  };
}

export function requireScope(scope: ApiScope): RequestHandler {
  return (_req, res, next) => {
    if (!principalOf(res).scopes.has(scope)) {
      next(new ApiError('FORBIDDEN', `this API key lacks the scope ${scope}`));
      return;
    }
    next();
  };
}
