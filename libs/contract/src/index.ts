export * from './headers';
export * from './errors';
export * from './inputs';
export * from './outputs';
export * from './routes';
export * from './openapi';
export * from './clock';
