// The rehearsal is a program (src/cli.ts); these are its parts, for tests and for reuse.
export * from './crowd';
export * from './hpa';
export * from './manifest';
