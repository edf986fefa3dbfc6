export * from './metrics';
export * from './promql';
