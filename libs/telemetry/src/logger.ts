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

/** Query parameters that carry secrets when a caller puts them there (never the API's own). */
const SECRET_QUERY = /([?&](?:api[_-]?key|key|token|access[_-]?token|authorization)=)[^&#]*/gi;

/**
 * Coupon codes travel in URL paths, and a careless caller may put a key in the query; a log line
 * keeps the route shape, never the code or the key, whatever the letter case.
 */
export function redactUrl(url: string): string {
  return url
    .replace(/(\/coupons\/)[^/?#]+/gi, '$1[redacted]')
    .replace(SECRET_QUERY, '$1[redacted]');
}
