export * from './metrics';
export * from './promql';
export * from './rules';
