import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log line: secrets and coupon codes. */
export const REDACTED_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'code',
  '*.code',
  'coupon.code',
  '*.coupon.code',
];

export interface LoggerConfig {
  level: string;
  name?: string;
  /** Tests pass a stream to read what was logged; production writes to stdout. */
  destination?: DestinationStream;
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level,
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    ...(config.name === undefined ? {} : { name: config.name }),
  };
  return config.destination === undefined ? pino(options) : pino(options, config.destination);
}

/**
 * The query parameters the API reads (the contract's `userId`): a log line shows their values.
 * Any other parameter is shown by name only, whatever it is called (`auth=`, `sig=`,
 * `api%5Fkey=`...): a list of secret names is always one name short.
 */
export const LOGGED_QUERY_PARAMETERS: ReadonlySet<string> = new Set(['userId']);

/** A parameter's name is logged; a name as long as a key is cut short. */
const MAX_LOGGED_NAME = 64;

function redactQuery(query: string): string {
  return query
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq === -1 ? part : part.slice(0, eq);
      if (LOGGED_QUERY_PARAMETERS.has(name)) return part;
      return part === '' ? part : `${name.slice(0, MAX_LOGGED_NAME)}=[redacted]`;
    })
    .join('&');
}

/**
 * Coupon codes travel in URL paths, and a careless caller may put a key in the query; a log line
 * keeps the route shape and the API's own parameters, never a code, a value the API does not
 * read, or a fragment.
 */
export function redactUrl(url: string): string {
  const hash = url.indexOf('#');
  const beforeHash = hash === -1 ? url : url.slice(0, hash);
  const fragment = hash === -1 ? '' : '#[redacted]';
  const q = beforeHash.indexOf('?');
  const path = (q === -1 ? beforeHash : beforeHash.slice(0, q)).replace(
    /(\/coupons\/)[^/]+/gi,
    '$1[redacted]',
  );
  return q === -1 ? path + fragment : `${path}?${redactQuery(beforeHash.slice(q + 1))}${fragment}`;
}

/**
 * A URL for people to read (a log line, a CLI's output): its userinfo, where a password lives
 * (`redis://default:hunter2@host`), becomes `***`. Everything up to the last "@" goes, so a
 * password with an unescaped "/" or "@" in it is hidden too.
 */
export function withoutUserinfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/i, '$1***@');
}
