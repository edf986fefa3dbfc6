export * from './config';
export * from './httpServer';
export * from './redis';
export * from './startup';
export * from './envReference';
