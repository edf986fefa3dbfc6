export * from './clock';
export * from './split';
export * from './schema';
export * from './calendar';
export * from './time';
export * from './money';
