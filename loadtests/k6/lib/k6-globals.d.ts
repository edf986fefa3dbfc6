/**
 * Globals k6 provides that @types/k6 does not declare. The DOM lib would declare them too, along
 * with a browser's window, fetch and timers that k6 does not have, so it stays out.
 * https://grafana.com/docs/k6/latest/javascript-api/#console
 */
declare const console: {
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  debug(...data: unknown[]): void;
};
